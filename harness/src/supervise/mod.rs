//! Running and watching a submission's processes. No formatting and no grading here: this
//! layer reports what happened; the exercises decide what it means.

pub mod cleanup;
pub mod exits;
pub mod interrupt;
pub mod isolation;
pub mod limits;
pub mod observe;
pub mod procfs;
pub mod session;
pub mod spawn;
pub mod transcript;
pub mod waiting;

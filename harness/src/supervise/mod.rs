//! Running and watching a submission's processes. No formatting and no grading here: this
//! layer reports what happened; the exercises decide what it means.
//!
//! The rest of the crate controls processes only through this module: [`spawn`] starts a
//! program in a terminal, [`process`] one with pipes ([`command`] one run to its end) and ends it
//! ([`process::Process::terminate`]), [`pidfd`] waits for exits, [`cleanup`] sweeps what a
//! submission left, [`isolation`] confines it (and gives a grading its private tmpfs).

pub mod cleanup;
pub mod command;
pub mod ending;
pub mod exits;
pub mod interrupt;
pub mod isolation;
pub mod limits;
pub mod observe;
pub mod pidfd;
pub mod process;
pub mod procfs;
pub mod rest;
pub mod session;
pub mod spawn;
pub mod spin;
pub mod transcript;
pub mod waiting;

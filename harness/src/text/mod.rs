//! Text handling for student output: matching expected lines, and neutralising output
//! before it is shown to anyone.

pub mod escape;
pub mod matching;
pub mod pids;
pub mod suggest;

//! Reference solutions; the binaries live in src/bin.

pub mod fileproto;
pub mod fileserver;

//! Sockets: finding a free port, waiting for a server to listen, the protocol client, and
//! byte-exact transfer comparison.

pub mod client;
pub mod dialect;
pub mod dialect_server;
mod legacy;
pub mod listen;
pub mod transfer;

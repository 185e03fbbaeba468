//! The integration tests, one binary: each file a module, the shared harness in `common`.
//! One binary links the crate once, not once per file (issue 7).

mod common;

mod architecture;
mod cli;
mod client;
mod e2e_pty;
mod feed;
mod fidelity;
mod hardening;
mod hostile;
mod kick;
mod kick_trouble;
mod mock_api;
mod mock_shapes;
mod review;
mod safety;
mod signin;
mod tui;

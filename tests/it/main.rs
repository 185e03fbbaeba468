//! The integration tests, one binary: each file a module, the shared harness in `common`.
//! One binary links the crate once, not once per file (issue 7).

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod architecture;
/// The kick-latency bench's schedule bounds, tested in `schedule_bounds`.
#[path = "../../benches/common/bounds.rs"]
mod bounds;
mod cli;
mod client;
mod e2e_pty;
mod feed;
mod fidelity;
mod hardening;
mod hostile;
mod kick;
mod kick_trouble;
mod review;
mod safety;
mod schedule_bounds;
mod signin;
mod tui;

//! The mock's integration tests, one binary: each file a module, the harness in `harness`.

// Test code: a failed unwrap or expect is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod fidelity;
mod mock_api;
mod mock_shapes;

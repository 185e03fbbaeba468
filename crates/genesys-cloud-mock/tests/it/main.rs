//! The mock's integration tests, one binary: each file a module, the harness in `harness`.

mod harness;

mod fidelity;
mod mock_api;
mod mock_shapes;

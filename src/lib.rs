//! confwatch: watch Genesys Cloud conferences live and remove one agent safely.

pub mod cli;
pub mod config;
pub mod console;
pub mod feed;
pub mod kick;
pub mod live;
pub mod logging;
pub mod platform;
pub mod text;
pub mod tui;

/// The platform's JSON shapes, a crate of its own (`crates/genesys-cloud-models`).
pub use genesys_cloud_models as wire;

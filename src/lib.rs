//! confwatch: watch Genesys Cloud conferences live and remove one agent safely.

pub mod cli;
pub mod config;
pub mod console;
pub mod feed;
pub mod kick;
pub mod live;
pub mod logging;
pub mod mock;
pub mod platform;
pub mod text;
pub mod tui;
pub mod wire;

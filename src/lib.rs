//! confwatch: watch Genesys Cloud conferences live and remove one agent safely.

pub mod cli;
pub mod feed;
pub mod config;
pub mod console;
pub mod kick;
pub mod live;
pub mod logging;
pub mod mock;
pub mod platform;
pub mod text;
pub mod wire;
pub mod tui;

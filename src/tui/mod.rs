//! The console (ratatui): app state, actions and keymap, views, theme. Draws; never awaits I/O.

pub mod app;
pub mod jobs;
pub mod keymap;
pub mod runtime;
pub mod terminal;
pub mod theme;
pub mod views;

pub use app::{Action, App, Input};
pub use keymap::Keymap;
pub use theme::Theme;

use crate::config::ConnectionArgs;

/// Flags of the console (`confwatch` with no subcommand).
#[derive(Debug, Default, clap::Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

pub async fn run(_args: ConsoleArgs) -> color_eyre::Result<()> {
    color_eyre::eyre::bail!("the console is being built")
}

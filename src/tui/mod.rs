//! The console (ratatui): app state, actions and keymap, views, theme. Draws; never awaits I/O.

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

//! `confwatch list` and `confwatch kick`.

use crate::config::ConnectionArgs;

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, clap::Args)]
pub struct KickArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Runs `confwatch list`; returns the process exit code.
pub async fn list(_args: ListArgs) -> color_eyre::Result<i32> {
    color_eyre::eyre::bail!("list is being built")
}

/// Runs `confwatch kick`; returns the process exit code.
pub async fn kick(_args: KickArgs) -> color_eyre::Result<i32> {
    color_eyre::eyre::bail!("kick is being built")
}

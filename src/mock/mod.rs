//! The mock Genesys Cloud platform (axum): routes, simulated world, scenarios, faults, control API.

/// `confwatch mock` flags.
#[derive(Debug, clap::Args)]
pub struct MockArgs {}

pub async fn run(_args: MockArgs) -> color_eyre::Result<()> {
    color_eyre::eyre::bail!("the mock is being built")
}

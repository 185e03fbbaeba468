//! Region, credentials and queues: environment, config file and flags (flags win).

/// How to reach the platform (shared by the console, `list` and `kick`).
#[derive(Debug, Default, clap::Args)]
pub struct ConnectionArgs {}

//! The console's flags, read by the console and by the session it opens (a file of their own,
//! so that the session, a child of the console, does not depend on its parent).

use crate::config::{ConnectionArgs, KickFlags};

/// Flags of the console (`confwatch` with no subcommand).
#[derive(Debug, Default, clap::Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,
    /// Only these queues (name or id); repeat for several. Default: every queue the client can
    /// see, narrowed on screen with the queue picker (Q).
    #[arg(long = "queue", value_name = "NAME|ID")]
    pub(crate) queues: Vec<String>,
    #[command(flatten)]
    pub(crate) kick: KickFlags,
}

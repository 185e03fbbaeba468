//! The `confwatch` command line: the console by default, `mock`, `list` and `kick`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use color_eyre::eyre::Result;

#[derive(Parser)]
#[command(
    name = "confwatch",
    version,
    about = "Watch Genesys Cloud conferences live and remove one agent safely"
)]
struct Cli {
    /// Log file (default: confwatch.log in the user's state directory). Logs never go to the terminal.
    #[arg(long, global = true, env = "CONFWATCH_LOG")]
    log_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<CliCommand>,
    #[command(flatten)]
    console: confwatch::console::ConsoleArgs,
}

#[derive(Subcommand)]
enum CliCommand {
    /// Run the mock Genesys Cloud platform until Ctrl-C.
    Mock(genesys_cloud_mock::MockArgs),
    /// List the active conferences and their participants.
    List(confwatch::cli::ListArgs),
    /// Remove one participant from a live call.
    Kick(confwatch::cli::KickArgs),
    /// Sign in as yourself in the browser (OAuth authorization code with PKCE).
    Login(confwatch::cli::LoginArgs),
    /// Forget (and revoke) the tokens of `confwatch login`.
    Logout(confwatch::cli::ProfileArgs),
    /// Show the signed-in user, organization and region.
    Whoami(confwatch::cli::ProfileArgs),
}

fn main() -> ExitCode {
    // No colour theme: a report's colours would end up as escape codes in the log file.
    let hooks = color_eyre::config::HookBuilder::default().theme(color_eyre::config::Theme::new());
    if let Err(report) = hooks.install() {
        eprintln!("confwatch: {report}");
        return ExitCode::FAILURE;
    }
    // Usage errors exit 1, not clap's 2: `confwatch kick` keeps 2 for "refused by a safety rule".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let log_path = cli
        .log_file
        .clone()
        .unwrap_or_else(confwatch::logging::default_log_path);
    let _guard = match confwatch::logging::init(&log_path) {
        Ok(guard) => Some(guard),
        Err(report) => {
            eprintln!("confwatch: logging disabled: {report}");
            None
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("confwatch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, &log_path)) {
        Ok(code) => ExitCode::from(code),
        Err(report) => {
            // The user gets the cause chain in one line; the log keeps the full report.
            tracing::error!("{report:?}");
            // Its causes may quote the platform: cleaned of anything that could drive the terminal.
            eprintln!(
                "confwatch: {}",
                confwatch::text::clean(&format!("{report:#}"))
            );
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, log_path: &std::path::Path) -> Result<u8> {
    let code = match cli.command {
        None => confwatch::console::run(cli.console, log_path).await?,
        Some(CliCommand::Mock(args)) => genesys_cloud_mock::run(args).await.map(|()| 0)?,
        Some(CliCommand::List(args)) => confwatch::cli::list(args).await?,
        Some(CliCommand::Kick(args)) => confwatch::cli::kick(args).await?,
        Some(CliCommand::Login(args)) => confwatch::cli::login(args).await?,
        Some(CliCommand::Logout(args)) => confwatch::cli::logout(args).await?,
        Some(CliCommand::Whoami(args)) => confwatch::cli::whoami(args).await?,
    };
    Ok(u8::try_from(code).unwrap_or(1))
}

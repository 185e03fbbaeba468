//! `genesys-cloud-mock`: the mock platform on its own, until Ctrl-C (the same server as
//! `confwatch mock`). Logs go to `--log-file` when given, else warnings only to stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use color_eyre::eyre::{Result, WrapErr, eyre};
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(
    name = "genesys-cloud-mock",
    version,
    about = "A mock of the Genesys Cloud Platform API (HTTP and notification WebSockets) for testing clients"
)]
struct Cli {
    /// Log file (appended to); `RUST_LOG` sets the filter. Without it, warnings go to stderr.
    #[arg(long)]
    log_file: Option<PathBuf>,
    #[command(flatten)]
    mock: genesys_cloud_mock::MockArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = start_logging(cli.log_file.as_deref()).and_then(|()| {
        tokio::runtime::Runtime::new()
            .wrap_err("starting the async runtime")?
            .block_on(genesys_cloud_mock::run(cli.mock))
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(report) => {
            // Causes may quote a scenario file: cleaned of anything that could drive the terminal.
            eprintln!(
                "genesys-cloud-mock: {}",
                untrusted_input::clean(&format!("{report:#}"))
            );
            ExitCode::FAILURE
        }
    }
}

fn start_logging(log_file: Option<&std::path::Path>) -> Result<()> {
    let default = if log_file.is_some() { "info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    let started = match log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .wrap_err_with(|| format!("opening log file {}", path.display()))?;
            builder.with_writer(std::sync::Mutex::new(file)).try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    started.map_err(|e| eyre!("starting the logger: {e}"))
}

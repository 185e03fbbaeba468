//! Logging goes to a file (the TUI owns the terminal): `--log-file`, `CONFWATCH_LOG`, or
//! `confwatch.log` in the user's state/data directory. `RUST_LOG` sets the filter.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Context, Result};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// The default log file: `$XDG_STATE_HOME/confwatch/confwatch.log` or the data directory.
pub fn default_log_path() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("confwatch")
        .join("confwatch.log")
}

/// Starts logging to `path`; keep the guard alive until exit so buffered lines are written.
pub fn init(path: &Path) -> Result<WorkerGuard> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)
        .wrap_err_with(|| format!("creating log directory {}", dir.display()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .wrap_err_with(|| format!("opening log file {}", path.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| color_eyre::eyre::eyre!("starting the logger: {e}"))?;
    Ok(guard)
}

//! The console: wires the screen (`tui`) to its data (a real org, or the built-in demo mock),
//! the live feed and the kick jobs, and runs it until the supervisor quits.

mod args;
mod session;

use chrono::Utc;
use color_eyre::eyre::{Result, eyre};
use crossterm::event::EventStream;

use crate::config::default_config_path;
use crate::tui::app::Level;
use crate::tui::{App, Keymap, Theme, runtime, terminal};
pub use args::ConsoleArgs;
use session::Session;

/// Runs the console until the supervisor quits.
pub async fn run(args: ConsoleArgs) -> Result<()> {
    terminal::check()?;
    let keymap = match args.connection.config.clone().or_else(default_config_path) {
        Some(path) => Keymap::from_config_file(&path).map_err(|e| eyre!(e))?,
        None => Keymap::default(),
    };
    let session = Session::open(&args).await?;
    let mut app = App::new(keymap, Utc::now());
    app.demo = session.demo.clone();
    app.source = session.source.clone();
    app.signed_in = session.signed_in.clone();
    for warning in &session.warnings {
        app.push_log(Level::Warn, warning.clone());
    }
    let (channels, mut kicker, mock) = session.into_parts();
    let result = {
        let (mut terminal, _restore) = terminal::enter()?;
        runtime::run(
            &mut terminal,
            &mut app,
            Theme::from_env(),
            channels,
            &mut kicker,
            EventStream::new(),
        )
        .await
        // The terminal is restored here, before the mock stops or an error is printed.
    };
    Session::shutdown(mock).await;
    result
}

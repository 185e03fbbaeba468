//! The console: wires the screen (`tui`) to its data (a real org, or the built-in demo mock),
//! the live feed and the kick jobs, and runs it until the supervisor quits.

mod args;
mod session;

use chrono::Utc;
use color_eyre::eyre::{Result, eyre};
use crossterm::event::EventStream;

use crate::config::Settings;
use crate::tui::app::Level;
use crate::tui::{App, Ending, Keymap, Theme, runtime, terminal};
pub use args::ConsoleArgs;
use session::Session;

/// Runs the console until the supervisor quits; returns the process's exit code (0, or as
/// `confwatch kick`'s when running kicks were interrupted: 130, 143, 129).
pub async fn run(args: ConsoleArgs, log_file: &std::path::Path) -> Result<i32> {
    terminal::check()?;
    // The config file is read once, for the keymap, the connection and the kick.
    let settings = Settings::load(&args.connection)?;
    let keymap = match settings.keys() {
        Some(keys) => Keymap::with_overrides(keys).map_err(|e| eyre!("config file [keys]: {e}"))?,
        None => Keymap::default(),
    };
    let session = Session::open(&args, &settings).await?;
    let mut app = App::new(keymap, Utc::now());
    app.demo = session.demo.clone();
    app.source = session.source.clone();
    app.signed_in = session.signed_in.clone();
    app.kicks_off = session.kicks_off.clone();
    app.log_file = Some(log_file.display().to_string());
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
    // Kicks still running end `interrupted`, audited, before the process goes.
    let code = match &result {
        Ok(ending) => kicker.interrupt_running(*ending).await,
        Err(_) => kicker.interrupt_running(Ending::Quit).await,
    };
    Session::shutdown(mock).await;
    result.map(|_| code)
}

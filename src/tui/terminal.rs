//! Taking over the terminal and giving it back: raw mode, alternate screen, hidden cursor; restored
//! on every exit path (the guard's drop) and on panic (a hook run before color-eyre's report).

use std::io::{self, IsTerminal, Stdout, stdout};
use std::sync::Once;

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub(crate) type Term = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped, whatever way the console exits.
pub(crate) struct TerminalGuard {
    _private: (),
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if let Err(e) = restore() {
            tracing::warn!("restoring the terminal: {e}");
        }
    }
}

/// What to tell someone who runs the console without a terminal (a pipe, cron, CI).
const NO_TERMINAL: &str = "the console needs a terminal, and standard output is not one \
     (a pipe, a file, or no terminal at all); run confwatch in a terminal, or use \
     `confwatch list` / `confwatch kick` in scripts";

/// Fails with a clear message when there is no terminal to draw on; checked before anything
/// else starts (the built-in mock, the feed).
pub(crate) fn check() -> io::Result<()> {
    // A dumb terminal cannot move the cursor or switch screens: the console would scribble
    // over it. Said first, whatever stdout is: the setting is wrong either way.
    if std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
        return Err(io::Error::other(DUMB_TERMINAL));
    }
    if stdout().is_terminal() {
        Ok(())
    } else {
        Err(io::Error::other(NO_TERMINAL))
    }
}

const DUMB_TERMINAL: &str = "the console needs a full-screen terminal, and TERM=dumb says this one is not (an editor's shell or a plain console?); run confwatch in a terminal emulator (TERM=xterm-256color, say), or use `confwatch list` / `confwatch kick`";

/// Takes over the terminal. Call after `color_eyre::install()`, so a panic restores the terminal
/// first and then prints color-eyre's report on the normal screen.
pub(crate) fn enter() -> io::Result<(Term, TerminalGuard)> {
    check()?;
    install_panic_hook();
    // Raw mode needs a controlling terminal too (`/dev/tty`): without one the OS only says
    // "No such device or address".
    enable_raw_mode().map_err(|e| io::Error::other(format!("{NO_TERMINAL} ({e})")))?;
    let guard = TerminalGuard { _private: () };
    execute!(stdout(), EnterAlternateScreen, Hide, EnableMouseCapture)?;
    let terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    Ok((terminal, guard))
}

/// Leaves raw mode and the alternate screen and shows the cursor. Safe to call twice.
pub(crate) fn restore() -> io::Result<()> {
    // Raw mode first: it has the most visible side effects if left on.
    let raw = disable_raw_mode();
    execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, Show)?;
    raw
}

/// Puts `text` on the clipboard of the terminal (and of the machine the terminal runs on, over
/// ssh too) with OSC 52. Terminals that do not take it ignore it; the console also shows the text.
pub(crate) fn copy_osc52(text: &str) {
    use base64::Engine;
    use std::io::Write;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = stdout();
    let written = write!(out, "\x1b]52;c;{encoded}\x07").and_then(|()| out.flush());
    if let Err(e) = written {
        tracing::warn!("copying to the clipboard: {e}");
    }
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = restore();
            previous(info);
        }));
    });
}

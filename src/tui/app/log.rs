//! The session's log as the console keeps it (the log view, the unseen count in the status line),
//! and the log view's keys.

use chrono::{DateTime, Utc};

use super::{App, View};
use crate::tui::keymap::Command;

const LOG_LINES: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub(crate) at: DateTime<Utc>,
    pub(crate) level: Level,
    pub text: String,
}

/// Warnings and errors not yet seen in the log view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Unseen {
    pub(crate) warnings: usize,
    pub(crate) errors: usize,
}

impl Unseen {
    pub(crate) fn any(self) -> bool {
        self.warnings + self.errors > 0
    }
}

impl App {
    pub fn push_log(&mut self, level: Level, text: String) {
        // A line logged while the log view is open is seen as it arrives.
        if self.view != View::Log {
            match level {
                Level::Warn => self.unseen.warnings += 1,
                Level::Error => self.unseen.errors += 1,
                Level::Info => {}
            }
        }
        self.log.push_back(LogLine {
            at: self.now,
            level,
            text,
        });
        while self.log.len() > LOG_LINES {
            self.log.pop_front();
        }
    }

    pub(super) fn on_log_command(&mut self, command: Command) {
        let max = self.log.len().saturating_sub(1);
        self.log_scroll = match command {
            Command::Up => (self.log_scroll + 1).min(max),
            Command::Down => self.log_scroll.saturating_sub(1),
            Command::PageUp => (self.log_scroll + self.page_rows()).min(max),
            Command::PageDown => self.log_scroll.saturating_sub(self.page_rows()),
            Command::Top => max,
            Command::Bottom => 0,
            _ => self.log_scroll,
        };
    }
}

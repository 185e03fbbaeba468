//! Colours and marks. Every state has a glyph and a word as well as a colour, so the screen reads
//! the same without colour; with `NO_COLOR` set no colour is used at all.

use ratatui::style::{Color, Modifier, Style};

use crate::wire::ParticipantState;

/// What a leg is doing, as the supervisor thinks of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    Ringing,
    Connected,
    Held,
    /// A kick is running on it.
    Leaving,
    Gone,
}

impl Tone {
    pub(crate) fn of(state: &ParticipantState, held: bool, kicking: bool) -> Self {
        if state.is_gone() {
            Tone::Gone
        } else if kicking {
            Tone::Leaving
        } else if held {
            Tone::Held
        } else if *state == ParticipantState::Connected {
            Tone::Connected
        } else {
            Tone::Ringing
        }
    }

    /// A mark that tells the tones apart without colour.
    pub(crate) fn glyph(self) -> &'static str {
        match self {
            Tone::Ringing => "◌",
            Tone::Connected => "●",
            Tone::Held => "‖",
            Tone::Leaving => "→",
            Tone::Gone => "✕",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (<https://no-color.org>).
    pub fn from_env() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    pub fn plain() -> Self {
        Theme { color: false }
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub(crate) fn tone(self, tone: Tone) -> Style {
        match tone {
            Tone::Ringing => self.fg(Color::Yellow),
            Tone::Connected => self.fg(Color::Green),
            Tone::Held => self.fg(Color::Cyan),
            Tone::Leaving => self.fg(Color::Magenta).add_modifier(Modifier::BOLD),
            Tone::Gone => self.fg(Color::DarkGray).add_modifier(Modifier::DIM),
        }
    }

    /// The cursor row: reverse video (and a marker drawn by the view), never colour alone.
    pub(crate) fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub(crate) fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub(crate) fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }

    pub(crate) fn header(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub(crate) fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub(crate) fn demo(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }

    pub(crate) fn warning(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn ok(self) -> Style {
        self.fg(Color::Green)
    }

    pub(crate) fn key(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
}

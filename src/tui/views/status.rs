//! The status line (connection, age of the last event, rate-limit budget, notices) and the hint
//! line (generated from the keymap) or, while typing, the filter bar.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::feed::ConnectionState;
use unicode_width::UnicodeWidthStr;

use crate::text::{count, in_state, tail};
use crate::tui::app::{App, Pane, View};
use crate::tui::keymap::Command;
use crate::tui::theme::{Theme, Tone};

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let [status_area, hints_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(Paragraph::new(status_line(app, theme)), status_area);
    let bottom = if app.filter.editing {
        filter_line(app, theme, usize::from(area.width))
    } else {
        hint_line(app, theme)
    };
    frame.render_widget(Paragraph::new(bottom), hints_area);
}

fn status_line(app: &App, theme: Theme) -> Line<'static> {
    let (tone, style) = match &app.connection {
        ConnectionState::Live => (Tone::Connected, theme.ok()),
        ConnectionState::Connecting | ConnectionState::Reconnecting { .. } => {
            (Tone::Ringing, theme.warning())
        }
        ConnectionState::Polling { .. } => (Tone::Held, theme.warning()),
        ConnectionState::Offline { .. } => (Tone::Gone, theme.error()),
    };
    // `live` only while the token works: a refused or ended sign-in says so instead.
    let connection = match (&app.auth_problem, app.signed_in.user.is_some()) {
        (Some(_), true) => format!("{} signed out", Tone::Gone.glyph()),
        (Some(_), false) => format!("{} cannot log in", Tone::Gone.glyph()),
        (None, _) => format!("{} {}", tone.glyph(), app.connection),
    };
    let style = if app.auth_problem.is_some() {
        theme.error()
    } else {
        style
    };
    let mut spans = vec![Span::raw(" "), Span::styled(connection, style)];
    if let Some(reason) = &app.signed_in.read_only {
        // Early, so a narrow terminal still shows why `d` does nothing (or its notice).
        let text = app
            .flash
            .clone()
            .unwrap_or_else(|| format!("read-only: {reason}"));
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(text, theme.warning()));
    }
    if app.unseen.any() {
        // Early in the line, so a narrow terminal still shows it; words and a glyph, not colour.
        let mut parts = Vec::new();
        if app.unseen.errors > 0 {
            parts.push(count(app.unseen.errors, "error"));
        }
        if app.unseen.warnings > 0 {
            parts.push(count(app.unseen.warnings, "warning"));
        }
        let key = app
            .keymap
            .keys(Command::Log)
            .next()
            .map(|k| format!(" · {k}"))
            .unwrap_or_default();
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            format!("⚠ {}{key}", parts.join(", ")),
            if app.unseen.errors > 0 {
                theme.error()
            } else {
                theme.warning()
            },
        ));
    }
    let last = match app.last_event {
        Some(at) => format!(
            "last event {} ago",
            in_state((app.now - at).num_milliseconds().max(0) as u64)
        ),
        None => "no event yet".to_string(),
    };
    spans.push(Span::styled(format!(" · {last}"), theme.dim()));
    if let Some(rate) = app.rate {
        // The client counts its own requests (the platform sends no budget headers). Below a
        // fifth left, reads wait and the rest is kept for kicks: shown as a warning.
        let low = rate.allowed > 0 && rate.remaining() * 5 < rate.allowed;
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            format!(
                "rate {}/{} left, resets in {} s",
                rate.remaining(),
                rate.allowed,
                rate.reset_secs
            ),
            if low { theme.warning() } else { theme.dim() },
        ));
    }
    if app.signed_in.read_only.is_none()
        && let Some(flash) = &app.flash
    {
        // Said before the figures: a narrow terminal must still show the answer to a key.
        spans.insert(2, Span::raw(" · "));
        spans.insert(3, Span::styled(flash.clone(), theme.warning()));
    }
    Line::from(spans)
}

fn hint_line(app: &App, theme: Theme) -> Line<'static> {
    let commands: &[Command] = match (app.view, app.focus) {
        _ if app.confirm.is_some() => &[],
        (View::Main, Pane::Conferences) => &[
            Command::Down,
            Command::Open,
            Command::Filter,
            Command::Sort,
            Command::Jobs,
            Command::Queues,
            Command::Help,
            Command::Quit,
        ],
        (View::Main, Pane::Participants) => &[
            Command::Down,
            Command::Kick,
            Command::CancelKick,
            Command::Call,
            Command::Back,
            Command::Jobs,
            Command::Help,
            Command::Quit,
        ],
        (View::Jobs, _) => &[
            Command::Down,
            Command::Open,
            Command::CancelKick,
            Command::Back,
            Command::Help,
            Command::Quit,
        ],
        (View::Log, _) => &[Command::Up, Command::Back, Command::Help, Command::Quit],
        (View::Call | View::Job, _) => &[
            Command::Down,
            Command::Copy,
            Command::Back,
            Command::Help,
            Command::Quit,
        ],
    };
    if app.confirm.is_some() {
        return Line::from(vec![
            Span::styled(" ←/→", theme.key()),
            Span::raw(" choose  "),
            Span::styled("enter", theme.key()),
            Span::raw(" answer  "),
            Span::styled("esc", theme.key()),
            Span::raw(" cancel"),
        ]);
    }
    let mut spans = vec![Span::raw(" ")];
    for command in commands {
        let keys = match command {
            Command::Down | Command::Up => format!(
                "{}/{}",
                app.keymap
                    .keys(Command::Down)
                    .next()
                    .map(|k| k.to_string())
                    .unwrap_or_default(),
                app.keymap
                    .keys(Command::Up)
                    .next()
                    .map(|k| k.to_string())
                    .unwrap_or_default()
            ),
            other => match app.keymap.keys(*other).next() {
                Some(key) => key.to_string(),
                None => continue,
            },
        };
        spans.push(Span::styled(keys, theme.key()));
        spans.push(Span::raw(format!(" {}  ", command.hint())));
    }
    Line::from(spans)
}

/// What is typed (its end, when long: where typing goes on), then how terms combine.
fn filter_line(app: &App, theme: Theme, width: usize) -> Line<'static> {
    let hint = "  each word must match · -word must not · enter keep · esc clear";
    let room = width.saturating_sub(4 + hint.width()).max(width / 3);
    Line::from(vec![
        Span::styled(" / ", theme.key()),
        Span::raw(format!("{}▏", tail(&app.filter.text, room))),
        Span::styled(hint, theme.dim()),
    ])
}

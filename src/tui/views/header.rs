//! The top line. What matters most stays when the terminal is narrow: running kicks, then the
//! blocking state, then the filter and hidden queues, then the counts; then the DEMO marker, who
//! is signed in, the sort, the profile and where the data comes from. Shown in reading order,
//! dropped least important first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use crate::text::{count, truncate};
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// One part of the header: its importance (lower stays longer) and its text.
struct Part {
    rank: u8,
    text: String,
    style: Style,
}

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let title = Span::styled(" confwatch ", theme.title());
    let parts = fitted(
        parts(app, theme),
        usize::from(area.width).saturating_sub(title.width()),
    );
    let mut spans = vec![title];
    for (i, part) in parts.into_iter().enumerate() {
        spans.push(Span::styled(if i == 0 { "│ " } else { " · " }, theme.dim()));
        spans.push(Span::styled(part.text, part.style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Every part in reading order.
fn parts(app: &App, theme: Theme) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut push = |rank, text: String, style| parts.push(Part { rank, text, style });
    // First to read, though not first to keep: the counts matter more at 80 columns.
    if app.demo.is_some() {
        push(4, "DEMO".to_string(), theme.demo());
    }
    let running = app.jobs.all().iter().filter(|j| j.is_running()).count();
    if running > 0 {
        let text = format!("{} running", count(running, "kick"));
        push(0, text, theme.warning());
    }
    for state in app.blocking() {
        let style = if state.stops_data {
            theme.error()
        } else {
            theme.warning()
        };
        push(1, state.label.to_string(), style);
    }
    let terms = app.filter.label();
    if !terms.is_empty() {
        push(2, format!("filter {}", truncate(&terms, 32)), Style::new());
    }
    let hidden = app.queues.hidden.len();
    if hidden > 0 {
        let text = format!("{} hidden", count(hidden, "queue"));
        push(2, text, theme.warning());
    }
    push(3, count(app.rows().len(), "conference"), Style::new());
    if let Some(user) = &app.signed_in.user {
        push(5, truncate(user, 32), Style::new());
    }
    push(6, count(app.model.len(), "call"), theme.dim());
    push(7, app.order_label(), theme.dim());
    if let Some(profile) = &app.signed_in.profile {
        push(8, format!("profile {}", truncate(profile, 20)), theme.dim());
    }
    match &app.demo {
        Some(demo) => push(9, demo.clone(), theme.dim()),
        None if !app.source.is_empty() => push(9, app.source.clone(), theme.dim()),
        None => {}
    }
    parts
}

/// The parts that fit in `width` columns (each after a 3-column separator), the least
/// important dropped first; reading order kept.
fn fitted(mut parts: Vec<Part>, width: usize) -> Vec<Part> {
    let used = |parts: &[Part]| parts.iter().map(|p| 3 + p.text.width()).sum::<usize>();
    while used(&parts) > width {
        let Some(least) = parts
            .iter()
            .enumerate()
            .max_by_key(|(i, p)| (p.rank, *i))
            .map(|(i, _)| i)
        else {
            break;
        };
        if parts.len() == 1 {
            // The most important part alone: cut rather than dropped.
            let room = width.saturating_sub(3);
            parts[0].text = truncate(&parts[0].text, room);
            break;
        }
        parts.remove(least);
    }
    parts
}

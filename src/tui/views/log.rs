//! The log view: warnings and errors of the session (the full log goes to the log file). Long
//! lines wrap; the view scrolls by line of the log, the newest at the bottom.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::UnicodeWidthStr;

use crate::text::wrap;
use crate::tui::app::{App, Level};
use crate::tui::layout::list_rows;
use crate::tui::theme::Theme;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let scrolled = if app.log_scroll > 0 {
        format!(" {} newer below · j/G ", app.log_scroll)
    } else {
        String::new()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(
            format!(" Log ({}) ", app.log.len()),
            theme.title(),
        ))
        .title_bottom(Line::styled(scrolled, theme.dim()).right_aligned());
    let height = list_rows(area);
    let width = usize::from(area.width.saturating_sub(2));
    // Newest at the bottom; scrolling moves the window up. Lines are wrapped from the newest
    // shown upwards until the view is full.
    let end = app.log.len().saturating_sub(app.log_scroll);
    let mut lines: Vec<Line> = Vec::new();
    for line in app.log.range(..end).rev() {
        if lines.len() >= height {
            break;
        }
        let (word, style) = match line.level {
            Level::Info => ("info ", theme.dim()),
            Level::Warn => ("warn ", theme.warning()),
            Level::Error => ("error", theme.error()),
        };
        let lead = line.at.format("%H:%M:%S ").to_string();
        let indent = lead.width() + word.width() + 1;
        let mut pieces = wrap(&line.text, width.saturating_sub(indent).max(8)).into_iter();
        let mut entry = vec![Line::from(vec![
            Span::raw(lead),
            Span::styled(word, style),
            Span::raw(" "),
            Span::raw(pieces.next().unwrap_or_default()),
        ])];
        entry.extend(pieces.map(|piece| Line::raw(format!("{:indent$}{piece}", ""))));
        lines.splice(0..0, entry);
    }
    // Full: the oldest entry shown loses its first lines, never the newest.
    let lines = if lines.is_empty() {
        vec![Line::styled("nothing logged yet", theme.dim())]
    } else {
        let extra = lines.len().saturating_sub(height);
        lines.split_off(extra)
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

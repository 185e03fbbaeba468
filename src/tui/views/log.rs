//! The log view: warnings and errors of the session (the full log goes to the log file).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::tui::app::{App, Level};
use crate::tui::layout::list_rows;
use crate::tui::theme::Theme;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(
            format!(" Log ({}) ", app.log.len()),
            theme.title(),
        ));
    let height = list_rows(area);
    // Newest at the bottom; scrolling moves the window up.
    let end = app.log.len().saturating_sub(app.log_scroll);
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = app
        .log
        .range(start..end)
        .map(|line| {
            let (word, style) = match line.level {
                Level::Info => ("info ", theme.dim()),
                Level::Warn => ("warn ", theme.warning()),
                Level::Error => ("error", theme.error()),
            };
            Line::from(vec![
                Span::raw(line.at.format("%H:%M:%S ").to_string()),
                Span::styled(word, style),
                Span::raw(" "),
                Span::raw(line.text.clone()),
            ])
        })
        .collect();
    let lines = if lines.is_empty() {
        vec![Line::styled("nothing logged yet", theme.dim())]
    } else {
        lines
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

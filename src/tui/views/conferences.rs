//! The conferences pane: queue, customer, live parties, age, and a mark while a kick runs in it.
//! Only the rows that fit are built, so ten thousand conferences cost no more than forty.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use super::widgets::{empty_note, window_start};
use crate::text::age;
use crate::tui::app::{App, Pane};
use crate::tui::layout::table_rows;
use crate::tui::theme::{Theme, Tone};

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let focused = app.focus == Pane::Conferences;
    let rows = app.rows();
    let selected = app.conference_index();
    let position = match selected {
        Some(i) => format!(" {}/{} ", i + 1, rows.len()),
        None => format!(" {} ", rows.len()),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Line::styled(" Conferences ", theme.title()))
        .title_bottom(Line::raw(position).right_aligned());
    let height = table_rows(area);
    let start = window_start(selected, height);
    let visible = rows.iter().enumerate().skip(start).take(height);
    let table_rows: Vec<Row> = visible
        .map(|(index, row)| {
            let is_selected = Some(index) == selected;
            let kicking = app.jobs.any_running_in(&row.conversation_id);
            let age_text = row
                .started
                .map(|t| age((app.now - t).num_milliseconds().max(0) as u64))
                .unwrap_or_default();
            let style = if is_selected {
                theme.selected()
            } else {
                ratatui::style::Style::new()
            };
            Row::new(vec![
                Cell::from(if is_selected { "▶" } else { " " }),
                Cell::from(if kicking { Tone::Leaving.glyph() } else { " " })
                    .style(theme.tone(Tone::Leaving)),
                Cell::from(
                    row.queue_name
                        .clone()
                        .or_else(|| row.queue_id.clone())
                        .unwrap_or_else(|| "—".to_string()),
                ),
                Cell::from(row.customer.clone().unwrap_or_else(|| "—".to_string())),
                Cell::from(format!("{:>3}", row.live_parties)),
                Cell::from(format!("{age_text:>7}")),
            ])
            .style(style)
        })
        .collect();
    let empty = table_rows.is_empty();
    let table = Table::new(
        table_rows,
        [
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(2),
            Constraint::Fill(3),
            Constraint::Length(3),
            Constraint::Length(7),
        ],
    )
    .header(Row::new(vec!["", "", "queue", "customer", "pty", "    age"]).style(theme.header()))
    .block(block);
    frame.render_widget(table, area);
    if empty {
        let message = if app.filter.text.is_empty() {
            "no active conferences"
        } else {
            "no conference matches the filter"
        };
        empty_note(frame, area, message, theme);
    }
}

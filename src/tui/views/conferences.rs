//! The conferences pane: queue, customer, live parties, age, and a mark while a kick runs in it.
//! Only the rows that fit are built, so ten thousand conferences cost no more than forty.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use super::widgets::{empty_note, window_start};
use crate::feed::ConnectionState;
use crate::text::age;
use crate::tui::app::{App, Hit, Hits, Pane};
use crate::tui::layout::table_rows;
use crate::tui::theme::{Theme, Tone};

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme, hits: &mut Hits) {
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
        // The order and the pause, where a narrow header may have cut them off.
        .title(Line::styled(
            format!(" Conferences · {} ", app.order_label()),
            theme.title(),
        ))
        .title_bottom(Line::raw(position).right_aligned());
    let height = table_rows(area);
    let start = window_start(selected, height);
    let visible = rows.iter().enumerate().skip(start).take(height);
    // Under the border and the header row, one line a row.
    for (line, (_, row)) in visible.clone().enumerate() {
        let y = area.y + 2 + line as u16;
        let spot = Rect::new(area.x + 1, y, area.width.saturating_sub(2), 1);
        hits.add(spot, Hit::Conference(row.conversation_id.clone()));
    }
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
        // "No active conferences" only when the platform said so: not before it answered,
        // and not when it cannot be reached or the sign-in no longer works.
        let message = if app.auth_problem.is_some()
            || matches!(app.connection, ConnectionState::Offline { .. })
        {
            "no data: the platform cannot be read (see above)"
        } else if app.model.is_empty() && app.connection == ConnectionState::Connecting {
            "reading the active calls…"
        } else if app.filter.text.is_empty() {
            "no active conferences"
        } else {
            "no conference matches the filter"
        };
        empty_note(frame, area, message, theme);
    }
}

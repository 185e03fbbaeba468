//! The conferences pane: queue, customer, live parties, age, and a mark while a kick runs in it;
//! sorted by time in state, also the leg that sorts it (its state and time in it).
//! Only the rows that fit are built, so ten thousand conferences cost no more than forty.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use super::widgets::{empty_note, window_start};
use crate::feed::ConnectionState;
use crate::live::{ConferenceRow, ms_since};
use crate::text::{age, in_state};
use crate::tui::app::{App, Hit, Hits, Pane, SortKey};
use crate::tui::layout::table_rows;
use crate::tui::theme::{Theme, Tone};

/// The queues the platform sends no events for, with the first one's reason, else a failed read
/// of the active calls; cut to `width` (the whole text is in the log view).
fn pane_note(app: &App, width: usize) -> Option<String> {
    let unwatched = &app.queues.unwatched;
    let note = match unwatched.first() {
        Some(first) => {
            let names: Vec<&str> = unwatched.iter().map(|q| q.name.as_str()).collect();
            format!("not watched: {}: {}", names.join(", "), first.reason)
        }
        // The read of the active calls failed: the list holds only calls events told of.
        None if app.model.calls_unread() => UNREAD.to_string(),
        None => return None,
    };
    Some(format!(" {} ", crate::text::truncate(&note, width)))
}

/// Said while the last read of the active calls failed (its reason is in the log).
const UNREAD: &str = "calls could not be read: see the log";

/// `‖ held 3m 00s`, `◌ contacting 40.2 s`, `● connected 1h 01m`.
const IN_STATE: u16 = 18;
/// In a narrow pane, the glyph and the time (`‖ 3m 00s`): the queue and customer keep room,
/// and the participants pane beside it has the words.
const IN_STATE_NARROW: u16 = 9;
/// Narrower panes than this get the narrow column.
const IN_STATE_WIDE_PANE: u16 = 70;

/// The state of the leg that sorts the row and the time it has been in it.
fn in_state_text(row: &ConferenceRow, app: &App, wide: bool) -> String {
    let Some(leg) = &row.longest_in_state else {
        return String::new();
    };
    let time = leg
        .since
        .map(|since| in_state(ms_since(since, app.now)))
        .unwrap_or_default();
    let glyph = Tone::of(&leg.state, leg.held, false).glyph();
    if !wide {
        return format!("{glyph} {time}");
    }
    let word = if leg.held {
        "held".to_string()
    } else {
        leg.state.to_string()
    };
    crate::text::truncate(&format!("{glyph} {word} {time}"), usize::from(IN_STATE))
}

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme, hits: &mut Hits) {
    let focused = app.focus == Pane::Conferences;
    let rows = app.rows();
    let selected = app.conference_index();
    let position: String = match selected {
        Some(i) => format!(" {}/{} ", i + 1, rows.len()),
        None => format!(" {} ", rows.len()),
    };
    // Room left of the position at the bottom right (borders and spaces around both).
    let room = (area.width as usize).saturating_sub(position.chars().count() + 5);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        // The order and the pause, where a narrow header may have cut them off.
        .title(Line::styled(
            format!(" Conferences · {} ", app.order_label()),
            theme.title(),
        ))
        .title_bottom(Line::raw(position).right_aligned());
    // Queues the platform sends no events for (named, with its reason) or calls that could not
    // be read: an empty or short list is not mistaken for quiet queues.
    let block = match pane_note(app, room) {
        Some(note) => block.title_bottom(Line::styled(note, theme.warning())),
        None => block,
    };
    // The column the list is sorted by is on screen, as the others are.
    let in_state_shown = app.sort == SortKey::InState;
    let wide = area.width >= IN_STATE_WIDE_PANE;
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
                .map(|t| age(ms_since(t, app.now)))
                .unwrap_or_default();
            let style = if is_selected {
                theme.selected()
            } else {
                ratatui::style::Style::new()
            };
            let mut cells = vec![
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
            ];
            if in_state_shown {
                cells.push(Cell::from(in_state_text(row, app, wide)));
            }
            Row::new(cells).style(style)
        })
        .collect();
    let empty = table_rows.is_empty();
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(2),
        Constraint::Fill(3),
        Constraint::Length(3),
        Constraint::Length(7),
    ];
    let mut header = vec!["", "", "queue", "customer", "pty", "    age"];
    if in_state_shown {
        widths.push(Constraint::Length(if wide {
            IN_STATE
        } else {
            IN_STATE_NARROW
        }));
        header.push("in state");
    }
    let table = Table::new(table_rows, widths)
        .header(Row::new(header).style(theme.header()))
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
        } else if app.model.calls_unread() {
            UNREAD
        } else if !app.filter.text.is_empty() {
            "no conference matches the filter"
        } else if !app.queues.hidden.is_empty() {
            // Calls in hidden queues are still active.
            "no conference in the queues shown"
        } else {
            "no active conferences"
        };
        empty_note(frame, area, message, theme);
    }
}

//! The jobs view: every kick of the session, newest first, with its progress or outcome.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use super::widgets::{empty_note, window_start};
use crate::tui::app::App;
use crate::tui::jobs::JobTone;
use crate::tui::layout::table_rows;
use crate::tui::theme::{Theme, Tone};

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let jobs = app.jobs.all();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(
            format!(" Kick jobs ({}) ", jobs.len()),
            theme.title(),
        ));
    let height = table_rows(area);
    let selected = app.job_index();
    let start = window_start(selected, height);
    let rows: Vec<Row> = jobs
        .iter()
        .rev()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(index, job)| {
            let is_selected = Some(index) == selected;
            let (mark, style) = match job.tone() {
                JobTone::Running => (Tone::Leaving.glyph(), theme.tone(Tone::Leaving)),
                JobTone::Done => ("✓", theme.ok()),
                JobTone::Failed => ("!", theme.error()),
            };
            Row::new(vec![
                Cell::from(if is_selected { "▶" } else { " " }),
                Cell::from(mark).style(style),
                Cell::from(job.started_at.format("%H:%M:%S").to_string()),
                Cell::from(job.name.clone()),
                Cell::from(job.conference.clone()),
                Cell::from(if job.force { "forced" } else { "" }),
                Cell::from(job.status(app.now)).style(style),
            ])
            .style(if is_selected {
                theme.selected()
            } else {
                Style::new()
            })
        })
        .collect();
    let empty = rows.is_empty();
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(8),
            Constraint::Fill(2),
            Constraint::Fill(2),
            Constraint::Length(6),
            Constraint::Fill(4),
        ],
    )
    .header(
        Row::new(vec!["", "", "started", "who", "conference", "", "progress"])
            .style(theme.header()),
    )
    .block(block);
    frame.render_widget(table, area);
    if empty {
        empty_note(frame, area, "no kick yet", theme);
    }
}

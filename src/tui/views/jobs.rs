//! The jobs view: every kick of the session, newest first, with its progress or outcome. A long
//! progress or outcome wraps in its column, up to [`MAX_LINES`] lines; a longer one ends in a
//! line that says how many more there are and that the job view has them all.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Text};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use super::widgets::empty_note;
use crate::text::wrap;
use crate::tui::app::{App, Hit, Hits};
use crate::tui::jobs::JobTone;
use crate::tui::keymap::Command;
use crate::tui::layout::table_rows;
use crate::tui::theme::{Theme, Tone};

/// A job's row is at most this many lines high.
const MAX_LINES: usize = 6;

const COLUMNS: [Constraint; 7] = [
    Constraint::Length(1),
    Constraint::Length(1),
    Constraint::Length(8),
    Constraint::Fill(2),
    Constraint::Fill(2),
    Constraint::Length(6),
    Constraint::Fill(4),
];

/// At most [`MAX_LINES`] lines: a longer text keeps its first lines and ends with how many
/// more there are (`… 4 more lines: enter for the whole job`), never cut without a word.
fn bounded(mut lines: Vec<String>, width: usize, open: &str) -> Vec<String> {
    if lines.len() <= MAX_LINES {
        return lines;
    }
    let note = |kept: usize| {
        let hidden = lines.len() - kept;
        wrap(
            &format!("… {hidden} more lines: {open} for the whole job"),
            width,
        )
    };
    // The note takes one line, or more in a narrow column (its count barely changes its length).
    let mut kept = MAX_LINES - 1;
    let mut shown = note(kept);
    if shown.len() > 1 {
        kept = MAX_LINES.saturating_sub(shown.len()).max(1);
        shown = note(kept);
        shown.truncate(MAX_LINES - kept);
    }
    lines.truncate(kept);
    lines.extend(shown);
    lines
}

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme, hits: &mut Hits) {
    let jobs = app.jobs.all();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(
            format!(" Kick jobs ({}) ", jobs.len()),
            theme.title(),
        ))
        .title_bottom(
            Line::styled(
                format!(
                    " {}: the job's whole story ",
                    app.keymap.keys_label(Command::Open)
                ),
                theme.dim(),
            )
            .right_aligned(),
        );
    let inner = block.inner(area);
    // The progress column's width, as the table lays its columns out (one space between).
    let progress_width = Layout::horizontal(COLUMNS).spacing(1).split(inner)[6].width;
    let height = table_rows(area);
    let selected = app.job_index();
    let open = app.keymap.keys_label(Command::Open);
    let statuses: Vec<Vec<String>> = jobs
        .iter()
        .rev()
        .map(|job| {
            let width = usize::from(progress_width).max(8);
            bounded(wrap(&job.status(app.now), width), width, &open)
        })
        .collect();
    // The first row shown: the selected row's whole height in sight.
    let mut start = 0;
    if let Some(selected) = selected {
        while start < selected
            && statuses[start..=selected]
                .iter()
                .map(Vec::len)
                .sum::<usize>()
                > height
        {
            start += 1;
        }
    }
    let mut y = inner.y + 1;
    let bottom = inner.y + inner.height;
    let rows: Vec<Row> = jobs
        .iter()
        .rev()
        .zip(statuses)
        .enumerate()
        .skip(start)
        .map_while(|(index, (job, status))| {
            if y >= bottom {
                return None;
            }
            let lines = status.len().max(1) as u16;
            hits.add(
                Rect::new(inner.x, y, inner.width, lines.min(bottom - y)),
                Hit::Job(job.seq),
            );
            y += lines;
            let is_selected = Some(index) == selected;
            let (mark, style) = match job.tone() {
                JobTone::Running => (Tone::Leaving.glyph(), theme.tone(Tone::Leaving)),
                JobTone::Done => ("✓", theme.ok()),
                JobTone::Failed => ("!", theme.error()),
            };
            let progress = Text::from(status.into_iter().map(Line::from).collect::<Vec<_>>());
            let row = Row::new(vec![
                Cell::from(if is_selected { "▶" } else { " " }),
                Cell::from(mark).style(style),
                Cell::from(job.started_at.format("%H:%M:%S").to_string()),
                Cell::from(job.name.clone()),
                Cell::from(job.conference.clone()),
                Cell::from(if job.force { "forced" } else { "" }),
                Cell::from(progress).style(style),
            ])
            .height(lines)
            .style(if is_selected {
                theme.selected()
            } else {
                Style::new()
            });
            Some(row)
        })
        .collect();
    let empty = rows.is_empty();
    let table = Table::new(rows, COLUMNS)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("line {i}")).collect()
    }

    #[test]
    fn a_long_text_says_how_much_is_left_out() {
        assert_eq!(bounded(lines(6), 40, "enter"), lines(6), "six lines fit");
        let cut = bounded(lines(9), 40, "enter");
        assert_eq!(cut.len(), MAX_LINES);
        assert_eq!(cut[..5], lines(5)[..]);
        assert_eq!(cut[5], "… 4 more lines: enter for the whole job");
        // A narrow column: the note wraps, the row stays at six lines, the count stays true.
        let narrow = bounded(lines(1000), 20, "enter");
        assert_eq!(narrow.len(), MAX_LINES);
        assert_eq!(
            narrow[3..],
            ["… 997 more lines:", "enter for the whole", "job"]
        );
    }
}

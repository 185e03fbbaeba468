//! The call view and the job view: their lines (from `tui::detail`), wrapped to the width, the
//! window scrolled to keep the cursor's line in sight.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::text::wrap;
use crate::tui::app::{App, Hit, Hits, View};
use crate::tui::detail::Look;
use crate::tui::keymap::Command;
use crate::tui::layout::list_rows;
use crate::tui::theme::Theme;

/// A wrapped line's later pieces are indented this much more than its first.
const CONTINUED: usize = 2;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme, hits: &mut Hits) {
    let lines = app.detail_lines();
    let cursor = app.detail.cursor.min(lines.len().saturating_sub(1));
    let title = match app.view {
        View::Job => " Kick ",
        _ => " Call ",
    };
    let keys = format!(
        " {} copy the id on the ▶ line · {} back ",
        app.keymap.keys_label(Command::Copy),
        app.keymap.keys_label(Command::Back)
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(title, theme.title()))
        .title_bottom(Line::styled(keys, theme.dim()).right_aligned());
    let height = list_rows(area);
    let width = usize::from(area.width.saturating_sub(2));
    // Each line wrapped, its later pieces indented under its text; remembered by their line.
    let mut visual: Vec<(usize, String)> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let marker = if index == cursor { "▶" } else { " " };
        let body = line.text.trim_start();
        let indent = line.text.len() - body.len();
        let room = width.saturating_sub(1 + indent + CONTINUED).max(8);
        for (i, piece) in wrap(body, room).into_iter().enumerate() {
            let text = if i == 0 {
                format!("{marker}{:indent$}{piece}", "")
            } else {
                format!(" {:width$}{piece}", "", width = indent + CONTINUED)
            };
            visual.push((index, text));
        }
    }
    // The window: the cursor's first piece and as many of its pieces as fit.
    let first = visual.iter().position(|(i, _)| *i == cursor).unwrap_or(0);
    let last = visual.iter().rposition(|(i, _)| *i == cursor).unwrap_or(0);
    let start = if last >= height {
        (last + 1 - height).min(first)
    } else {
        0
    };
    let inner = block.inner(area);
    let mut shown = Vec::new();
    for (row, (index, text)) in visual.iter().skip(start).take(height).enumerate() {
        let line = &lines[*index];
        let style = match line.look {
            Look::Heading => theme.header(),
            Look::Plain => Style::new(),
            Look::Dim => theme.dim(),
            Look::Ok => theme.ok(),
            Look::Error => theme.error(),
        };
        let style = if *index == cursor {
            style.patch(theme.selected())
        } else {
            style
        };
        hits.add(
            Rect::new(inner.x, inner.y + row as u16, inner.width, 1),
            Hit::Line(*index),
        );
        shown.push(Line::styled(text.clone(), style));
    }
    frame.render_widget(Paragraph::new(shown).block(block), area);
}

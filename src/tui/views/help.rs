//! Help, generated from the keymap table (the same one the hints come from); it scrolls.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Row, Table};

use super::widgets::centered;
use crate::tui::keymap::{Command, Keymap};
use crate::tui::theme::Theme;

pub(super) fn draw(frame: &mut Frame, area: Rect, keymap: &Keymap, scroll: usize, theme: Theme) {
    let help = keymap.help_rows();
    let total = help.len();
    let rect = centered(area, 72, total as u16 + 4);
    // Two borders and the header row are not rows.
    let room = usize::from(rect.height.saturating_sub(3)).max(1);
    let start = scroll.min(total.saturating_sub(room));
    let rows: Vec<Row> = help
        .into_iter()
        .skip(start)
        .take(room)
        .map(|(keys, description)| Row::new(vec![keys, description.to_string()]))
        .collect();
    let more = if start + room < total || start > 0 {
        format!(
            " {}-{} of {total} · {}/{} scroll ",
            start + 1,
            (start + room).min(total),
            first_key(keymap, Command::Down),
            first_key(keymap, Command::Up)
        )
    } else {
        String::new()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(" Keys ", theme.title()))
        .title_bottom(Line::styled(more, theme.dim()).left_aligned())
        .title_bottom(Line::styled(" ? or esc to close ", theme.dim()).right_aligned());
    let table = Table::new(rows, [Constraint::Length(14), Constraint::Fill(1)])
        .header(Row::new(vec!["key", "does"]).style(theme.header()))
        .block(block);
    frame.render_widget(Clear, rect);
    frame.render_widget(table, rect);
}

fn first_key(keymap: &Keymap, command: Command) -> String {
    keymap
        .keys(command)
        .next()
        .map(|k| k.to_string())
        .unwrap_or_default()
}

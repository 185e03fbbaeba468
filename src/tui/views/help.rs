//! Help, generated from the keymap table (the same one the hints come from).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Row, Table};

use super::widgets::centered;
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;

pub(super) fn draw(frame: &mut Frame, area: Rect, keymap: &Keymap, theme: Theme) {
    let help = keymap.help_rows();
    let rect = centered(area, 60, help.len() as u16 + 4);
    let rows: Vec<Row> = help
        .into_iter()
        .map(|(keys, description)| Row::new(vec![keys, description.to_string()]))
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(" Keys ", theme.title()))
        .title_bottom(Line::styled(" ? or esc to close ", theme.dim()).right_aligned());
    let table = Table::new(rows, [Constraint::Length(16), Constraint::Fill(1)])
        .header(Row::new(vec!["key", "does"]).style(theme.header()))
        .block(block);
    frame.render_widget(Clear, rect);
    frame.render_widget(table, rect);
}

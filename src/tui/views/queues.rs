//! The queue picker: which of the queues the client can see are shown.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, List, ListItem};

use super::widgets::{centered, window_start};
use crate::tui::app::QueuePicker;
use crate::tui::layout::list_rows;
use crate::tui::theme::Theme;

pub(super) fn draw(
    frame: &mut Frame,
    area: Rect,
    picker: &QueuePicker,
    cursor: usize,
    theme: Theme,
) {
    let rect = centered(area, 50, picker.known.len() as u16 + 2);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(" Queues shown ", theme.title()))
        .title_bottom(Line::styled(
            " space toggle · a all · enter close ",
            theme.dim(),
        ));
    let height = list_rows(rect);
    let start = window_start(Some(cursor), height);
    let items: Vec<ListItem> = if picker.known.is_empty() {
        vec![ListItem::new(Line::styled(
            "no queue known yet",
            theme.dim(),
        ))]
    } else {
        picker
            .known
            .iter()
            .enumerate()
            .skip(start)
            .take(height)
            .map(|(index, (id, name))| {
                let mark = if picker.hidden.contains(id) {
                    "[ ]"
                } else {
                    "[x]"
                };
                let pointer = if index == cursor { "▶" } else { " " };
                let item = ListItem::new(format!("{pointer} {mark} {name}"));
                if index == cursor {
                    item.style(theme.selected())
                } else {
                    item
                }
            })
            .collect()
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(List::new(items).block(block), rect);
}

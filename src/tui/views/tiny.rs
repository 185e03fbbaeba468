//! The message shown instead of a broken screen when the terminal is too small.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Text};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::layout::{MIN_HEIGHT, MIN_WIDTH};
use crate::tui::theme::Theme;

pub(super) fn draw(frame: &mut Frame, area: Rect, theme: Theme) {
    let text = Text::from(vec![
        Line::styled("confwatch: terminal too small", theme.warning()),
        Line::raw(format!(
            "needs {MIN_WIDTH}x{MIN_HEIGHT}, has {}x{}",
            area.width, area.height
        )),
        Line::raw("enlarge it, or press q to quit"),
    ]);
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

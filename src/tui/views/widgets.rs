//! Small pieces the views share (a file of their own, so that no view depends on the module
//! that draws them all).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::super::theme::Theme;

/// The first row to show so that `selected` is visible in `height` rows.
pub(super) fn window_start(selected: Option<usize>, height: usize) -> usize {
    match selected {
        Some(index) if height > 0 && index >= height => index + 1 - height,
        _ => 0,
    }
}

/// A dim line where an empty bordered table's first row would be (if the table has room for one).
pub(super) fn empty_note(frame: &mut Frame, table: Rect, text: &str, theme: Theme) {
    if table.height > 3 {
        let line = Rect {
            x: table.x + 2,
            y: table.y + 2,
            width: table.width.saturating_sub(4),
            height: 1,
        };
        frame.render_widget(Line::styled(text, theme.dim()), line);
    }
}

/// A centered rectangle of at most `width` x `height` inside `area`.
pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keeps_the_selection_visible() {
        assert_eq!(window_start(None, 10), 0);
        assert_eq!(window_start(Some(3), 10), 0);
        assert_eq!(window_start(Some(10), 10), 1);
        assert_eq!(window_start(Some(99), 10), 90);
    }
}

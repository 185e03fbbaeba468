//! Drawing only: each module draws one part of the screen from the app state.

mod banner;
mod conferences;
mod confirm;
mod detail;
mod header;
mod help;
mod jobs;
mod log;
mod participants;
mod queues;
mod status;
mod tiny;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::app::{App, Hit, Hits, Pane, View};
use super::layout::too_small;
use super::theme::Theme;

/// Draws the whole screen from the app as it stands; reads it, never writes it. The event loop
/// brings the app up to date for the terminal's size first (`runtime::draw`). Returns where each
/// row was drawn, for the mouse.
pub(crate) fn draw(frame: &mut Frame, app: &App, theme: Theme) -> Hits {
    let mut hits = Hits::default();
    let area = frame.area();
    if too_small(area) {
        tiny::draw(frame, area, theme);
        return hits;
    }
    let screen = app.screen(area);
    let body = screen.body;
    header::draw(frame, screen.header, app, theme);
    banner::draw(frame, screen.banner, app, theme);
    match app.view {
        View::Main => {
            let (left, right) = screen.panes();
            hits.add(left, Hit::Pane(Pane::Conferences));
            hits.add(right, Hit::Pane(Pane::Participants));
            conferences::draw(frame, left, app, theme, &mut hits);
            participants::draw(frame, right, app, theme, &mut hits);
        }
        View::Jobs => jobs::draw(frame, body, app, theme, &mut hits),
        View::Log => log::draw(frame, body, app, theme),
        View::Call | View::Job => detail::draw(frame, body, app, theme, &mut hits),
    }
    status::draw(frame, screen.status, app, theme);
    if let Some(confirm) = &app.confirm {
        confirm::draw(frame, body, confirm, &app.keymap, theme);
    }
    if let Some(cursor) = app.queues.open {
        queues::draw(frame, body, &app.queues, cursor, theme);
    }
    if app.help {
        // Over the whole screen: in the body, an 80x24 terminal cut its last line (ctrl-c).
        help::draw(frame, area, &app.keymap, app.help_scroll, theme);
    }
    hits
}

/// The first row to show so that `selected` is visible in `height` rows.
fn window_start(selected: Option<usize>, height: usize) -> usize {
    match selected {
        Some(index) if height > 0 && index >= height => index + 1 - height,
        _ => 0,
    }
}

/// A dim line where an empty bordered table's first row would be (if the table has room for one).
fn empty_note(frame: &mut Frame, table: Rect, text: &str, theme: Theme) {
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
fn centered(area: Rect, width: u16, height: u16) -> Rect {
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

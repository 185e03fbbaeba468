//! Drawing only: each module draws one part of the screen from the app state.

mod conferences;
mod confirm;
mod header;
mod help;
mod jobs;
mod log;
mod participants;
use crate::text::truncate;
mod queues;
mod status;
mod tiny;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use super::app::{App, View};
use super::theme::Theme;

/// Below this the screen would be broken: a message is shown instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;
/// From this width the panes sit side by side; below it they stack.
const WIDE: u16 = 110;

/// Draws the whole screen. Brings the app's rows up to date first (cheap when nothing changed).
pub fn draw(frame: &mut Frame, app: &mut App, theme: Theme) {
    app.refresh();
    let area = frame.area();
    app.screen_too_small = area.width < MIN_WIDTH || area.height < MIN_HEIGHT;
    if app.screen_too_small {
        tiny::draw(frame, area, theme);
        return;
    }
    let [header_area, body, status_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(2),
    ])
    .areas(area);
    header::draw(frame, header_area, app, theme);
    match app.view {
        View::Main => {
            let (left, right) = if area.width >= WIDE {
                let [l, r] =
                    Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                        .areas(body);
                (l, r)
            } else {
                let [t, b] =
                    Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)])
                        .areas(body);
                (t, b)
            };
            // Two borders and a header row are not rows.
            app.page_rows = usize::from(left.height.saturating_sub(3)).max(1);
            conferences::draw(frame, left, app, theme);
            participants::draw(frame, right, app, theme);
        }
        View::Jobs => {
            app.page_rows = usize::from(body.height.saturating_sub(3)).max(1);
            jobs::draw(frame, body, app, theme);
        }
        View::Log => {
            app.page_rows = usize::from(body.height.saturating_sub(2)).max(1);
            log::draw(frame, body, app, theme);
        }
    }
    status::draw(frame, status_area, app, theme);
    if let Some(confirm) = &app.confirm {
        confirm::draw(frame, body, confirm, &app.keymap, theme);
    }
    if let Some(cursor) = app.queues.open {
        queues::draw(frame, body, &app.queues, cursor, theme);
    }
    if app.help {
        // Over the whole screen: in the body, an 80x24 terminal cut its last line (ctrl-c).
        help::draw(frame, area, &app.keymap, theme);
    }
}

/// The first row to show so that `selected` is visible in `height` rows.
fn window_start(selected: Option<usize>, height: usize) -> usize {
    match selected {
        Some(index) if height > 0 && index >= height => index + 1 - height,
        _ => 0,
    }
}

pub use crate::text::age;

/// Time in a state: `1.4 s` for the first minute (the kick's waits are that short), then `4m 12s`.
pub fn in_state(ms: u64) -> String {
    if ms < 60_000 {
        super::jobs::seconds_1(ms)
    } else {
        age(ms)
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

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
mod widgets;

use ratatui::Frame;

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

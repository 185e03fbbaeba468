//! Drawing only: each module draws one part of the screen from the app state.

mod conferences;
mod confirm;
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

use super::app::{App, View};
use super::layout::{Screen, too_small};
use super::theme::Theme;

/// Draws the whole screen from the app as it stands; reads it, never writes it. The event loop
/// brings the app up to date for the terminal's size first (`runtime::draw`).
pub(crate) fn draw(frame: &mut Frame, app: &App, theme: Theme) {
    let area = frame.area();
    if too_small(area) {
        tiny::draw(frame, area, theme);
        return;
    }
    let screen = Screen::of(area);
    let body = screen.body;
    header::draw(frame, screen.header, app, theme);
    match app.view {
        View::Main => {
            let (left, right) = screen.panes();
            conferences::draw(frame, left, app, theme);
            participants::draw(frame, right, app, theme);
        }
        View::Jobs => jobs::draw(frame, body, app, theme),
        View::Log => log::draw(frame, body, app, theme),
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
        help::draw(frame, area, &app.keymap, theme);
    }
}

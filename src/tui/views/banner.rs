//! The banner of blocking states above the panes: each state's whole reason and what to do,
//! wrapped (the lines come from the app, so the layout and the drawing agree on its height).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::theme::Theme;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if area.height == 0 {
        return;
    }
    let lines: Vec<Line> = app
        .banner_lines(area.width)
        .into_iter()
        .map(|(text, stops_data)| {
            let style = if stops_data {
                theme.error()
            } else {
                theme.warning()
            };
            Line::styled(format!(" {text}"), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

//! The top line: name, the DEMO marker, where the data comes from, counts, sort and filter.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::theme::Theme;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let mut spans = vec![Span::styled(" confwatch ", theme.title())];
    if app.signed_in.read_only.is_some() {
        spans.push(Span::styled(" READ-ONLY ", theme.warning()));
    }
    if let Some(demo) = &app.demo {
        spans.push(Span::styled(" DEMO ", theme.demo()));
        spans.push(Span::raw(format!(" {demo} ")));
    } else if !app.source.is_empty() {
        spans.push(Span::raw(format!(" {} ", app.source)));
    }
    if let Some(profile) = &app.signed_in.profile {
        spans.push(Span::raw(format!(" profile {profile} ")));
    }
    if let Some(user) = &app.signed_in.user {
        spans.push(Span::raw(format!(" {user} ")));
    }
    spans.push(Span::styled("│", theme.dim()));
    let running = app.jobs.all().iter().filter(|j| j.is_running()).count();
    spans.push(Span::raw(format!(
        " {} conferences · {} calls · {}",
        app.rows().len(),
        app.model.len(),
        app.order_label()
    )));
    if running > 0 {
        spans.push(Span::raw(" · "));
        spans.push(Span::styled(
            format!(
                "{running} kick{} running",
                if running == 1 { "" } else { "s" }
            ),
            theme.warning(),
        ));
    }
    if !app.filter.text.is_empty() {
        spans.push(Span::raw(format!(" · filter \"{}\"", app.filter.text)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

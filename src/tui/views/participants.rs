//! The selected conference's participants: name, purpose, state and time in it, held/muted, and
//! the kick job's progress inline in the target's row (or just under it when the row is full).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState};
use unicode_width::UnicodeWidthStr;

use crate::kick::Target;
use crate::live::ParticipantRow;
use crate::text::{in_state, pad, truncate, wrap};
use crate::tui::app::{App, Hit, Hits, Pane, conference_label};
use crate::tui::jobs::{Job, JobTone};
use crate::tui::theme::{Theme, Tone};

const PURPOSE: usize = 8;
const STATE: usize = 20;
const FLAGS: usize = 6;

pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme, hits: &mut Hits) {
    let focused = app.focus == Pane::Participants;
    let conversation = app
        .conference
        .id
        .as_deref()
        .and_then(|id| app.model.conversation(id));
    let title = match conversation {
        Some(c) => format!(" {} ", conference_label(&app.model.conference_row(c))),
        None => " Participants ".to_string(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Line::styled(title, theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(conversation) = conversation else {
        frame.render_widget(
            Line::styled(" choose a conference to see its participants", theme.dim()),
            inner,
        );
        return;
    };
    let participants = app.participant_rows(&conversation.id);
    let width = usize::from(inner.width);
    let name_width = participants
        .iter()
        .map(|p| p.name.width())
        .max()
        .unwrap_or(4)
        .clamp(4, 18);
    let header = format!(
        "  {:name_width$} {:PURPOSE$} {:STATE$} {:FLAGS$} kick",
        "name", "purpose", "state", "flags"
    );
    let [header_area, list_area] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Length(1),
        ratatui::layout::Constraint::Min(0),
    ])
    .areas(inner);
    frame.render_widget(Line::styled(header, theme.header()), header_area);

    let selected = app
        .participant
        .id
        .as_deref()
        .and_then(|id| participants.iter().position(|p| p.participant_id == id));
    let items: Vec<ListItem> = participants
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let target = Target {
                conversation_id: conversation.id.clone(),
                participant_id: p.participant_id.clone(),
            };
            // The cursor shows only where keys act: in the focused pane.
            let is_selected = focused && Some(index) == selected;
            row(
                p,
                app.jobs.latest(&target),
                is_selected,
                name_width,
                width,
                app,
                theme,
            )
        })
        .collect();
    // A conference has a handful of legs: all are built, and the list scrolls to the cursor
    // (rows with a kick line are two lines high).
    let heights: Vec<u16> = items.iter().map(|i| i.height() as u16).collect();
    let mut state = ListState::default().with_selected(selected);
    frame.render_stateful_widget(List::new(items), list_area, &mut state);
    // Where each row landed, from the list's own scroll offset.
    let mut y = list_area.y;
    for (p, height) in participants.iter().zip(heights).skip(state.offset()) {
        let bottom = list_area.y + list_area.height;
        if y >= bottom {
            break;
        }
        let row = Rect::new(list_area.x, y, list_area.width, height.min(bottom - y));
        hits.add(row, Hit::Participant(p.participant_id.clone()));
        y += height;
    }
}

fn row<'a>(
    p: &ParticipantRow,
    job: Option<&Job>,
    is_selected: bool,
    name_width: usize,
    width: usize,
    app: &App,
    theme: Theme,
) -> ListItem<'a> {
    let kicking = job.is_some_and(Job::is_running);
    let tone = Tone::of(&p.state, p.held, kicking);
    let flags = match (p.held, p.muted) {
        (true, true) => "hld+mt",
        (true, false) => "held",
        (false, true) => "muted",
        (false, false) => "",
    };
    let state = format!("{} {} {}", tone.glyph(), p.state, in_state(p.in_state_ms));
    let name = truncate(&p.name, name_width);
    let mut spans = vec![
        Span::raw(if is_selected { "▶ " } else { "  " }),
        Span::raw(format!("{} ", pad(&name, name_width))),
        Span::raw(format!("{} ", pad(&truncate(&p.purpose, PURPOSE), PURPOSE))),
        Span::styled(format!("{state:STATE$}"), theme.tone(tone)),
        Span::raw(format!(" {flags:FLAGS$} ")),
    ];
    let used = 2 + name_width + 1 + PURPOSE + 1 + STATE.max(state.width()) + 1 + FLAGS + 1;
    let mut lines = Vec::new();
    match job {
        Some(job) => {
            let style = match job.tone() {
                JobTone::Running => theme.tone(Tone::Leaving),
                JobTone::Done => theme.ok(),
                JobTone::Failed => theme.error(),
            };
            let status = job.status(app.now);
            if used + status.width() <= width {
                spans.push(Span::styled(status, style));
                lines.push(Line::from(spans));
            } else {
                // Too long for the row: the progress goes on its own line just under it.
                lines.push(Line::from(spans));
                let prefix = "    ↳ kick: ";
                let room = width.saturating_sub(prefix.width()).max(8);
                for (i, chunk) in wrap(&status, room).into_iter().enumerate() {
                    let lead = if i == 0 { prefix } else { "            " };
                    lines.push(Line::from(vec![
                        Span::raw(lead),
                        Span::styled(chunk, style),
                    ]));
                }
            }
        }
        None => lines.push(Line::from(spans)),
    }
    let item = ListItem::new(lines);
    if is_selected {
        item.style(theme.selected())
    } else {
        item.style(Style::new())
    }
}

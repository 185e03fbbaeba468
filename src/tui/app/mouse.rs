//! The mouse: a click selects what it lands on, the wheel scrolls the pane under it. Nothing
//! destructive: a click never kicks, cancels or answers the confirm dialog (that needs keys).

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::cursor::{Cursor, follow};
use super::{Action, App, Pane, View};
use crate::tui::keymap::Command;

/// What the last frame drew at a spot.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Hit {
    /// A pane of the main view (for the wheel, and a click on its border).
    Pane(Pane),
    Conference(String),
    Participant(String),
    /// A row of the jobs view (its job's `seq`).
    Job(u64),
    /// A line of the call view or the job view.
    Line(usize),
}

/// Where the last frame drew each row: filled by the views as they draw, read by the reducer
/// when a click comes (so a click selects exactly the row the supervisor saw there).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Hits {
    spots: Vec<(Rect, Hit)>,
}

impl Hits {
    pub(crate) fn add(&mut self, area: Rect, hit: Hit) {
        self.spots.push((area, hit));
    }

    /// The innermost spot under the pointer (rows are added after their pane).
    fn at(&self, column: u16, row: u16) -> Option<&Hit> {
        self.spots
            .iter()
            .rev()
            .find(|(area, _)| area.contains(Position::new(column, row)))
            .map(|(_, hit)| hit)
    }
}

impl App {
    pub(super) fn on_mouse(&mut self, event: MouseEvent) -> Vec<Action> {
        // A dialog, the filter bar or the queue picker takes keys only; a too-small screen
        // shows nothing to click.
        if self.confirm.is_some()
            || self.filter.editing
            || self.queues.open.is_some()
            || self.screen_too_small()
        {
            return Vec::new();
        }
        let wheel = match event.kind {
            MouseEventKind::ScrollDown => Some(Command::Down),
            MouseEventKind::ScrollUp => Some(Command::Up),
            MouseEventKind::Down(MouseButton::Left) => None,
            _ => return Vec::new(),
        };
        if self.help {
            if let Some(command) = wheel {
                self.help_scroll = match command {
                    Command::Down => self.help_scroll + 1,
                    _ => self.help_scroll.saturating_sub(1),
                }
                .min(self.keymap.help_rows().len().saturating_sub(1));
            }
            return Vec::new();
        }
        self.flash = None;
        self.refresh();
        let hit = self.hits.at(event.column, event.row).cloned();
        match (wheel, hit) {
            (Some(command), Some(hit)) if self.view == View::Main => {
                let pane = match hit {
                    Hit::Participant(_) | Hit::Pane(Pane::Participants) => Pane::Participants,
                    _ => Pane::Conferences,
                };
                // The pane under the pointer scrolls; the keyboard's pane stays as it was.
                let focus = std::mem::replace(&mut self.focus, pane);
                self.move_cursor(if command == Command::Down { 1 } else { -1 });
                self.focus = focus;
            }
            (Some(command), _) => match self.view {
                View::Main => {}
                View::Jobs => return self.on_jobs_command(command),
                View::Log => self.on_log_command(command),
                View::Call | View::Job => return self.on_detail_command(command),
            },
            (None, Some(hit)) => self.click(hit),
            (None, None) => {}
        }
        Vec::new()
    }

    fn click(&mut self, hit: Hit) {
        match hit {
            Hit::Pane(Pane::Participants) if self.conference.id.is_some() => {
                self.focus = Pane::Participants;
            }
            Hit::Pane(pane) => self.focus = pane,
            Hit::Conference(id) => {
                if self.conference.id.as_deref() != Some(id.as_str()) {
                    self.participant = Cursor::default();
                }
                let ids: Vec<&str> = self
                    .rows()
                    .iter()
                    .map(|r| r.conversation_id.as_str())
                    .collect();
                self.conference = follow(&ids, &selected(id));
                self.focus = Pane::Conferences;
            }
            Hit::Participant(id) => {
                self.participant = selected(id);
                self.focus = Pane::Participants;
                self.refresh();
            }
            Hit::Job(seq) => self.job_cursor = selected(seq.to_string()),
            Hit::Line(index) => self.detail.cursor = index,
        }
    }
}

fn selected(id: String) -> Cursor {
    Cursor {
        id: Some(id),
        hint: 0,
    }
}

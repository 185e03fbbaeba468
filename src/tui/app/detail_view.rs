//! The call view's and the job view's keys: a cursor over their lines (the view scrolls to it),
//! and the copy key, which copies the id of the line under it.

use super::{Action, App, Pane, View};
use crate::text::clean;
use crate::tui::detail::{DetailLine, call_lines, job_lines};
use crate::tui::keymap::Command;

/// What the call view or the job view shows, and where its cursor is.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Detail {
    /// The call view's conversation.
    pub(crate) call: Option<String>,
    /// The job view's job (its `seq`).
    pub(crate) job: Option<u64>,
    /// The line under the cursor.
    pub(crate) cursor: usize,
}

impl App {
    /// The call view of the selected conference (from either pane); a call known only from
    /// analytics is read exactly, as opening it in the panes does.
    pub(super) fn open_call_view(&mut self) -> Vec<Action> {
        let Some(id) = self.conference.id.clone() else {
            self.flash = Some("choose a conference first".to_string());
            return Vec::new();
        };
        // On the selected participant's first line when one is chosen, else on the call's id.
        let cursor = match (&self.participant.id, self.focus) {
            (Some(participant), Pane::Participants) => self
                .lines_of_call(&id)
                .iter()
                .position(|l| l.id.as_ref() == Some(participant))
                .unwrap_or(0),
            _ => 0,
        };
        let read = self
            .model
            .is_from_analytics(&id)
            .then(|| Action::ReadCall(id.clone()));
        self.detail = Detail {
            call: Some(id),
            job: None,
            cursor,
        };
        self.view = View::Call;
        read.into_iter().collect()
    }

    /// The job view of the job under the jobs view's cursor.
    pub(super) fn open_job_view(&mut self, seq: u64) {
        self.detail = Detail {
            call: None,
            job: Some(seq),
            cursor: 0,
        };
        self.view = View::Job;
    }

    fn lines_of_call(&self, id: &str) -> Vec<DetailLine> {
        call_lines(&self.model, &self.jobs, id, self.started, self.now)
    }

    /// The lines the call view or the job view shows now.
    pub(crate) fn detail_lines(&self) -> Vec<DetailLine> {
        match (self.view, &self.detail) {
            (
                View::Call,
                Detail {
                    call: Some(call), ..
                },
            ) => self.lines_of_call(call),
            (View::Job, Detail { job: Some(seq), .. }) => self
                .jobs
                .all()
                .iter()
                .find(|j| j.seq == *seq)
                .map(|job| job_lines(job, self.now))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    pub(super) fn on_detail_command(&mut self, command: Command) -> Vec<Action> {
        let lines = self.detail_lines();
        let last = lines.len().saturating_sub(1);
        let page = self.page_rows();
        let cursor = self.detail.cursor.min(last);
        self.detail.cursor = match command {
            Command::Down => (cursor + 1).min(last),
            Command::Up => cursor.saturating_sub(1),
            Command::PageDown => (cursor + page).min(last),
            Command::PageUp => cursor.saturating_sub(page),
            Command::Top => 0,
            Command::Bottom => last,
            Command::Copy => {
                return self.copy(lines.get(cursor).and_then(|l| l.id.clone()));
            }
            _ => cursor,
        };
        Vec::new()
    }

    /// Copies an id through the terminal (OSC 52) and shows it in the status line, where it can
    /// be selected by hand when the terminal does not take OSC 52.
    pub(super) fn copy(&mut self, id: Option<String>) -> Vec<Action> {
        let Some(id) = id else {
            self.flash = Some("no id on this line".to_string());
            return Vec::new();
        };
        let shown = clean(&id).into_owned();
        self.flash = Some(format!(
            "copied {shown} (OSC 52; if the clipboard stays empty, shift-drag to select it here)"
        ));
        vec![Action::Copy(id)]
    }
}

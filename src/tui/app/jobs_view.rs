//! The jobs view's keys: a cursor on a job (by its number, so new jobs do not move it) and
//! cancelling the job under it.

use super::cursor::{follow, step};
use super::{Action, App, View};
use crate::tui::keymap::Command;

impl App {
    pub(super) fn open_jobs_view(&mut self) {
        self.view = View::Jobs;
        // Pin the cursor to a job now, so jobs arriving later do not move it.
        let ids = self.job_ids();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.job_cursor = follow(&ids, &self.job_cursor);
    }

    pub(super) fn on_jobs_command(&mut self, command: Command) -> Vec<Action> {
        let ids = self.job_ids();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let page = self.page_rows() as isize;
        let delta = match command {
            Command::Down => 1,
            Command::Up => -1,
            Command::PageDown => page,
            Command::PageUp => -page,
            Command::Top => isize::MIN / 2,
            Command::Bottom => isize::MAX / 2,
            Command::Open => {
                let cursor = follow(&ids, &self.job_cursor);
                if let Some(seq) = cursor.id.and_then(|id| id.parse().ok()) {
                    self.open_job_view(seq);
                }
                return Vec::new();
            }
            Command::Copy => {
                self.flash = Some(format!(
                    "open the job ({}) to copy its ids",
                    self.keymap.keys_label(Command::Open)
                ));
                return Vec::new();
            }
            Command::CancelKick => {
                let cursor = follow(&ids, &self.job_cursor);
                let job = cursor
                    .id
                    .and_then(|id| self.jobs.all().iter().find(|j| j.seq.to_string() == id));
                match job {
                    Some(job) if job.is_running() => {
                        return vec![Action::Cancel(job.target.clone())];
                    }
                    Some(_) => self.flash = Some("that kick has already finished".to_string()),
                    None => {}
                }
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        self.job_cursor = step(&ids, &self.job_cursor, delta);
        Vec::new()
    }

    /// The jobs' ids in the jobs view's order (newest first).
    fn job_ids(&self) -> Vec<String> {
        self.jobs
            .all()
            .iter()
            .rev()
            .map(|j| j.seq.to_string())
            .collect()
    }

    /// Where the jobs view's cursor is (newest first).
    pub fn job_index(&self) -> Option<usize> {
        let ids = self.job_ids();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let cursor = follow(&ids, &self.job_cursor);
        cursor.id.map(|_| cursor.hint)
    }
}

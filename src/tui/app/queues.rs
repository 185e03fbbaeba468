//! The queue picker: which of the queues the feed knows are shown, and its keys.

use crossterm::event::KeyCode;

use crate::tui::keymap::Command;

/// The queues the feed knows, and which of them the supervisor chose to see.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueuePicker {
    /// (id, name), sorted by name.
    pub(crate) known: Vec<(String, String)>,
    /// Queue ids hidden by the supervisor (empty: every queue is shown).
    pub(crate) hidden: std::collections::BTreeSet<String>,
    /// Some(cursor) while the picker is open.
    pub open: Option<usize>,
    /// Bumped when the selection changes, so cached rows are rebuilt.
    pub(super) revision: u64,
    /// Queues the platform sends no live events for: their calls are not shown (they would
    /// not change on screen when they change on the platform), and the screen says why.
    pub(crate) unwatched: Vec<crate::feed::UnwatchedQueue>,
}

impl QueuePicker {
    /// Calls with no queue (direct calls) are always shown.
    pub(crate) fn shows(&self, queue_id: Option<&str>) -> bool {
        queue_id.is_none_or(|id| {
            !self.hidden.contains(id) && !self.unwatched.iter().any(|u| u.queue_id == id)
        })
    }

    /// A call in several queues (agents of two queues on it after a transfer) is shown while
    /// any of its live queues is; one with no live leg in a queue goes by the queue it is in.
    pub(crate) fn shows_call(&self, row: &crate::live::ConferenceRow) -> bool {
        if row.live_queue_ids.is_empty() {
            return self.shows(row.queue_id.as_deref());
        }
        row.live_queue_ids.iter().any(|id| self.shows(Some(id)))
    }

    pub(super) fn set_unwatched(&mut self, unwatched: Vec<crate::feed::UnwatchedQueue>) {
        if self.unwatched != unwatched {
            self.unwatched = unwatched;
            self.revision += 1;
        }
    }

    pub(super) fn learn(&mut self, queues: &[crate::wire::Queue]) {
        for queue in queues {
            let name = queue.name.clone().unwrap_or_else(|| queue.id.clone());
            match self.known.iter_mut().find(|(id, _)| *id == queue.id) {
                Some(entry) => entry.1 = name,
                None => self.known.push((queue.id.clone(), name)),
            }
        }
        self.known
            .sort_by(|a, b| (a.1.to_lowercase(), &a.0).cmp(&(b.1.to_lowercase(), &b.0)));
    }

    pub(super) fn toggle(&mut self, index: usize) {
        if let Some((id, _)) = self.known.get(index) {
            if !self.hidden.remove(id) {
                self.hidden.insert(id.clone());
            }
            self.revision += 1;
        }
    }

    pub(super) fn on_key(&mut self, code: KeyCode, command: Option<Command>) {
        let Some(cursor) = self.open else {
            return;
        };
        let last = self.known.len().saturating_sub(1);
        match (code, command) {
            (KeyCode::Char(' '), _) => self.toggle(cursor),
            (KeyCode::Char('a'), _) => {
                self.hidden.clear();
                self.revision += 1;
            }
            (KeyCode::Enter, _) | (_, Some(Command::Back | Command::Queues | Command::Quit)) => {
                self.open = None
            }
            (_, Some(Command::Down)) => self.open = Some((cursor + 1).min(last)),
            (_, Some(Command::Up)) => self.open = Some(cursor.saturating_sub(1)),
            (_, Some(Command::Top)) => self.open = Some(0),
            (_, Some(Command::Bottom)) => self.open = Some(last),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::ConferenceRow;

    fn row(queue_id: Option<&str>, live: &[&str]) -> ConferenceRow {
        ConferenceRow {
            conversation_id: "c1".into(),
            queue_id: queue_id.map(str::to_string),
            live_queue_ids: live.iter().map(|id| id.to_string()).collect(),
            queue_name: None,
            customer: None,
            live_parties: 3,
            started: None,
            longest_in_state: None,
        }
    }

    /// Agents of Support and Sales both on a call (a consult to a queue): hiding one queue
    /// keeps it; hiding both hides it. A call whose live legs are in no queue goes by the
    /// queue it is in.
    #[test]
    fn a_call_in_two_queues_shows_while_either_is_shown() {
        let mut picker = QueuePicker::default();
        let both = row(Some("sales"), &["sales", "support"]);
        assert!(picker.shows_call(&both));
        picker.hidden.insert("support".into());
        assert!(picker.shows_call(&both));
        picker.hidden.insert("sales".into());
        assert!(!picker.shows_call(&both));
        picker.hidden.remove("sales");
        assert!(!picker.shows_call(&row(Some("support"), &[])));
        assert!(picker.shows_call(&row(Some("sales"), &[])));
        assert!(picker.shows_call(&row(None, &[])));
    }
}

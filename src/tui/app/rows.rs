//! The conference list as the console shows it: filtered, sorted, and kept up to date row by row
//! as conversations change; the cursors re-found by id after each change.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use super::cursor::{Cursor, follow};
use super::{App, Pane, SortKey};
use crate::live::{ConferenceRow, Update, is_conference};
use crate::wire::ParticipantState;

/// The sorted, filtered conference rows. A change of filter, sort or queue selection (or a full
/// re-read) rebuilds them all; a single conversation's update only moves its own row.
#[derive(Debug, Default)]
pub(super) struct RowCache {
    /// Filter, sort and its direction, queue-selection revision.
    key: Option<(String, SortKey, bool, u64)>,
    /// The model revision the rows show.
    revision: u64,
    /// Conversations updated since; None when everything must be rebuilt.
    changed: Option<HashSet<String>>,
    /// Shared pointers, so that moving one row shifts pointers, not whole rows.
    rows: Vec<Arc<ConferenceRow>>,
}

/// More changed conversations than this in one batch: a full rebuild is cheaper.
const INCREMENTAL_LIMIT: usize = 256;

impl RowCache {
    /// Notes what a feed update changes, before it is applied: one conversation's row, or all.
    pub(super) fn note(&mut self, update: &Update) {
        match update {
            Update::Queues(_)
            | Update::Snapshot(_)
            | Update::ResyncPage(_)
            | Update::Discovered(_)
            | Update::ResyncDone
            | Update::ResyncAbandoned => self.changed = None,
            Update::ResyncStarted => {}
            Update::Conversation(conversation) => {
                if let Some(changed) = self.changed.as_mut() {
                    changed.insert(conversation.id.clone());
                    if changed.len() > INCREMENTAL_LIMIT {
                        self.changed = None;
                    }
                }
            }
        }
    }
}

impl App {
    /// Rebuilds the conference rows if the model, filter or sort changed, and re-finds the
    /// cursors by id. Cheap when nothing changed; called before keys are handled and before a draw.
    pub fn refresh(&mut self) {
        let key = (
            self.filter.text.clone(),
            self.sort,
            self.sort_reverse,
            self.queues.revision,
        );
        if self.cache.key.as_ref() != Some(&key) {
            // Asked for by a key: the list re-sorts, paused or not.
            self.rebuild_rows();
            self.cache.key = Some(key);
        } else if self.cache.revision != self.model.revision() {
            match self.cache.changed.take() {
                Some(changed) => changed.iter().for_each(|id| self.update_row(id)),
                None if self.paused => self.rebuild_rows_in_place(),
                None => self.rebuild_rows(),
            }
        }
        self.cache.revision = self.model.revision();
        self.cache.changed = Some(HashSet::new());
        let ids: Vec<&str> = self
            .cache
            .rows
            .iter()
            .map(|r| r.conversation_id.as_str())
            .collect();
        let conference = follow(&ids, &self.conference);
        if conference.id != self.conference.id {
            let still_going = self
                .conference
                .id
                .as_deref()
                .and_then(|id| self.model.conversation(id))
                .is_some_and(|c| c.live_participants().next().is_some());
            if self.focus == Pane::Participants && still_going {
                // Filtered out, or down to two parties (a kick's own doing, often): the
                // supervisor is working in it, so it stays open, with the kick's outcome in its
                // row, rather than another conference taking its place.
            } else {
                if self.focus == Pane::Participants {
                    self.focus = Pane::Conferences;
                    self.flash = Some("that conference has ended".to_string());
                }
                self.participant = Cursor::default();
                self.conference = conference;
            }
        } else {
            self.conference = conference;
        }
        if let Some(id) = self.conference.id.clone() {
            let rows = self.model.participants(&id, self.now);
            let ids: Vec<&str> = rows.iter().map(|r| r.participant_id.as_str()).collect();
            self.participant = follow(&ids, &self.participant);
        }
    }

    /// Forgets the cached rows (the benchmark's baseline: a full rebuild every frame).
    pub fn invalidate_rows(&mut self) {
        self.cache.key = None;
    }

    fn rebuild_rows(&mut self) {
        let needle = self.filter.text.to_lowercase();
        let mut rows: Vec<Arc<ConferenceRow>> = self
            .model
            .conferences()
            .into_iter()
            .filter(|row| self.shows(row, &needle))
            .map(Arc::new)
            .collect();
        let (sort, reverse) = (self.sort, self.sort_reverse);
        rows.sort_by(|a, b| compare(sort, reverse, a, b));
        self.cache.rows = rows;
    }

    /// Paused: rebuilt, but the rows already shown keep their places (new ones go last).
    fn rebuild_rows_in_place(&mut self) {
        let old: std::collections::HashMap<String, usize> = self
            .cache
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.conversation_id.clone(), i))
            .collect();
        self.rebuild_rows();
        // Stable: the new rows keep their sorted order after the old ones.
        self.cache
            .rows
            .sort_by_key(|r| old.get(&r.conversation_id).copied().unwrap_or(usize::MAX));
    }

    /// Moves one conversation's row to where it now belongs (or drops it, or adds it).
    /// Paused, it stays where it is (a new row goes last).
    fn update_row(&mut self, conversation_id: &str) {
        let rows = &mut self.cache.rows;
        let was = rows
            .iter()
            .position(|r| r.conversation_id == conversation_id);
        if let Some(index) = was {
            rows.remove(index);
        }
        let Some(conversation) = self.model.conversation(conversation_id) else {
            return;
        };
        if !is_conference(conversation) {
            return;
        }
        let row = self.model.conference_row(conversation);
        if !self.shows(&row, &self.filter.text.to_lowercase()) {
            return;
        }
        let (sort, reverse) = (self.sort, self.sort_reverse);
        let rows = &mut self.cache.rows;
        let index = match was {
            Some(index) if self.paused => index,
            None if self.paused => rows.len(),
            _ => rows
                .binary_search_by(|probe| compare(sort, reverse, probe, &row))
                .unwrap_or_else(|index| index),
        };
        rows.insert(index, Arc::new(row));
    }

    fn shows(&self, row: &ConferenceRow, needle: &str) -> bool {
        self.queues.shows(row.queue_id.as_deref())
            && (needle.is_empty() || self.matches(row, needle))
    }

    /// A substring of a queue, a customer or a participant's name, state or purpose; `held`,
    /// `muted` and `ringing` find legs held, muted or ringing.
    fn matches(&self, row: &ConferenceRow, needle: &str) -> bool {
        let hit = |s: &str| s.to_lowercase().contains(needle);
        if row.queue_name.as_deref().is_some_and(hit) || row.customer.as_deref().is_some_and(hit) {
            return true;
        }
        self.model
            .conversation(&row.conversation_id)
            .is_some_and(|c| {
                c.participants.iter().any(|p| {
                    p.name.as_deref().is_some_and(hit)
                        || p.user
                            .as_ref()
                            .and_then(|u| u.name.as_deref())
                            .is_some_and(hit)
                        || p.state.as_str().contains(needle)
                        || p.purpose().as_str().contains(needle)
                        || (needle == "held" && p.is_held())
                        || (needle == "muted" && p.is_muted())
                        || (needle == "ringing" && p.state == ParticipantState::Alerting)
                })
            })
    }

    /// The conference rows in screen order (call [`App::refresh`] first).
    pub fn rows(&self) -> &[Arc<ConferenceRow>] {
        &self.cache.rows
    }

    /// Where the conference cursor is in [`App::rows`].
    pub(crate) fn conference_index(&self) -> Option<usize> {
        let id = self.conference.id.as_deref()?;
        self.cache.rows.iter().position(|r| r.conversation_id == id)
    }
}

/// The order of the conference list; ties broken by id so it is total and stable.
fn compare(sort: SortKey, reverse: bool, a: &ConferenceRow, b: &ConferenceRow) -> Ordering {
    let order = compare_forward(sort, a, b);
    if reverse { order.reverse() } else { order }
}

fn compare_forward(sort: SortKey, a: &ConferenceRow, b: &ConferenceRow) -> Ordering {
    match sort {
        SortKey::Age => (a.started.is_none(), a.started, &a.conversation_id).cmp(&(
            b.started.is_none(),
            b.started,
            &b.conversation_id,
        )),
        SortKey::Queue => (&a.queue_name, &a.queue_id, &a.conversation_id).cmp(&(
            &b.queue_name,
            &b.queue_id,
            &b.conversation_id,
        )),
        SortKey::Customer => {
            (&a.customer, &a.conversation_id).cmp(&(&b.customer, &b.conversation_id))
        }
        SortKey::Parties => (std::cmp::Reverse(a.live_parties), &a.conversation_id)
            .cmp(&(std::cmp::Reverse(b.live_parties), &b.conversation_id)),
    }
}

/// "Sales · Alex Moreno" (or the conversation id when nothing else is known).
pub(crate) fn conference_label(row: &ConferenceRow) -> String {
    let queue = row.queue_name.as_deref().or(row.queue_id.as_deref());
    match (queue, row.customer.as_deref()) {
        (Some(q), Some(c)) => format!("{q} · {c}"),
        (Some(q), None) => q.to_string(),
        (None, Some(c)) => c.to_string(),
        (None, None) => row.conversation_id.clone(),
    }
}

//! The conference list as the console shows it: filtered, sorted, and kept up to date row by row
//! as conversations change. It knows nothing of the `App` that holds it (the app re-finds its
//! cursors after each refresh).

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use super::filter::{Term, terms};
use super::queues::QueuePicker;
use crate::live::{ConferenceRow, LiveModel, ParticipantRow, Update, in_state_key, is_conference};
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
            | Update::Discovered(_)
            | Update::ResyncDone
            | Update::ResyncAbandoned => self.changed = None,
            Update::ResyncStarted => {}
            // A page only adds or refreshes its own calls: the first screen of 10,000 calls
            // moves 200 rows a page instead of rebuilding every row 50 times.
            Update::ResyncPage(conversations) => self.note_changed(conversations),
            Update::Conversation(conversation) => {
                self.note_changed(std::slice::from_ref(conversation));
            }
        }
    }

    fn note_changed(&mut self, conversations: &[crate::wire::CallConversation]) {
        if let Some(changed) = self.changed.as_mut() {
            changed.extend(conversations.iter().map(|c| c.id.clone()));
            if changed.len() > INCREMENTAL_LIMIT {
                self.changed = None;
            }
        }
    }
}

/// What the rows depend on besides the model's changes: the filter, the order and the queues
/// shown, and whether the list is paused.
pub(super) struct RowQuery<'a> {
    pub(super) model: &'a LiveModel,
    pub(super) filter: &'a str,
    pub(super) sort: SortKey,
    pub(super) reverse: bool,
    pub(super) queues: &'a QueuePicker,
    pub(super) paused: bool,
}

impl RowCache {
    /// Rebuilds the rows if the model, filter or sort changed. Cheap when nothing changed.
    pub(super) fn refresh(&mut self, query: &RowQuery<'_>) {
        let key = (
            query.filter.to_string(),
            query.sort,
            query.reverse,
            query.queues.revision,
        );
        if self.key.as_ref() != Some(&key) {
            // Asked for by a key: the list re-sorts, paused or not.
            self.rebuild(query);
            self.key = Some(key);
        } else if self.revision != query.model.revision() {
            match self.changed.take() {
                Some(changed) => changed.iter().for_each(|id| self.update_row(query, id)),
                None if query.paused => self.rebuild_in_place(query),
                None => self.rebuild(query),
            }
        }
        self.revision = query.model.revision();
        self.changed = Some(HashSet::new());
    }

    /// Forgets the rows: the next refresh rebuilds them all.
    pub(super) fn invalidate(&mut self) {
        self.key = None;
    }

    /// The conference rows in screen order.
    pub(super) fn rows(&self) -> &[Arc<ConferenceRow>] {
        &self.rows
    }

    fn rebuild(&mut self, query: &RowQuery<'_>) {
        let terms = needles(query.filter);
        let mut rows: Vec<Arc<ConferenceRow>> = query
            .model
            .conferences()
            .into_iter()
            .filter(|row| shows(query, row, &terms))
            .map(Arc::new)
            .collect();
        let (sort, reverse) = (query.sort, query.reverse);
        rows.sort_by(|a, b| compare(sort, reverse, a, b));
        self.rows = rows;
    }

    /// Paused: rebuilt, but the rows already shown keep their places (new ones go last).
    fn rebuild_in_place(&mut self, query: &RowQuery<'_>) {
        let old: std::collections::HashMap<String, usize> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.conversation_id.clone(), i))
            .collect();
        self.rebuild(query);
        // Stable: the new rows keep their sorted order after the old ones.
        self.rows
            .sort_by_key(|r| old.get(&r.conversation_id).copied().unwrap_or(usize::MAX));
    }

    /// Moves one conversation's row to where it now belongs (or drops it, or adds it).
    /// Paused, it stays where it is (a new row goes last).
    fn update_row(&mut self, query: &RowQuery<'_>, conversation_id: &str) {
        let rows = &mut self.rows;
        let was = rows
            .iter()
            .position(|r| r.conversation_id == conversation_id);
        if let Some(index) = was {
            rows.remove(index);
        }
        let Some(conversation) = query.model.conversation(conversation_id) else {
            return;
        };
        if !is_conference(conversation) {
            return;
        }
        let row = query.model.conference_row(conversation);
        if !shows(query, &row, &needles(query.filter)) {
            return;
        }
        let (sort, reverse) = (query.sort, query.reverse);
        let index = match was {
            Some(index) if query.paused => index,
            None if query.paused => rows.len(),
            _ => rows
                .binary_search_by(|probe| compare(sort, reverse, probe, &row))
                .unwrap_or_else(|index| index),
        };
        rows.insert(index, Arc::new(row));
    }
}

/// The filter's terms, lowercased for matching.
fn needles(filter: &str) -> Vec<Term> {
    terms(&filter.to_lowercase())
}

/// In a shown queue (any of its live queues, `QueueFilter::shows_call`), and every term matches
/// (a negated one must not); no terms match all.
fn shows(query: &RowQuery<'_>, row: &ConferenceRow, terms: &[Term]) -> bool {
    query.queues.shows_call(row)
        && terms
            .iter()
            .all(|term| matches(query.model, row, &term.text) != term.negated)
}

/// One term: a substring of a queue, a customer or a participant's name, state or purpose; `held`,
/// `muted` and `ringing` find legs held, muted or ringing.
fn matches(model: &LiveModel, row: &ConferenceRow, needle: &str) -> bool {
    let hit = |s: &str| s.to_lowercase().contains(needle);
    if row.queue_name.as_deref().is_some_and(hit) || row.customer.as_deref().is_some_and(hit) {
        return true;
    }
    model.conversation(&row.conversation_id).is_some_and(|c| {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SortKey {
    /// Oldest call first.
    Age,
    /// Longest in its state first, waiting legs (ringing, held…) before connected ones; a
    /// conference by its leg first in that order ([`in_state_key`]). Participants sort so too.
    InState,
    Queue,
    Customer,
    /// Most live parties first.
    Parties,
}

impl SortKey {
    pub(crate) fn label(self) -> &'static str {
        match self {
            SortKey::Age => "age",
            SortKey::InState => "in state",
            SortKey::Queue => "queue",
            SortKey::Customer => "customer",
            SortKey::Parties => "parties",
        }
    }

    /// The next column, in the conferences pane's order.
    pub(super) fn next(self) -> Self {
        match self {
            SortKey::Queue => SortKey::Customer,
            SortKey::Customer => SortKey::Parties,
            SortKey::Parties => SortKey::Age,
            SortKey::Age => SortKey::InState,
            SortKey::InState => SortKey::Queue,
        }
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
        SortKey::InState => {
            let key = |row: &ConferenceRow| row.longest_in_state.as_ref().map(|leg| leg.key());
            // A row without a live leg (none is listed) would go last.
            (key(a).is_none(), key(a), &a.conversation_id).cmp(&(
                key(b).is_none(),
                key(b),
                &b.conversation_id,
            ))
        }
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

/// Sorted by time in state, a call's participants are in that order; ties (and any other sort)
/// keep the join order [`LiveModel::participants`] gives.
pub(super) fn sort_participants(rows: &mut [ParticipantRow], sort: SortKey, reverse: bool) {
    if sort != SortKey::InState {
        return;
    }
    // Stable: equal keys keep the join order, reversed or not.
    rows.sort_by(|a, b| {
        let order = in_state_key(&a.state, a.held, a.state_since).cmp(&in_state_key(
            &b.state,
            b.held,
            b.state_since,
        ));
        if reverse { order.reverse() } else { order }
    });
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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, TimeZone, Utc};

    use super::*;
    use crate::wire::{CallConversation, CallMediaParticipant, ParticipantState as S, Timestamp};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 7, 0, 0).unwrap()
    }

    fn ago(secs: i64) -> Option<Timestamp> {
        Some(Timestamp(t0() - Duration::seconds(secs)))
    }

    /// A leg that joined `joined` seconds before t0 and has been in its state for `in_state`.
    fn leg(id: &str, purpose: &str, state: S, joined: i64, in_state: i64) -> CallMediaParticipant {
        let mut leg = CallMediaParticipant::new(id, purpose, state.clone());
        leg.name = Some(id.to_string());
        leg.start_time = ago(joined);
        match state {
            S::Connected => leg.connected_time = ago(in_state),
            S::Alerting => leg.start_alerting_time = ago(in_state),
            _ => leg.end_time = ago(in_state),
        }
        leg
    }

    fn held(mut leg: CallMediaParticipant, in_state: i64) -> CallMediaParticipant {
        leg.held = Some(true);
        leg.start_hold_time = ago(in_state);
        leg
    }

    fn call(id: &str, participants: Vec<CallMediaParticipant>) -> CallConversation {
        CallConversation {
            id: id.into(),
            participants,
            ..Default::default()
        }
    }

    /// Three connected legs of `age` seconds, and `extra`.
    fn conference(id: &str, age: i64, extra: Vec<CallMediaParticipant>) -> CallConversation {
        let mut legs = vec![
            leg(&format!("{id}-c"), "customer", S::Connected, age, age),
            leg(&format!("{id}-a"), "agent", S::Connected, age, age),
            leg(&format!("{id}-b"), "agent", S::Connected, age, age),
        ];
        legs.extend(extra);
        call(id, legs)
    }

    fn model(calls: Vec<CallConversation>) -> LiveModel {
        let mut model = LiveModel::new();
        model.apply(Update::Snapshot(calls), t0());
        model
    }

    fn order(model: &LiveModel, sort: SortKey, reverse: bool) -> Vec<String> {
        let queues = QueuePicker::default();
        let mut cache = RowCache::default();
        cache.refresh(&RowQuery {
            model,
            filter: "",
            sort,
            reverse,
            queues: &queues,
            paused: false,
        });
        cache
            .rows()
            .iter()
            .map(|r| r.conversation_id.clone())
            .collect()
    }

    #[test]
    fn conferences_by_time_in_state_put_the_longest_waiting_leg_first() {
        let model = model(vec![
            // Connected for an hour: no one waits, so after every call where someone does.
            conference("settled", 3600, vec![]),
            conference(
                "held",
                600,
                vec![held(leg("h", "agent", S::Connected, 500, 500), 60)],
            ),
            conference("ring-3", 600, vec![leg("r3", "agent", S::Alerting, 3, 3)]),
            // Two calls ringing for as long: by conversation id.
            conference(
                "ring-10b",
                100,
                vec![leg("r10b", "agent", S::Alerting, 10, 10)],
            ),
            conference(
                "ring-10a",
                200,
                vec![leg("r10a", "agent", S::Alerting, 10, 10)],
            ),
            // A gone leg does not count: this call's own time is its connected legs'.
            conference("gone", 30, vec![leg("g", "ivr", S::Disconnected, 900, 900)]),
        ]);
        let forward = order(&model, SortKey::InState, false);
        assert_eq!(
            forward,
            ["held", "ring-10a", "ring-10b", "ring-3", "settled", "gone"]
        );
        let mut reversed = order(&model, SortKey::InState, true);
        reversed.reverse();
        assert_eq!(reversed, forward);
        // The row carries the leg that sorts it, for its column.
        let row = model
            .conferences()
            .into_iter()
            .find(|r| r.conversation_id == "held")
            .unwrap();
        let leg = row.longest_in_state.unwrap();
        assert!(leg.held);
        assert_eq!(leg.since, ago(60).map(|t| t.0));
    }

    #[test]
    fn participants_by_time_in_state_keep_the_join_order_for_ties() {
        let model = model(vec![call(
            "c",
            vec![
                leg("customer", "customer", S::Connected, 400, 400),
                leg("ana", "agent", S::Connected, 380, 200),
                held(leg("kim", "agent", S::Connected, 300, 300), 60),
                leg("zoe", "agent", S::Alerting, 5, 5),
                // Ringing as long as Zoe, joined earlier: before her.
                leg("ben", "agent", S::Alerting, 5, 5),
                leg("ivr", "ivr", S::Disconnected, 900, 890),
            ],
        )]);
        let names = |sort, reverse| -> Vec<String> {
            let mut rows = model.participants("c", t0());
            sort_participants(&mut rows, sort, reverse);
            rows.into_iter().map(|r| r.name).collect()
        };
        assert_eq!(
            names(SortKey::InState, false),
            ["kim", "ben", "zoe", "customer", "ana", "ivr"]
        );
        // Reversed: the ties keep their join order.
        assert_eq!(
            names(SortKey::InState, true),
            ["ivr", "ana", "customer", "ben", "zoe", "kim"]
        );
        // Any other sort: the join order.
        assert_eq!(
            names(SortKey::Age, false),
            ["ivr", "customer", "ana", "kim", "ben", "zoe"]
        );
    }
}

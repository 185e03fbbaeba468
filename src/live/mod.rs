//! The live model: what the console knows of the platform right now. Pure: every change comes in
//! as a value with the time it was seen, so it is tested without I/O or a clock.

mod history;
mod views;

pub use history::{Change, LegState, Origin, Timeline};
pub use views::{ConferenceRow, LegInState, ParticipantRow, is_conference};
pub(crate) use views::{in_state_key, ms_since};

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::wire::{CallConversation, ParticipantState, Queue};

/// One change to the model.
#[derive(Clone, Debug, PartialEq)]
pub enum Update {
    /// A full re-read (at start and after every reconnect, since events are not durable): it
    /// replaces every conversation the model holds.
    Snapshot(Vec<CallConversation>),
    /// One conversation as it now stands (a notification body or a single re-read).
    Conversation(CallConversation),
    /// The queues the console watches, for their names.
    Queues(Vec<Queue>),
    /// A re-read from the analytics query begins (at start and after every reconnect).
    ResyncStarted,
    /// One page of it: calls as analytics describes them, shown at once, marked as known only
    /// from analytics until an event (or a read of the call) makes them exact.
    ResyncPage(Vec<CallConversation>),
    /// Every page was read: calls neither on a page nor heard of from an event meanwhile
    /// (nor very lately, see [`ANALYTICS_LAG_GRACE_SECS`]) have ended and leave.
    ResyncDone,
    /// The re-sync failed part-way: rows stay as they are (nothing is dropped on a guess).
    ResyncAbandoned,
    /// Calls analytics shows now that a lagging re-sync missed: those not held yet (and not
    /// ended) are added, known only from analytics; the others are left as they are.
    Discovered(Vec<CallConversation>),
}

/// Analytics learns of a call a few seconds after it starts: a call an event told of this
/// recently is kept though the re-sync did not find it.
pub(crate) const ANALYTICS_LAG_GRACE_SECS: i64 = 15;
/// Ended calls are remembered this long, so a lagging analytics page cannot bring them back.
const ENDED_MEMORY_SECS: i64 = 600;

/// Timelines of ended calls kept (the newest ended), for a call view left open on one.
const ENDED_TIMELINES: usize = 256;

/// Where a row's data came from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Source {
    /// The analytics query only: approximate (state from segments, no hold/mute details).
    Analytics,
    /// An event or a read of the call, at this time: exact.
    Exact(DateTime<Utc>),
}

/// When each participant entered its current state, as far as the console has seen.
#[derive(Clone, Debug, PartialEq)]
struct StateSeen {
    state: ParticipantState,
    held: bool,
    since: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct LiveModel {
    conversations: HashMap<String, CallConversation>,
    /// Keyed by participant id (globally unique on the platform).
    state_seen: HashMap<String, StateSeen>,
    queue_names: HashMap<String, String>,
    source: HashMap<String, Source>,
    /// Calls an event showed ending, and when: a lagging analytics page cannot revive them.
    ended: HashMap<String, DateTime<Utc>>,
    /// While a re-sync runs: the calls it found or an event confirmed since it began.
    resync: Option<HashSet<String>>,
    /// The last re-read failed part-way: calls it did not reach are missing until an event
    /// tells of them, so an empty list does not mean there are none.
    unread: bool,
    /// Each call's timeline, kept while the call is held or remembered in `ended`.
    history: HashMap<String, Timeline>,
    /// Bumped on every change, so views can be cached until it moves.
    revision: u64,
}

impl LiveModel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one update seen at `now`.
    pub fn apply(&mut self, update: Update, now: DateTime<Utc>) {
        match update {
            Update::Snapshot(conversations) => {
                self.unread = false;
                let mut fresh = HashMap::with_capacity(conversations.len());
                for conversation in conversations {
                    fresh.insert(conversation.id.clone(), conversation);
                }
                self.conversations.retain(|id, _| fresh.contains_key(id));
                self.source.retain(|id, _| fresh.contains_key(id));
                for (_, conversation) in fresh {
                    self.upsert(conversation, Source::Exact(now), Origin::Read, now);
                }
                self.forget_stale_participants();
            }
            Update::Conversation(conversation) => {
                if let Some(found) = self.resync.as_mut() {
                    found.insert(conversation.id.clone());
                }
                self.upsert(conversation, Source::Exact(now), Origin::Event, now);
                self.forget_stale_participants_if_large();
            }
            Update::ResyncStarted => {
                self.resync = Some(HashSet::new());
                self.ended
                    .retain(|_, at| (now - *at).num_seconds() < ENDED_MEMORY_SECS);
            }
            Update::ResyncPage(conversations) => {
                for conversation in conversations {
                    if self.ended.contains_key(&conversation.id) {
                        continue;
                    }
                    // An event heard during this re-sync is newer than analytics.
                    let newer_known = self
                        .resync
                        .as_mut()
                        .is_some_and(|found| !found.insert(conversation.id.clone()));
                    if newer_known {
                        continue;
                    }
                    self.upsert(conversation, Source::Analytics, Origin::Analytics, now);
                }
                self.forget_stale_participants_if_large();
            }
            Update::Discovered(conversations) => {
                for conversation in conversations {
                    if !self.ended.contains_key(&conversation.id)
                        && !self.conversations.contains_key(&conversation.id)
                    {
                        self.upsert(conversation, Source::Analytics, Origin::Analytics, now);
                    }
                }
            }
            Update::ResyncDone => {
                self.unread = false;
                if let Some(found) = self.resync.take() {
                    let source = &self.source;
                    self.conversations.retain(|id, _| {
                        found.contains(id)
                            || matches!(source.get(id), Some(Source::Exact(at))
                                if (now - *at).num_seconds() < ANALYTICS_LAG_GRACE_SECS)
                    });
                    let conversations = &self.conversations;
                    self.source.retain(|id, _| conversations.contains_key(id));
                    self.forget_stale_participants();
                }
            }
            Update::ResyncAbandoned => {
                self.resync = None;
                self.unread = true;
            }
            Update::Queues(queues) => {
                for queue in queues {
                    let name = queue.name.unwrap_or_else(|| queue.id.clone());
                    self.queue_names.insert(queue.id, name);
                }
            }
        }
        self.revision += 1;
    }

    fn upsert(
        &mut self,
        conversation: CallConversation,
        source: Source,
        origin: Origin,
        now: DateTime<Utc>,
    ) {
        for participant in &conversation.participants {
            let held = participant.is_held();
            let seen = self.state_seen.get(&participant.id);
            let changed =
                seen.is_none_or(|seen| seen.state != participant.state || seen.held != held);
            if changed {
                // The platform sends no timestamp for the end of a hold: a leg taken off hold
                // has been in its state since it was seen so, not since it first connected.
                let unheld =
                    seen.is_some_and(|seen| seen.held && !held && seen.state == participant.state);
                let since = if unheld {
                    now
                } else {
                    state_start(participant).unwrap_or(now)
                };
                self.state_seen.insert(
                    participant.id.clone(),
                    StateSeen {
                        state: participant.state.clone(),
                        held,
                        since,
                    },
                );
            }
        }
        let state_seen = &self.state_seen;
        self.history
            .entry(conversation.id.clone())
            .or_default()
            .observe(&conversation.participants, origin, now, |id| {
                state_seen.get(id).map(|s| s.since)
            });
        // A call with no live leg has ended: it leaves the console.
        if conversation.live_participants().next().is_none() {
            self.conversations.remove(&conversation.id);
            self.source.remove(&conversation.id);
            if source != Source::Analytics {
                self.ended.insert(conversation.id.clone(), now);
                if self.ended.len() > 100_000 {
                    self.ended
                        .retain(|_, at| (now - *at).num_seconds() < ENDED_MEMORY_SECS);
                }
            }
        } else {
            self.source.insert(conversation.id.clone(), source);
            self.conversations
                .insert(conversation.id.clone(), conversation);
        }
    }

    fn forget_stale_participants_if_large(&mut self) {
        // Amortised clean-up: participants of ended calls are dropped once the map is far larger
        // than the calls held (a call has a handful of legs), so memory stays bounded over a long
        // session without a scan of every call on each update.
        if self.state_seen.len() > 16 * self.conversations.len() + 4096
            || self.history.len() > self.conversations.len() + 2 * ENDED_TIMELINES
        {
            self.forget_stale_participants();
        }
    }

    fn forget_stale_participants(&mut self) {
        let conversations = &self.conversations;
        let known: std::collections::HashSet<&str> = conversations
            .values()
            .flat_map(|c| c.participants.iter().map(|p| p.id.as_str()))
            .collect();
        self.state_seen.retain(|id, _| known.contains(id.as_str()));
        // Timelines follow their calls, and the latest ended calls the model remembers.
        let ended = &self.ended;
        self.history
            .retain(|id, _| conversations.contains_key(id) || ended.contains_key(id));
        let mut ended_timelines: Vec<(DateTime<Utc>, String)> = self
            .history
            .keys()
            .filter(|id| !conversations.contains_key(*id))
            .filter_map(|id| ended.get(id).map(|at| (*at, id.clone())))
            .collect();
        if ended_timelines.len() > ENDED_TIMELINES {
            ended_timelines.sort_unstable();
            let drop = ended_timelines.len() - ENDED_TIMELINES;
            for (_, id) in ended_timelines.into_iter().take(drop) {
                self.history.remove(&id);
            }
        }
    }

    pub(crate) fn revision(&self) -> u64 {
        self.revision
    }

    pub fn len(&self) -> usize {
        self.conversations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conversations.is_empty()
    }

    pub(crate) fn conversation(&self, id: &str) -> Option<&CallConversation> {
        self.conversations.get(id)
    }

    /// The row is known only from the analytics query (approximate); an event or a read of
    /// the call makes it exact.
    pub(crate) fn is_from_analytics(&self, conversation_id: &str) -> bool {
        self.source.get(conversation_id) == Some(&Source::Analytics)
    }

    /// Whether the last re-read of the active calls failed (see [`Update::ResyncAbandoned`]).
    pub(crate) fn calls_unread(&self) -> bool {
        self.unread
    }

    /// While a re-sync is under way.
    #[cfg(test)]
    pub(crate) fn is_resyncing(&self) -> bool {
        self.resync.is_some()
    }

    pub(crate) fn queue_name(&self, queue_id: &str) -> Option<&str> {
        self.queue_names.get(queue_id).map(String::as_str)
    }

    /// What the console saw happen in a call (also for a while after it ended).
    pub fn timeline(&self, conversation_id: &str) -> Option<&Timeline> {
        self.history.get(conversation_id)
    }

    /// When the participant entered its current state (and hold status).
    pub(crate) fn state_since(&self, participant_id: &str) -> Option<DateTime<Utc>> {
        self.state_seen.get(participant_id).map(|s| s.since)
    }
}

/// The platform's own timestamp for the start of the participant's current state, when it sends one.
fn state_start(p: &crate::wire::CallMediaParticipant) -> Option<DateTime<Utc>> {
    let t = if p.state.is_gone() {
        p.end_time
    } else if p.is_held() {
        p.start_hold_time
    } else if p.state == ParticipantState::Connected {
        p.connected_time
    } else if p.state == ParticipantState::Alerting {
        p.start_alerting_time.or(p.start_time)
    } else {
        None
    };
    t.map(|t| t.0)
}

#[cfg(test)]
mod tests;

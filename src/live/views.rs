//! Derived views of the live model: the rows the console and `confwatch list` show.

use chrono::{DateTime, Utc};

use super::LiveModel;
use crate::wire::{CallConversation, CallMediaParticipant, ParticipantState, Purpose};

/// One active conference.
#[derive(Clone, Debug, PartialEq)]
pub struct ConferenceRow {
    pub conversation_id: String,
    /// The queue the call is in now: after a transfer, the newest queue of a live leg (each
    /// agent and `acd` leg names the queue it served), not the first the call was in.
    pub queue_id: Option<String>,
    /// The queues of its live legs (several while agents of two queues are on it; empty when
    /// no live leg is in a queue): the console shows the call while any of them is shown.
    pub live_queue_ids: Vec<String>,
    pub queue_name: Option<String>,
    /// The customer's (or first external party's) name or address.
    pub customer: Option<String>,
    pub live_parties: usize,
    /// Earliest leg start: the call's age.
    pub started: Option<DateTime<Utc>>,
    /// The live leg first in the "time in state" order ([`in_state_key`]): the call's time in
    /// state is that leg's.
    pub longest_in_state: Option<LegInState>,
}

/// A leg's state, hold status and since when it has been in them (as far as the console saw).
#[derive(Clone, Debug, PartialEq)]
pub struct LegInState {
    pub(crate) state: ParticipantState,
    pub(crate) held: bool,
    pub(crate) since: Option<DateTime<Utc>>,
}

/// The "time in state" order, smallest first: legs that wait (ringing, held, dialing, any state
/// but connected) before connected ones, and gone legs last; within each, the longest in its
/// state first (unknown last). Waiting legs lead because they are what a supervisor scans for: a
/// conference's customer connected for an hour is no news, an agent ringing for 40 s is.
/// A timestamp, not a duration, so the order does not move as the clock does.
pub(crate) fn in_state_key(
    state: &ParticipantState,
    held: bool,
    since: Option<DateTime<Utc>>,
) -> (u8, bool, Option<DateTime<Utc>>) {
    let rank = match state {
        s if !s.is_live() => 2,
        ParticipantState::Connected if !held => 1,
        _ => 0,
    };
    (rank, since.is_none(), since)
}

impl LegInState {
    pub(crate) fn key(&self) -> (u8, bool, Option<DateTime<Utc>>) {
        in_state_key(&self.state, self.held, self.since)
    }
}

/// One participant of a conference.
#[derive(Clone, Debug, PartialEq)]
pub struct ParticipantRow {
    pub participant_id: String,
    pub name: String,
    pub(crate) purpose: String,
    pub(crate) state: ParticipantState,
    pub(crate) held: bool,
    pub(crate) muted: bool,
    pub(crate) user_id: Option<String>,
    /// How long the leg has been in its current state (and hold status).
    pub(crate) in_state_ms: u64,
    /// Since when (the "time in state" order's key, which does not move with the clock).
    pub(crate) state_since: Option<DateTime<Utc>>,
}

/// A conference is a call with three or more live legs, or one the platform marks with
/// `maxParticipants` (there is no "is conference" flag). The models describe that field as
/// set "if this is a conference conversation", so a plain two-party call should not carry it;
/// a conference down to two legs keeps it and stays listed (`crates/genesys-cloud-mock/docs/platform.md`).
pub fn is_conference(conversation: &CallConversation) -> bool {
    let live = conversation.live_participants().count();
    live >= 3 || (conversation.max_participants.is_some() && live >= 2)
}

impl LiveModel {
    /// Every active conference, unordered (the console sorts).
    pub fn conferences(&self) -> Vec<ConferenceRow> {
        self.conversations
            .values()
            .filter(|c| is_conference(c))
            .map(|c| self.conference_row(c))
            .collect()
    }

    pub(crate) fn conference_row(&self, conversation: &CallConversation) -> ConferenceRow {
        // One pass over the legs: this runs for every call on each full rebuild (10,000 rows
        // per analytics page of the first screen).
        let mut newest_queued: Option<(&str, (bool, Option<_>))> = None;
        let mut live_queue_ids: Vec<String> = Vec::new();
        let mut customer = None;
        let mut external = None;
        let mut live_parties = 0;
        let mut started: Option<DateTime<Utc>> = None;
        let mut waits_most: Option<(u8, &CallMediaParticipant)> = None;
        for p in &conversation.participants {
            let live = p.state.is_live();
            if let Some(id) = p.queue_id() {
                // Live legs first, newest first: a transfer's earlier queue comes after its new
                // one (the first of equals wins).
                let key = (live, p.start_time);
                if newest_queued.is_none_or(|(_, newest)| key > newest) {
                    newest_queued = Some((id, key));
                }
                if live && !live_queue_ids.iter().any(|known| known == id) {
                    live_queue_ids.push(id.to_string());
                }
            }
            match p.purpose() {
                Purpose::Customer if customer.is_none() => customer = Some(p),
                Purpose::External if external.is_none() => external = Some(p),
                _ => {}
            }
            if let Some(t) = p.start_time {
                started = Some(started.map_or(t.0, |s| s.min(t.0)));
            }
            if live {
                live_parties += 1;
                // The rank of the "time in state" order needs no lookup; only legs of the
                // best rank are looked up below.
                let rank = in_state_key(&p.state, p.is_held(), None).0;
                if waits_most.is_none_or(|(best, _)| rank < best) {
                    waits_most = Some((rank, p));
                }
            }
        }
        let longest_in_state = waits_most.and_then(|(rank, _)| {
            conversation
                .live_participants()
                .filter(|p| in_state_key(&p.state, p.is_held(), None).0 == rank)
                .map(|p| LegInState {
                    state: p.state.clone(),
                    held: p.is_held(),
                    since: self.state_since(&p.id),
                })
                .min_by_key(LegInState::key)
        });
        let queue_id = newest_queued.map(|(id, _)| id.to_string());
        ConferenceRow {
            conversation_id: conversation.id.clone(),
            queue_name: queue_id
                .as_deref()
                .and_then(|id| self.queue_name(id))
                .map(str::to_string),
            queue_id,
            live_queue_ids,
            customer: customer
                .or(external)
                .and_then(CallMediaParticipant::display_name),
            live_parties,
            started,
            longest_in_state,
        }
    }

    /// The participants of one conversation in a stable order: by join time (a leg without
    /// one last), then purpose (customer, agents, others), then name. Never by id: ids differ
    /// from call to call, so the same row must not hold a different person each time.
    pub fn participants(&self, conversation_id: &str, now: DateTime<Utc>) -> Vec<ParticipantRow> {
        let Some(conversation) = self.conversations.get(conversation_id) else {
            return Vec::new();
        };
        let mut legs: Vec<(&CallMediaParticipant, String)> = conversation
            .participants
            .iter()
            .map(|p| (p, p.display_name().unwrap_or_default()))
            .collect();
        // Stable: legs equal in all three keep the platform's order.
        legs.sort_by(|(a, a_name), (b, b_name)| {
            (
                a.start_time.is_none(),
                a.start_time,
                purpose_rank(&a.purpose()),
                a_name,
            )
                .cmp(&(
                    b.start_time.is_none(),
                    b.start_time,
                    purpose_rank(&b.purpose()),
                    b_name,
                ))
        });
        legs.into_iter()
            .map(|(p, name)| {
                let state_since = self.state_since(&p.id);
                ParticipantRow {
                    participant_id: p.id.clone(),
                    name,
                    purpose: p.purpose().to_string(),
                    state: p.state.clone(),
                    held: p.is_held(),
                    muted: p.is_muted(),
                    user_id: p.user_id().map(str::to_string),
                    in_state_ms: state_since.map_or(0, |since| ms_since(since, now)),
                    state_since,
                }
            })
            .collect()
    }
}

/// Milliseconds from `since` to `now` (none when the clock seems to run back).
pub(crate) fn ms_since(since: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    (now - since).num_milliseconds().max(0) as u64
}

fn purpose_rank(purpose: &Purpose) -> u8 {
    match purpose {
        p if p.is_customer_side() => 0,
        p if p.is_agent() => 1,
        Purpose::Acd | Purpose::Ivr => 3,
        _ => 2,
    }
}

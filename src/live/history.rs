//! What happened in each call since the console started: every participant's state changes with
//! their times, and what analytics or the first read said before. Pure, and bounded: at most
//! [`ENTRIES_PER_CALL`] entries a call (the oldest go first), kept while the call is held or
//! remembered as ended (see `LiveModel`), so a long session holds no more than its live calls'.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::wire::{CallMediaParticipant, ParticipantState};

/// A call's timeline keeps at most this many entries; a conference has a handful of legs, each
/// changing state a few times, so this holds a long call's whole story.
pub(crate) const ENTRIES_PER_CALL: usize = 100;

/// Where the console learned of a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The analytics query (approximate: before the console saw the call itself).
    Analytics,
    /// A full read of the calls (at start and after a reconnect).
    Read,
    /// A notification (or a single re-read of the call).
    Event,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Analytics => "analytics",
            Origin::Read => "read",
            Origin::Event => "event",
        }
    }
}

/// A leg's state as the timeline tells it.
#[derive(Clone, Debug, PartialEq)]
pub struct LegState {
    pub state: ParticipantState,
    pub held: bool,
    pub muted: bool,
}

impl LegState {
    pub(crate) fn of(p: &CallMediaParticipant) -> Self {
        LegState {
            state: p.state.clone(),
            held: p.is_held(),
            muted: p.is_muted(),
        }
    }

    /// `connected`, `connected, held`, `connected, held, muted`.
    pub fn words(&self) -> String {
        let mut words = self.state.as_str().to_string();
        if self.held {
            words.push_str(", held");
        }
        if self.muted {
            words.push_str(", muted");
        }
        words
    }
}

/// One change of one leg.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// When it happened: the platform's timestamp where it sends one, else when it was seen.
    pub at: DateTime<Utc>,
    pub participant_id: String,
    pub name: String,
    pub purpose: String,
    /// None the first time the console sees the leg.
    pub from: Option<LegState>,
    pub to: LegState,
    pub origin: Origin,
}

/// One call's timeline, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    changes: VecDeque<Change>,
}

impl Timeline {
    pub fn changes(&self) -> impl DoubleEndedIterator<Item = &Change> {
        self.changes.iter()
    }

    /// Notes every leg whose state differs from what the timeline last said of it. `since`
    /// is when the leg entered its state (and hold status); a change of mute alone has no
    /// platform time and is dated `now`.
    pub(crate) fn observe(
        &mut self,
        participants: &[CallMediaParticipant],
        origin: Origin,
        now: DateTime<Utc>,
        since: impl Fn(&str) -> Option<DateTime<Utc>>,
    ) {
        for p in participants {
            let now_state = LegState::of(p);
            let last = self
                .changes
                .iter()
                .rev()
                .find(|c| c.participant_id == p.id)
                .map(|c| &c.to);
            if last == Some(&now_state) {
                continue;
            }
            let mute_only = last
                .is_some_and(|last| last.state == now_state.state && last.held == now_state.held);
            let at = if mute_only {
                now
            } else {
                since(&p.id).unwrap_or(now)
            };
            self.changes.push_back(Change {
                at,
                participant_id: p.id.clone(),
                name: p.display_name().unwrap_or_default(),
                purpose: p.purpose().to_string(),
                from: last.cloned(),
                to: now_state,
                origin,
            });
            if self.changes.len() > ENTRIES_PER_CALL {
                self.changes.pop_front();
            }
        }
    }
}

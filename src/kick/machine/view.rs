//! The call as one kick job last saw it, and the leg it is to remove.

use std::time::Duration;

use crate::kick::safety;
use crate::wire::{CallConversation, CallMediaParticipant};

/// Who to remove: a participant id, or a user id (then the user's live leg).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wanted {
    Participant(String),
    User(String),
}

impl Wanted {
    /// The outcome's words when the call has no such leg.
    pub(super) fn missing_from(&self, conversation_id: &str) -> String {
        match self {
            Wanted::Participant(id) => {
                format!("participant {id} is not in conversation {conversation_id}")
            }
            Wanted::User(id) => format!("user {id} has no leg in conversation {conversation_id}"),
        }
    }
}

/// The newest view of the call (read or event), when it came, and the target's participant id.
#[derive(Clone, Debug, Default)]
pub(super) struct CallView {
    /// The participant id, once known (a user target is resolved by the first read).
    pub(super) target: Option<String>,
    /// The newest view of the call (read or event).
    pub(super) latest: Option<CallConversation>,
    /// When the latest view came.
    pub(super) at: Duration,
}

impl CallView {
    /// A view of nothing yet; a participant target is known from the start.
    pub(super) fn new(wanted: &Wanted) -> Self {
        let target = match wanted {
            Wanted::Participant(id) => Some(id.clone()),
            Wanted::User(_) => None,
        };
        CallView {
            target,
            ..CallView::default()
        }
    }

    /// Takes a view of the call (read or event). A read and an event can arrive out of order, so
    /// a leg seen gone stays gone: a participant never comes back once disconnected (the
    /// platform makes a new one), and an older view must not bring back a party whose presence
    /// the safety rule counts on.
    pub(super) fn absorb(&mut self, mut view: CallConversation, now: Duration) {
        if let Some(previous) = &self.latest {
            for leg in &mut view.participants {
                if let Some(seen) = previous.participant(&leg.id)
                    && seen.state.is_gone()
                    && !leg.state.is_gone()
                {
                    leg.state = seen.state.clone();
                }
            }
        }
        self.latest = Some(view);
        self.at = now;
    }

    /// The target's leg as last seen.
    pub(super) fn target_leg(&self) -> Option<&CallMediaParticipant> {
        let id = self.target.as_deref()?;
        self.latest.as_ref()?.participant(id)
    }

    /// Who stays on the call besides the target, in words; None when no other party keeps it.
    pub(super) fn who_stays(&self) -> Option<String> {
        let conversation = self.latest.as_ref()?;
        let others = conversation
            .live_participants()
            .filter(|p| Some(p.id.as_str()) != self.target.as_deref())
            .filter(|p| safety::keeps_the_call(p))
            .count();
        if others == 0 {
            return None;
        }
        Some(match self.target_leg() {
            Some(target) => safety::assess(conversation, target, &[]).who_stays(),
            None => format!("{others} other parties still connected"),
        })
    }

    /// Resolves a user target to the user's live leg (the same user may appear twice: an old
    /// terminated leg and a new one). Without a live leg, the newest leg (then: already gone).
    /// With two live legs there is no safe guess: the error names them.
    pub(super) fn resolve(&mut self, wanted: &Wanted, conversation_id: &str) -> Result<(), String> {
        if self.target.is_some() {
            return Ok(());
        }
        let (Wanted::User(user_id), Some(conversation)) = (wanted, &self.latest) else {
            return Ok(());
        };
        let legs: Vec<&CallMediaParticipant> = conversation
            .participants
            .iter()
            .filter(|p| p.user_id() == Some(user_id.as_str()))
            .collect();
        let live: Vec<String> = legs
            .iter()
            .filter(|p| p.state.is_live())
            .map(|p| format!("{} {}", p.id, p.state))
            .collect();
        if live.len() > 1 {
            return Err(format!(
                "user {user_id} has {} live legs in conversation {conversation_id} ({}); name the participant to remove",
                live.len(),
                live.join(", ")
            ));
        }
        let chosen = legs
            .iter()
            .rev()
            .find(|p| p.state.is_live())
            .or_else(|| legs.last());
        self.target = chosen.map(|p| p.id.clone());
        Ok(())
    }
}

//! The kick's one safety rule, in one place: the kick machine refuses a risky removal without
//! `--force`, and the console's dialog asks a second time for the same removals.

use crate::wire::{CallConversation, CallMediaParticipant};

/// Why removing a participant needs an explicit second yes (`--force`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Risk {
    /// The target is the customer or an external party.
    Customer,
    /// Fewer than two live legs would remain: the call would end for the others.
    LastOtherParty,
}

/// What removing `target` would do, as `conversation` now stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Assessment {
    /// Live legs that would stay.
    pub(crate) others_remaining: usize,
    pub(crate) risk: Option<Risk>,
}

pub(crate) fn assess(conversation: &CallConversation, target: &CallMediaParticipant) -> Assessment {
    let others_remaining = conversation
        .live_participants()
        .filter(|p| p.id != target.id)
        .count();
    let risk = if target.is_customer_side() {
        Some(Risk::Customer)
    } else if others_remaining < 2 {
        Some(Risk::LastOtherParty)
    } else {
        None
    };
    Assessment {
        others_remaining,
        risk,
    }
}

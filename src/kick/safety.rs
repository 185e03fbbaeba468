//! The kick's one safety rule, in one place: the kick machine refuses a risky removal without
//! `--force`, and the console's dialog asks a second time for the same removals.
//!
//! Only a connected leg (held or not) keeps a call going: a ringing, dialing or contacting leg
//! may never answer, so it does not count as staying. Other kicks already running on the same
//! call count as leaving, so two kicks judged from the same snapshot cannot both pass.

use crate::wire::{CallConversation, CallMediaParticipant, ParticipantState};

/// Why removing a participant needs an explicit second yes (`--force`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Risk {
    /// The target is the customer or an external party.
    Customer,
    /// Fewer than two connected (or held) legs would remain: the call would end for the others.
    LastOtherParty,
}

/// What removing `target` would do, as `conversation` now stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// Connected (or held) legs that would stay.
    pub connected_remaining: usize,
    /// Every other leg still on the call and not being removed, each with its state
    /// ("Casey (customer)", "Blair (ringing)"), in the call's order.
    pub staying: Vec<String>,
    pub risk: Option<Risk>,
}

impl Assessment {
    /// Who stays, in words: "Casey (customer) and Blair (ringing) stay", "nobody else stays".
    pub fn who_stays(&self) -> String {
        match self.staying.as_slice() {
            [] => "nobody else stays".to_string(),
            [one] => format!("{one} stays"),
            [rest @ .., last] => format!("{} and {last} stay", rest.join(", ")),
        }
    }
}

/// A leg another kick is removing, named by its participant id or its user's id.
fn is_leaving(leg: &CallMediaParticipant, leaving: &[&str]) -> bool {
    leaving
        .iter()
        .any(|id| *id == leg.id || Some(*id) == leg.user_id())
}

/// A leg that keeps the call going: connected, held or not.
pub(crate) fn keeps_the_call(leg: &CallMediaParticipant) -> bool {
    leg.state == ParticipantState::Connected
}

/// Assesses removing `target` from `conversation` while the legs in `leaving` (participant or
/// user ids of other kicks running on the same call) are being removed too.
pub fn assess(
    conversation: &CallConversation,
    target: &CallMediaParticipant,
    leaving: &[&str],
) -> Assessment {
    let others: Vec<&CallMediaParticipant> = conversation
        .live_participants()
        .filter(|p| p.id != target.id && !is_leaving(p, leaving))
        .collect();
    let connected_remaining = others.iter().filter(|p| keeps_the_call(p)).count();
    let risk = if target.is_customer_side() {
        Some(Risk::Customer)
    } else if connected_remaining < 2 {
        Some(Risk::LastOtherParty)
    } else {
        None
    };
    Assessment {
        connected_remaining,
        staying: others.iter().map(|p| describe_staying(p)).collect(),
        risk,
    }
}

/// "Casey (customer)", "Ava (agent, held)", "Blair (ringing)": a connected leg by its purpose,
/// any other by the state it is in.
fn describe_staying(leg: &CallMediaParticipant) -> String {
    let name = leg
        .display_name()
        .map(|n| crate::text::clean(&n).into_owned())
        .unwrap_or_else(|| format!("participant {}", leg.id));
    let how = match &leg.state {
        ParticipantState::Connected if leg.is_held() => format!("{}, held", leg.purpose()),
        ParticipantState::Connected => leg.purpose().to_string(),
        ParticipantState::Alerting | ParticipantState::Offering => "ringing".to_string(),
        other => other.as_str().to_string(),
    };
    format!("{name} ({how})")
}

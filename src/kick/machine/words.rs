//! The words a kick job's outcome and steps carry: why the safety rule refuses, who a party is,
//! what an error said.

use crate::kick::safety::{self, Risk};
use crate::platform::error::ApiError;
use crate::wire::{CallConversation, CallMediaParticipant};

/// Why the kick must not go ahead without `--force`, if it must not (the rule: `kick::safety`),
/// with `leaving` (other kicks on the call) counted as gone.
pub(super) fn safety_refusal(
    conversation: &CallConversation,
    target: &CallMediaParticipant,
    leaving: &[String],
) -> Option<String> {
    let leaving: Vec<&str> = leaving.iter().map(String::as_str).collect();
    let assessment = safety::assess(conversation, target, &leaving);
    match assessment.risk? {
        Risk::Customer => Some(format!(
            "{} is the {} party; removing them is refused without --force",
            describe(target),
            target.purpose()
        )),
        Risk::LastOtherParty => Some(format!(
            "removing {} would leave {} connected part{} ({}{}), ending the call for them; refused without --force",
            describe(target),
            assessment.connected_remaining,
            if assessment.connected_remaining == 1 {
                "y"
            } else {
                "ies"
            },
            assessment.who_stays(),
            if leaving.is_empty() {
                ""
            } else {
                "; another kick on this call is removing a party too"
            },
        )),
    }
}

/// A party as the outcome names it: by name when it has one.
pub(super) fn describe(p: &CallMediaParticipant) -> String {
    match p.display_name() {
        Some(name) => format!("{name} ({})", p.id),
        None => format!("participant {}", p.id),
    }
}

/// An error as a step quotes it: its status, if any, and message.
pub(super) fn short(error: &ApiError) -> String {
    match error.status {
        Some(status) => format!("{status} {}", error.message),
        None => error.message.clone(),
    }
}

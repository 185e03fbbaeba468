//! What a kick job reports while it runs: shown inline by the console, printed by
//! `confwatch kick` (readable lines or JSON lines), and written to the audit record.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::wire::{ParticipantState, Purpose};

/// The participant a kick removes, captured by id when the kick is asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub conversation_id: String,
    pub participant_id: String,
}

/// One progress report of one job. `at_ms` counts from the job's start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub target: Target,
    pub at_ms: u64,
    #[serde(flatten)]
    pub step: Step,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// The job began (or a second request joined it: `joined` true).
    Started {
        name: Option<String>,
        purpose: Option<Purpose>,
        joined: bool,
    },
    /// Waiting for the target's leg to settle, from live events; `state` is what it is now.
    Waiting {
        state: ParticipantState,
    },
    /// PATCH number `number` sent.
    Attempt {
        number: u32,
    },
    /// The platform's answer to attempt `number`.
    Answer {
        number: u32,
        status: u16,
        code: Option<String>,
        message: Option<String>,
        /// The answer's `ININ-Correlation-Id` (an error body's `contextId`): what the platform's
        /// support asks for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        correlation_id: Option<String>,
    },
    /// Backing off before the next try.
    Backoff {
        delay_ms: u64,
        reason: String,
        /// The platform is in trouble: the 5xx it answered, or 0 for no answer at all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trouble: Option<u16>,
    },
    /// 409, the platform's transition lock: the next attempt in `retry_in_ms`, timed from the
    /// lock's learned length (`learned`) or by the backoff.
    Locked {
        retry_in_ms: u64,
        learned: bool,
    },
    /// The `settled` strategy, the leg just seen settling: no PATCH goes into the lock that
    /// earlier kicks learned still holds; the first leaves in `wait_ms`, at its learned end.
    LockAhead {
        wait_ms: u64,
    },
    /// 429: nothing is sent until `retry_after_ms` has passed.
    RateLimited {
        retry_after_ms: u64,
    },
    /// Removal accepted; waiting to see the leg disconnected and the others still there.
    Verifying,
    /// The call could not be claimed (`kick::claims`): the kick goes on, but another confwatch
    /// kicking on the same call would not see this one, nor this one it.
    Unprotected {
        reason: String,
    },
    Finished(Outcome),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Seen disconnected, the others still connected.
    Removed,
    /// The target had already left; nothing was sent.
    AlreadyGone,
    /// A safety rule refused it (customer, last other party) and it was not forced.
    Refused,
    /// The leg never settled, or the attempts or time ran out.
    TimedOut,
    Failed,
    /// The supervisor cancelled it.
    Cancelled,
    /// A removal was sent but not seen done before the deadline (or its answer was lost): it
    /// may have happened.
    Unknown,
    /// A signal (SIGINT, SIGTERM, SIGHUP) ended the process during the kick.
    Interrupted,
}

impl OutcomeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Removed => "removed",
            Self::AlreadyGone => "already_gone",
            Self::Refused => "refused",
            Self::TimedOut => "timed_out",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Unknown => "unknown",
            Self::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub outcome: OutcomeKind,
    pub attempts: u32,
    pub requests: u32,
    pub elapsed_ms: u64,
    pub message: String,
    /// The HTTP status of a final platform error (403 means a permission is missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A line of this kick's audit record could not be written (after the platform accepted
    /// the removal, or before anything was sent): the console keeps a banner up until dismissed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audit_incomplete: bool,
}

/// A process whose kick a signal interrupted exits 128 + the signal's number (`confwatch kick`
/// and the console alike; the README's exit-code table).
pub(crate) fn interrupted_exit_code(signal: &str) -> i32 {
    match signal {
        "SIGHUP" => 129,
        "SIGTERM" => 143,
        _ => 130,
    }
}

/// The lock's wait in a supervisor's words: `locked by the platform, retry in 380 ms (learned)`.
pub(crate) fn locked_words(retry_in_ms: u64, learned: bool) -> String {
    format!(
        "locked by the platform, retry in {retry_in_ms} ms ({})",
        if learned { "learned" } else { "backoff" }
    )
}

/// The words of a wait for the lock's learned end before the first PATCH (`Step::LockAhead`).
pub(crate) fn lock_ahead_words(wait_ms: u64) -> String {
    format!("settled; PATCH in {wait_ms} ms, when the lock learned from earlier kicks ends")
}

/// A kick without its claim on the call, in a supervisor's words.
pub(crate) fn unprotected_words(reason: &str) -> String {
    format!("not protected against another confwatch kicking on this call: {reason}")
}

/// One progress step as a readable line: what `confwatch kick` prints and the console's job view
/// lists.
pub(crate) fn describe_step(step: &Step) -> String {
    match step {
        Step::Started {
            name,
            purpose,
            joined,
        } => format!(
            "{} {} ({})",
            if *joined {
                "joined the kick of"
            } else {
                "target:"
            },
            name.as_deref().unwrap_or("unnamed participant"),
            purpose.as_ref().map_or("no purpose", Purpose::as_str)
        ),
        Step::Waiting { state } => format!("waiting: leg {state}, removing once it settles"),
        Step::Attempt { number } => format!("attempt {number}: PATCH state=disconnected"),
        Step::Answer {
            number,
            status,
            code,
            message,
            ..
        } => {
            let mut line = format!("attempt {number}: {status}");
            if let Some(code) = code {
                line.push_str(&format!(" {code}"));
            }
            if let Some(message) = message {
                line.push_str(&format!(" ({message})"));
            }
            line
        }
        Step::Backoff {
            delay_ms, reason, ..
        } => format!("backing off {delay_ms} ms: {reason}"),
        Step::Locked {
            retry_in_ms,
            learned,
        } => locked_words(*retry_in_ms, *learned),
        Step::LockAhead { wait_ms } => lock_ahead_words(*wait_ms),
        Step::RateLimited { retry_after_ms } => format!(
            "rate limited: nothing sent for {:.1} s (Retry-After)",
            *retry_after_ms as f64 / 1000.0
        ),
        Step::Verifying => "accepted; verifying the leg is gone and the others stay".into(),
        Step::Unprotected { reason } => unprotected_words(reason),
        Step::Finished(o) => format!(
            "{}: {} ({} attempts, {} requests, {:.1} s)",
            o.outcome,
            o.message,
            o.attempts,
            o.requests,
            o.elapsed_ms as f64 / 1000.0
        ),
    }
}

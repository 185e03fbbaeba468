//! Waiting for the target's leg to settle before a PATCH (the `settled` strategy, or after a 409).

use std::time::Duration;

use crate::wire::ParticipantState;

/// The wait for a settled leg: when it began (kept across re-reads, ended by a PATCH) and the
/// state last reported, so a wait is reported once per state.
#[derive(Clone, Debug, Default)]
pub(super) struct SettleWait {
    since: Option<Duration>,
    reported: Option<ParticipantState>,
}

impl SettleWait {
    /// The leg is not settled at `now`: when this wait began.
    pub(super) fn begin(&mut self, now: Duration) -> Duration {
        *self.since.get_or_insert(now)
    }

    /// Whether `state` is new to this wait (then to be reported).
    pub(super) fn report(&mut self, state: &ParticipantState) -> bool {
        if self.reported.as_ref() == Some(state) {
            return false;
        }
        self.reported = Some(state.clone());
        true
    }

    /// The leg is settled: a later wait reports its state again.
    pub(super) fn settled(&mut self) {
        self.reported = None;
    }

    /// A PATCH left: a later wait is a new one.
    pub(super) fn patch_sent(&mut self) {
        self.since = None;
    }
}

/// A leg the platform lets go of without a 409: connected (held or not).
pub(super) fn is_settled(state: &ParticipantState) -> bool {
    matches!(state, ParticipantState::Connected)
}

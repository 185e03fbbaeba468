//! Checking that a removal the platform accepted (or may have applied) took effect.

use std::time::Duration;

use crate::kick::policy;

/// The check after a 202 (or a PATCH whose answer was lost): when it began, when the next read
/// is due if no event shows the result, and how many reads it made. Kept across its reads.
#[derive(Clone, Debug, Default)]
pub(super) struct Verification {
    started: Duration,
    next: Duration,
    reads: u32,
}

impl Verification {
    /// The check begins at `now`; its first read is due at `next`.
    pub(super) fn begin(&mut self, now: Duration, next: Duration) {
        self.started = now;
        self.next = next;
    }

    /// A failed read is retried at `at`.
    pub(super) fn read_due(&mut self, at: Duration) {
        self.next = at;
    }

    /// When to wake: the next read, not before a 429's hold, and not after the check gives up.
    pub(super) fn wake_at(&self, not_before: Duration, timeout: Duration) -> Duration {
        self.next.max(not_before).min(self.started + timeout)
    }

    /// Whether the check has run for `timeout` by `now`.
    pub(super) fn expired(&self, now: Duration, timeout: Duration) -> bool {
        now >= self.started + timeout
    }

    /// A read goes at `now`: the one after it is due a [`pause`] later.
    pub(super) fn read_again(&mut self, now: Duration, grace: Duration, heard: bool) {
        self.reads += 1;
        self.next = now + pause(self.reads, grace, heard);
    }
}

/// The wait before verification read number `reads` (0: the first after the 202). With live
/// events (`heard`), a grace for the event and then a slow safety net; without, soon and often.
pub(super) fn pause(reads: u32, grace: Duration, heard: bool) -> Duration {
    if heard {
        grace
            .saturating_mul(1 << reads.min(4))
            .min(policy::VERIFY_CAP.max(grace))
    } else {
        policy::VERIFY_UNHEARD.ceiling(reads)
    }
}

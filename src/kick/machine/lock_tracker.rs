//! The transition lock as one kick job meets it (the learning across jobs is `kick::lock`).

use std::time::Duration;

use crate::kick::lock::{LockPlan, LockSample};
use crate::kick::policy::{self, LEARNED_TRIES, LOCK_FLOOR, MARGIN};
use crate::wire::ParticipantState;

/// The transition lock as one job meets it: the leg's last change (the lock runs from there),
/// the PATCH in flight, the refusals since, the retry scheduled, and what the job learned.
#[derive(Clone, Debug, Default)]
pub(super) struct LockTracker {
    /// A 409 was met: retries wait for the leg to settle and the lock to end.
    conflicted: bool,
    /// The target's state and hold as last seen, and when that last changed;
    /// `change_seen`: the change itself was seen, not just its result.
    leg_mark: Option<(ParticipantState, bool)>,
    changed_at: Duration,
    change_seen: bool,
    /// When the PATCH in flight (or the latest one) was sent.
    patch_sent_at: Duration,
    /// PATCHes refused since the leg's last change, and the latest one's offset from it.
    lock_refusals: u32,
    refused_after: Option<Duration>,
    /// The scheduled retry after a 409.
    retry_at: Option<Duration>,
    /// What this job learned about the lock (a 409, or a wait for its learned end, then a 202
    /// after a seen settle).
    sample: Option<LockSample>,
    /// The first PATCH waited for the lock's learned end (see [`Self::ahead`]): its answer
    /// teaches like one after a 409.
    waited_ahead: bool,
}

impl LockTracker {
    /// Whether a 409 was met: then an unsettled leg is waited for.
    pub(super) fn conflicted(&self) -> bool {
        self.conflicted
    }

    /// What this job learned, once a 202 followed a 409.
    pub(super) fn sample(&self) -> Option<LockSample> {
        self.sample
    }

    /// The target's (state, held) as now seen: a change restarts the lock's clock.
    pub(super) fn mark(&mut self, mark: (ParticipantState, bool), now: Duration) {
        if self.leg_mark.as_ref() == Some(&mark) {
            return;
        }
        self.change_seen = self.leg_mark.is_some();
        self.leg_mark = Some(mark);
        self.changed_at = now;
        self.lock_refusals = 0;
        self.refused_after = None;
        self.retry_at = None;
    }

    /// A PATCH leaves at `now`: the retry it was is spent.
    pub(super) fn patch_sent(&mut self, now: Duration) {
        self.patch_sent_at = now;
        self.retry_at = None;
    }

    /// A 409 to the PATCH in flight; counted against the lock when the leg was settled and the
    /// PATCH came after its change.
    pub(super) fn refused(&mut self, settled: bool) {
        self.conflicted = true;
        self.retry_at = None;
        if settled && self.patch_sent_at >= self.changed_at {
            self.lock_refusals += 1;
            let after = self.patch_sent_at - self.changed_at;
            self.refused_after = Some(self.refused_after.map_or(after, |r| r.max(after)));
        }
    }

    /// Without live events the backoff before the re-read was the wait: the read's leg,
    /// unchanged and settled, is PATCHed at once.
    pub(super) fn waited_out(&mut self) {
        self.retry_at = Some(Duration::ZERO);
    }

    /// A 202 to the PATCH in flight: a sample, if the lock was met after a seen change.
    pub(super) fn accepted(&mut self) {
        if (self.conflicted || self.waited_ahead)
            && self.change_seen
            && self.patch_sent_at >= self.changed_at
        {
            self.sample = Some(LockSample {
                refused_ms: self.refused_after.map(|d| d.as_millis() as u64),
                accepted_ms: (self.patch_sent_at - self.changed_at).as_millis() as u64,
            });
        }
    }

    /// When the retry after a 409 is due, scheduled on first asking (see [`Self::retry`]); with
    /// `Some(learned)` when it was scheduled just now, to be reported.
    pub(super) fn retry_at(
        &mut self,
        plan: Option<LockPlan>,
        now: Duration,
    ) -> (Duration, Option<bool>) {
        if let Some(at) = self.retry_at {
            return (at, None);
        }
        let (at, learned) = self.retry(plan, now);
        self.retry_at = Some(at);
        (at, Some(learned))
    }

    /// The `settled` strategy, before its first PATCH, the leg seen settling: the lock's
    /// learned end while still ahead (a PATCH before it would only be refused), scheduled on
    /// first asking; with `true` when it was scheduled just now, to be reported. None without a
    /// narrow plan ([`LockPlan::narrow`]), after a 409 (then [`Self::retry_at`]), or when the settle was not seen (the leg had
    /// settled before the job began: the lock is likely over).
    pub(super) fn ahead(
        &mut self,
        plan: Option<LockPlan>,
        now: Duration,
    ) -> Option<(Duration, bool)> {
        if self.conflicted || !self.change_seen {
            return None;
        }
        if let Some(at) = self.retry_at {
            return Some((at, false));
        }
        let at = self.changed_at + plan.filter(LockPlan::narrow)?.first;
        if at <= now {
            return None;
        }
        self.retry_at = Some(at);
        self.waited_ahead = true;
        Some((at, true))
    }

    /// When to retry a PATCH the lock refused, the leg now settled: the learned plan (its first
    /// time after the leg's change, then its fallback), then the schedule without history, all
    /// anchored on the settle. Returns the time and whether it was learned.
    fn retry(&self, plan: Option<LockPlan>, now: Duration) -> (Duration, bool) {
        if let Some(plan) = plan {
            // Refusals before the learned time (a PATCH at the settle, the `settled` strategy's)
            // say nothing the plan does not know: its first time still stands.
            let before_first = self.refused_after.is_none_or(|lo| lo < plan.first);
            let learned = match (self.lock_refusals, self.refused_after) {
                _ if before_first => Some(self.changed_at + plan.first),
                // Refused: the lock ends between the refusal and the fallback, known to pass;
                // halve that gap while it is wide (each try narrows what the next kick learns).
                (1..=LEARNED_TRIES, Some(lo)) => {
                    let hi = plan.fallback;
                    let next = if hi > lo + 2 * MARGIN {
                        lo + (hi - lo) / 2
                    } else {
                        hi
                    };
                    Some(self.changed_at + next)
                }
                _ => None,
            };
            if let Some(at) = learned.filter(|at| *at > now) {
                return (at, true);
            }
            if before_first {
                // The learned time has already passed (the leg settled a while ago): at once.
                return (now, true);
            }
        }
        (self.scheduled(now), false)
    }

    /// The schedule without history: the first of the settle's geometric points (see
    /// `policy::lock_offset`) at least the floor after the last PATCH, and not before now.
    fn scheduled(&self, now: Duration) -> Duration {
        let earliest = (self.patch_sent_at + LOCK_FLOOR).max(self.changed_at);
        let mut k = 0;
        let mut at = self.changed_at + policy::lock_offset(k);
        while at < earliest && k < 64 {
            k += 1;
            at = self.changed_at + policy::lock_offset(k);
        }
        at.max(earliest).max(now)
    }
}

//! When one kick job's next request may go: the backoff after a failure and a 429's hold.

use std::time::Duration;

use crate::kick::policy::Backoff;

/// The pace of the job's requests: the backoff's exponent and the time a 429 holds them back to.
#[derive(Clone, Debug, Default)]
pub(super) struct Pacing {
    /// Failed requests that are retried (409 without events, 5xx, timeouts): the backoff
    /// exponent, reset by a success.
    retries: u32,
    /// 429: no request before this.
    pub(super) not_before: Duration,
}

impl Pacing {
    /// No request before `at` (kept if a later hold is already set).
    pub(super) fn hold_until(&mut self, at: Duration) {
        self.not_before = self.not_before.max(at);
    }

    /// Whether a request at `now` must wait for a 429's hold.
    pub(super) fn held(&self, now: Duration) -> bool {
        now < self.not_before
    }

    /// The wait before the next retry on `backoff` (`jitter` in [0, 1)); counts the retry.
    pub(super) fn backoff(&mut self, backoff: Backoff, jitter: f64) -> Duration {
        let delay = backoff.delay(self.retries, jitter);
        self.retries += 1;
        delay
    }

    /// A request succeeded: the backoff starts again.
    pub(super) fn succeeded(&mut self) {
        self.retries = 0;
    }
}

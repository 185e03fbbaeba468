//! A platform in trouble (5xx, no answer) as one kick job meets it: the retry schedule's
//! exponent and the outcome's words.

use std::time::Duration;

use crate::kick::policy::Backoff;
use crate::platform::error::ApiError;

/// What a platform in trouble answered during one job: each kind of answer, how often, and
/// from when to when.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Trouble {
    /// Each kind in the order first seen: "503 Service Unavailable", "no answer (timed out)".
    counts: Vec<(String, u32)>,
    first_at: Option<Duration>,
    last_at: Duration,
    last_status: Option<u16>,
    /// Failures in a row since the platform last answered: the backoff's exponent.
    tries: u32,
}

impl Trouble {
    /// The platform answered: the next trouble starts the schedule again.
    pub(super) fn answered(&mut self) {
        self.tries = 0;
    }

    /// The status of the latest trouble that had one.
    pub(super) fn last_status(&self) -> Option<u16> {
        self.last_status
    }

    /// Notes `error` and gives the wait before the next try on `schedule`: `Retry-After` as a
    /// floor, `left` (the time to the deadline) as a ceiling.
    pub(super) fn delay(
        &mut self,
        error: &ApiError,
        now: Duration,
        jitter: f64,
        schedule: Backoff,
        left: Duration,
    ) -> Duration {
        self.note(error, now);
        let delay = schedule.delay(self.tries, jitter);
        self.tries += 1;
        delay
            .max(error.server_retry_after().unwrap_or_default())
            .min(left)
    }

    fn note(&mut self, error: &ApiError, now: Duration) {
        let kind = match error.status {
            Some(status) => match reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
            {
                Some(reason) => format!("{status} {reason}"),
                None => status.to_string(),
            },
            // "timed out: …", "could not connect: …", "connection failed: …"
            None => format!(
                "no answer ({})",
                error
                    .message
                    .split(':')
                    .next()
                    .unwrap_or("connection failed")
            ),
        };
        match self.counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((kind, 1)),
        }
        self.first_at.get_or_insert(now);
        self.last_at = now;
        if error.status.is_some() {
            self.last_status = error.status;
        }
    }

    /// "8 × 503 Service Unavailable, 1 × no answer (timed out) in 9.1 s".
    pub(super) fn words(&self) -> Option<String> {
        let first = self.first_at?;
        let kinds: Vec<String> = self
            .counts
            .iter()
            .map(|(kind, n)| format!("{n} × {kind}"))
            .collect();
        Some(format!(
            "{} in {:.1} s",
            kinds.join(", "),
            self.last_at.saturating_sub(first).as_secs_f64()
        ))
    }
}

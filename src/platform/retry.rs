//! Retrying a read: on 429 after exactly `Retry-After`, on transient failures after a short
//! backoff (or a 5xx's `Retry-After` when longer), a few times; and the one backoff (full
//! jitter) every retry uses: the kick's (`kick::policy`), the feed's and the socket's.

use std::time::Duration;

use super::error::{ApiError, FailureKind};

/// The notification socket's reconnects.
pub(crate) const SOCKET_RECONNECT: Backoff = Backoff {
    base: Duration::from_millis(400),
    cap: Duration::from_secs(10),
};
/// The feed's retries while offline.
pub(crate) const FEED_RETRY: Backoff = Backoff {
    base: Duration::from_secs(1),
    cap: Duration::from_secs(32),
};
/// A read outside a kick (`with_retry`): a few tries on this schedule.
pub(crate) const READ_RETRY: Backoff = Backoff {
    base: Duration::from_millis(200),
    cap: Duration::from_secs(5),
};

/// An exponential backoff's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) base: Duration,
    pub(crate) cap: Duration,
}

impl Backoff {
    /// The wait before retry number `tries` (0 for the first): full jitter, a uniform share
    /// (`jitter` in [0, 1)) of `base · 2^tries`, capped.
    pub(crate) fn delay(&self, tries: u32, jitter: f64) -> Duration {
        self.ceiling(tries).mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// The most [`Backoff::delay`] can be for `tries`.
    pub(crate) fn ceiling(&self, tries: u32) -> Duration {
        self.base
            .saturating_mul(1u32 << tries.min(20))
            .min(self.cap)
    }
}

/// A read has no deadline of its own: a wild `Retry-After` on a 5xx must not stall it.
const MAX_SERVER_WAIT: Duration = Duration::from_secs(30);

/// Retries a read on 429 (after exactly Retry-After) and on transient failures (short backoff,
/// or a 5xx's Retry-After when longer), a few times.
pub async fn with_retry<T, F, Fut>(mut request: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut tries = 0u32;
    loop {
        match request().await {
            Ok(value) => return Ok(value),
            Err(e) if tries < 4 && e.is_retryable() => {
                tries += 1;
                let delay = retry_delay(&e, tries);
                tracing::info!(error = %e, ?delay, "retrying a read");
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// 429: exactly Retry-After; else a short jittered backoff, or a 5xx's Retry-After when longer.
pub(crate) fn retry_delay(e: &ApiError, tries: u32) -> Duration {
    match e.kind {
        FailureKind::RateLimited { retry_after } => retry_after,
        // A 5xx's Retry-After is a floor under the backoff, as in the official SDKs.
        _ => READ_RETRY
            .delay(tries.saturating_sub(1), rand::random())
            .max(
                e.server_retry_after()
                    .unwrap_or_default()
                    .min(MAX_SERVER_WAIT),
            ),
    }
}

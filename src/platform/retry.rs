//! Retrying a read: on 429 after exactly `Retry-After`, on transient failures after a short
//! backoff (or a 5xx's `Retry-After` when longer), a few times.

use std::time::Duration;

use super::error::{ApiError, FailureKind};

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
        _ => crate::kick::policy::READ_RETRY
            .delay(tries.saturating_sub(1), rand::random())
            .max(
                e.server_retry_after()
                    .unwrap_or_default()
                    .min(MAX_SERVER_WAIT),
            ),
    }
}

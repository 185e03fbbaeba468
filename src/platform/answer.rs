//! Reading an answer: its body within a size cap, and an error answer or a request that got no
//! answer turned into an [`ApiError`]. Used by the request pipeline and the token requests.

use std::time::Duration;

use reqwest::header::HeaderMap;

use super::error::{ApiError, CorrelationId, FailureKind};
use crate::wire::ErrorBody;

/// The most bytes of a token answer (client credentials or sign-in) that are read: the real
/// one is well under 2 KB.
pub(crate) const MAX_TOKEN_ANSWER_BYTES: usize = 64 * 1024;

/// An answer's body as read: at most the cap; `cut` when more was sent (and left unread).
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    pub(crate) cut: bool,
    /// The cap it was read with (for the error message).
    pub(crate) limit: usize,
    /// The answer's `ININ-Correlation-Id`: what the platform's support asks for.
    pub(crate) correlation_id: Option<String>,
}

/// The header the platform sends on every answer (an error body's `contextId` repeats it).
const CORRELATION_HEADER: &str = "ININ-Correlation-Id";

/// An answer's correlation id, cleaned and cut (it reaches the screen and the audit).
pub(crate) fn correlation_id(headers: &HeaderMap) -> Option<String> {
    let id = headers.get(CORRELATION_HEADER)?.to_str().ok()?;
    Some(crate::text::clip(id, 80))
}

/// Reads `response`'s body, at most `limit` bytes: an endless body costs `limit` bytes of
/// memory, and the rest is never read (dropping the response closes the connection).
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Body, reqwest::Error> {
    let correlation_id = correlation_id(response.headers());
    let cut = |bytes| Body {
        bytes,
        cut: true,
        limit,
        correlation_id: correlation_id.clone(),
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Ok(cut(Vec::new()));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(cut(bytes));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body {
        bytes,
        cut: false,
        limit,
        correlation_id,
    })
}

/// A body cut at the cap cannot be read: the error says so.
pub(crate) fn too_large(endpoint: &str, limit: usize) -> ApiError {
    ApiError::new(
        FailureKind::Malformed,
        endpoint,
        format!("answer larger than {limit} bytes, not read further (a broken or hostile server?)"),
    )
}

/// A longer `Retry-After` is read as this (any job's deadline ends first); it keeps the time
/// arithmetic that follows from overflowing on a wild header.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// `Retry-After` in seconds (fractions allowed). The HTTP-date form is not used by the platform.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get("retry-after")?.to_str().ok()?.trim();
    let secs: f64 = text.parse().ok()?;
    (secs.is_finite() && secs >= 0.0)
        .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())))
}

/// The wait in a 429's message, `Retry the request in [N] seconds`, capped like the header.
fn retry_from_message(message: &str) -> Option<Duration> {
    let (_, rest) = message.split_once("Retry the request in [")?;
    let (number, _) = rest.split_once("] second")?;
    let secs: u64 = number.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// An error answer: the platform's `ErrorBody` when it sent one, else the status and a snippet.
pub fn error_from_answer(
    endpoint: &str,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> ApiError {
    // The platform's words reach the terminal and the log: cleaned of control bytes, and cut.
    let clean = |text: String| crate::text::clip(&text, 500);
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => {
            // A 429 without `Retry-After` still says how long in its message (the 2021-11
            // form); the header wins when both are there.
            let retry_after = retry_after.or_else(|| {
                (status == 429)
                    .then(|| error.message.as_deref().and_then(retry_from_message))
                    .flatten()
            });
            let mut answer = ApiError::from_status(
                endpoint,
                status,
                error.code.map(clean),
                error.message.map(clean),
                retry_after,
            );
            answer.correlation_id = error
                .context_id
                .map(|id| Box::new(CorrelationId(crate::text::clip(&id, 80))));
            answer
        }
        Err(_) => {
            let snippet = crate::text::clip(&String::from_utf8_lossy(body), 160);
            let message = if snippet.trim().is_empty() {
                None
            } else {
                Some(format!("HTTP {status}: {snippet}"))
            };
            ApiError::from_status(endpoint, status, None, message, retry_after)
        }
    }
}

/// A request that got no answer: timeouts and connection errors are retryable; a request that
/// could not even be built (an unusable URL) is final, as sending it again cannot help.
pub(crate) fn transport_error(endpoint: &str, error: &reqwest::Error) -> ApiError {
    // reqwest's own message is often only "builder error" or "error sending request": its
    // causes say what went wrong. (They name the URL, never a secret: the token is a header.)
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    let detail = crate::text::clip(&detail, 500);
    if error.is_builder() {
        return ApiError::new(
            FailureKind::Rejected,
            endpoint,
            format!("the request could not be built (a bad --base-url or token?): {detail}"),
        );
    }
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    ApiError::new(
        FailureKind::Unavailable,
        endpoint,
        format!("{what}: {detail}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_body_gives_its_context_id_as_the_correlation_id() {
        let body = br#"{"message":"locked","code":"conversation.participant.transition.lock","status":409,"contextId":"0f3c-ctx"}"#;
        let error = error_from_answer("PATCH participant", 409, body, None);
        assert_eq!(
            error.correlation_id.map(|id| id.0),
            Some("0f3c-ctx".to_string())
        );
        let plain = error_from_answer("PATCH participant", 502, b"bad gateway", None);
        assert_eq!(plain.correlation_id, None);
    }

    #[test]
    fn a_huge_retry_after_is_read_without_a_panic_and_still_waits() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "1e300".parse().unwrap());
        let wait = retry_after(&headers).expect("a wait");
        assert!(wait >= Duration::from_secs(3600), "{wait:?}");
        headers.insert("retry-after", "2.5".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(2500)));
    }

    /// The 2021-11 429: the wait in the message is read when there is no header; the header
    /// wins when there is.
    #[test]
    fn a_429_body_says_how_long_and_retry_after_still_wins() {
        let body = br#"{"message":"Rate limit exceeded. Retry the request in [12] seconds","code":"too.many.requests.retry.after","status":429,"details":[],"errors":[]}"#;
        let e = error_from_answer("GET /x", 429, body, None);
        assert_eq!(
            e.kind,
            FailureKind::RateLimited {
                retry_after: Duration::from_secs(12)
            }
        );
        let e = error_from_answer("GET /x", 429, body, Some(Duration::from_secs(3)));
        assert_eq!(
            e.kind,
            FailureKind::RateLimited {
                retry_after: Duration::from_secs(3)
            }
        );
        // A number past any sane wait is capped, never a panic.
        let huge = format!(
            r#"{{"message":"Retry the request in [{}] seconds","status":429}}"#,
            u64::MAX
        );
        let e = error_from_answer("GET /x", 429, huge.as_bytes(), None);
        assert!(
            matches!(e.kind, FailureKind::RateLimited { retry_after } if retry_after == MAX_RETRY_AFTER)
        );
    }

    /// A 503 with Retry-After: the wait reaches the caller (as a floor for its backoff), and the
    /// failure stays a server error, not a rate limit that would hold back every clone.
    #[test]
    fn a_503_answer_carries_its_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        let body =
            br#"{"message":"Service unavailable","code":"service.unavailable","status":503}"#;
        let e = error_from_answer("GET /x", 503, body, retry_after(&headers));
        assert_eq!(e.kind, FailureKind::Unavailable);
        assert_eq!(e.server_retry_after(), Some(Duration::from_secs(7)));
        let e = error_from_answer("GET /x", 502, b"Bad Gateway", retry_after(&headers));
        assert_eq!(e.server_retry_after(), Some(Duration::from_secs(7)));
    }
}

//! A failed platform request, sorted into what the caller can do about it. Plain data (no HTTP
//! types), so the kick machine takes it as an input and is tested without a network.

use std::fmt;
use std::time::Duration;

/// What kind of failure a request met.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// 409: the platform cannot do it now (the leg is changing state). Transient.
    Conflict,
    /// 429: wait exactly `retry_after` before the next request.
    RateLimited { retry_after: Duration },
    /// 5xx other than 501, timeouts and connection errors: transient.
    Unavailable,
    /// 401 after the token was refreshed once.
    Unauthorized,
    /// 403: a permission is missing.
    Forbidden,
    /// 404.
    NotFound,
    /// Any other 4xx (the platform's code and message say why).
    Rejected,
    /// The answer could not be read (malformed JSON, wrong shape).
    Malformed,
}

/// A failed request: the endpoint, the platform's status, code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub kind: FailureKind,
    /// `METHOD /path` (never a token or a query with secrets).
    pub endpoint: String,
    pub(crate) status: Option<u16>,
    pub(crate) code: Option<String>,
    pub message: String,
    /// `Retry-After` of a 5xx answer: the least wait before a retry (the official SDKs honour it
    /// on 503). A 429's wait is in `FailureKind::RateLimited` instead.
    pub(crate) retry_after: Option<Duration>,
    /// The error body's `contextId` (the answer's `ININ-Correlation-Id`): what the platform's
    /// support asks for.
    pub(crate) correlation_id: Option<Box<CorrelationId>>,
}

/// An answer's correlation id. Boxed in [`ApiError`] as a thin pointer: the error stays small
/// enough to return by value everywhere (clippy's `result_large_err`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CorrelationId(pub(crate) String);

/// What removing a participant needs. The ConversationsApi docs list "any of" these three for
/// the participant PATCH as a whole (it also sets wrap-up and recording); disconnecting is
/// most likely the first one's action (see `crates/genesys-cloud-mock/docs/platform.md`), so it is named first.
pub(crate) const DISCONNECT_PERMISSIONS: &str = "conversation:communication:disconnect (the docs accept any of it, conversation:participant:wrapup or conversation:call:record for the endpoint as a whole)";

impl ApiError {
    pub(crate) fn new(
        kind: FailureKind,
        endpoint: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            kind,
            endpoint: endpoint.into(),
            status: None,
            code: None,
            message: message.into(),
            retry_after: None,
            correlation_id: None,
        }
    }

    /// Sorts an HTTP error answer by status (and Retry-After for 429).
    pub(crate) fn from_status(
        endpoint: impl Into<String>,
        status: u16,
        code: Option<String>,
        message: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let kind = match status {
            409 => FailureKind::Conflict,
            // A 429 without Retry-After still waits: one second is the smallest unit the header has.
            429 => FailureKind::RateLimited {
                retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
            },
            401 => FailureKind::Unauthorized,
            403 => FailureKind::Forbidden,
            404 => FailureKind::NotFound,
            // 501 Not Implemented will not change on a retry: final, like a 4xx.
            501 => FailureKind::Rejected,
            500..=599 => FailureKind::Unavailable,
            400..=499 => FailureKind::Rejected,
            _ => FailureKind::Unavailable,
        };
        ApiError {
            kind,
            endpoint: endpoint.into(),
            status: Some(status),
            code,
            message: message.unwrap_or_else(|| format!("HTTP {status}")),
            retry_after: if (500..600).contains(&status) {
                retry_after
            } else {
                None
            },
            correlation_id: None,
        }
    }

    /// Worth trying again later (after a backoff or Retry-After).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            FailureKind::Conflict | FailureKind::RateLimited { .. } | FailureKind::Unavailable
        )
    }

    /// The least wait before retrying a server error, when the platform named one.
    pub(crate) fn server_retry_after(&self) -> Option<Duration> {
        (self.kind == FailureKind::Unavailable)
            .then_some(self.retry_after)
            .flatten()
    }

    pub(crate) fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.endpoint)?;
        if let Some(status) = self.status {
            write!(f, "{status} ")?;
        }
        f.write_str(&self.message)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_sorted() {
        let e = |s| ApiError::from_status("GET /x", s, None, None, None).kind;
        assert_eq!(e(409), FailureKind::Conflict);
        assert_eq!(e(503), FailureKind::Unavailable);
        assert_eq!(e(403), FailureKind::Forbidden);
        assert_eq!(e(404), FailureKind::NotFound);
        assert_eq!(e(400), FailureKind::Rejected);
        assert_eq!(
            ApiError::from_status("GET /x", 429, None, None, Some(Duration::from_secs(3))).kind,
            FailureKind::RateLimited {
                retry_after: Duration::from_secs(3)
            }
        );
    }

    #[test]
    fn a_server_error_keeps_its_retry_after_and_stays_unavailable() {
        let e = ApiError::from_status("GET /x", 503, None, None, Some(Duration::from_secs(4)));
        assert_eq!(e.kind, FailureKind::Unavailable);
        assert_eq!(e.server_retry_after(), Some(Duration::from_secs(4)));
        let conflict =
            ApiError::from_status("GET /x", 409, None, None, Some(Duration::from_secs(4)));
        assert_eq!(conflict.server_retry_after(), None);
    }

    #[test]
    fn display_names_endpoint_status_and_code() {
        let e = ApiError::from_status(
            "PATCH /api/v2/conversations/calls/c/participants/p",
            403,
            Some("missing.any.permissions".into()),
            Some("Unable to perform the requested action".into()),
            None,
        );
        let text = e.to_string();
        assert!(text.contains("PATCH /api/v2/conversations/calls/c/participants/p"));
        assert!(text.contains("403"));
        assert!(text.contains("missing.any.permissions"));
    }
}

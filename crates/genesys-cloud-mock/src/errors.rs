//! Error answers in the platform's `ErrorBody` shape, always with a `contextId`.
//! Each platform behaviour simulated here has its source and certainty in `docs/platform.md`.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use genesys_cloud_models::ErrorBody;

#[derive(Debug)]
pub(super) struct ErrorReply {
    pub(crate) status: StatusCode,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
    pub(crate) params: BTreeMap<String, String>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
}

impl ErrorReply {
    pub(super) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ErrorReply {
        ErrorReply {
            status,
            code: Some(code.to_string()),
            message: message.into(),
            params: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    pub(super) fn bad_request(message: impl Into<String>) -> ErrorReply {
        ErrorReply::new(StatusCode::BAD_REQUEST, "bad.request", message)
    }

    pub(super) fn not_found(message: impl Into<String>) -> ErrorReply {
        ErrorReply::new(StatusCode::NOT_FOUND, "not.found", message)
    }

    pub(super) fn unsupported_media_type() -> ErrorReply {
        ErrorReply::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported.media.type",
            "Unsupported Media Type: the body must be application/json.",
        )
    }

    pub(super) fn unauthorized(code: &str, message: &str) -> ErrorReply {
        ErrorReply::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403 `missing.any.permissions` naming the permissions of which one is needed.
    pub(super) fn missing_any_permissions(permissions: &[&str]) -> ErrorReply {
        let list = permissions.join(", ");
        let mut error = ErrorReply::new(
            StatusCode::FORBIDDEN,
            "missing.any.permissions",
            format!(
                "Unable to perform the requested action. You must have at least one of the following permissions assigned: [{list}]"
            ),
        );
        error.params.insert("permissions".into(), list);
        error
    }

    /// The 409 of the field reports; the platform documents no code for it, so none is sent.
    pub(super) fn transition_lock() -> ErrorReply {
        ErrorReply {
            status: StatusCode::CONFLICT,
            code: None,
            message: "Participant cannot be removed at this time.".into(),
            params: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    pub(super) fn server_error(status: u16) -> ErrorReply {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let (code, message) = match status.as_u16() {
            500 => (
                "internal.server.error",
                "The server encountered an unexpected condition.",
            ),
            504 => ("request.timeout", "The request timed out."),
            _ => ("service.unavailable", "Service Unavailable"),
        };
        ErrorReply::new(status, code, message)
    }

    /// 429 with `Retry-After` in whole seconds.
    pub(super) fn too_many_requests(
        limit: u32,
        window_secs: u64,
        retry_after_secs: u64,
    ) -> ErrorReply {
        let mut error = ErrorReply::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too.many.requests",
            format!(
                "Rate limit exceeded the maximum [{limit}] requests within [{window_secs}] seconds"
            ),
        );
        error
            .headers
            .push((header::RETRY_AFTER, HeaderValue::from(retry_after_secs)));
        error
    }

    /// An error for a status alone (axum's own rejections and fallbacks); only the codes the
    /// mock already uses are sent, none is invented for the others.
    pub(super) fn for_status(status: StatusCode, message: impl Into<String>) -> ErrorReply {
        let code = match status {
            StatusCode::BAD_REQUEST => Some("bad.request"),
            StatusCode::NOT_FOUND => Some("not.found"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Some("unsupported.media.type"),
            StatusCode::INTERNAL_SERVER_ERROR => Some("internal.server.error"),
            StatusCode::SERVICE_UNAVAILABLE => Some("service.unavailable"),
            _ => None,
        };
        ErrorReply {
            status,
            code: code.map(str::to_string),
            message: message.into(),
            params: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    pub(super) fn body(&self) -> ErrorBody {
        ErrorBody {
            message: Some(self.message.clone()),
            code: self.code.clone(),
            status: Some(self.status.as_u16()),
            message_with_params: (!self.params.is_empty()).then(|| self.message.clone()),
            message_params: (!self.params.is_empty()).then(|| self.params.clone()),
            context_id: Some(uuid::Uuid::new_v4().to_string()),
            ..ErrorBody::default()
        }
    }
}

impl IntoResponse for ErrorReply {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// Request bodies larger than this are refused with 413 (the mock's requests are small JSON).
pub(super) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The body cap on every request, and every error answer in the `ErrorBody` shape: axum's own
/// rejections (path, query, body limit, WebSocket upgrade) and fallbacks answer in text or
/// with no body at all, which no platform client expects.
pub(super) fn with_platform_errors(router: Router) -> Router {
    router
        .layer(axum::middleware::map_response(as_error_body))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// An error answer that is not JSON becomes an `ErrorBody` with its text as the message. Pages
/// meant for a browser (the sign-in's authorize page) stay pages.
async fn as_error_body(response: Response) -> Response {
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let keep =
        content_type.starts_with("application/json") || content_type.starts_with("text/html");
    if !(status.is_client_error() || status.is_server_error()) || keep {
        return response;
    }
    let (parts, body) = response.into_parts();
    // axum's rejection texts are short; read a little and cut the rest.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let message = match text.trim() {
        "" => status
            .canonical_reason()
            .unwrap_or("The request failed.")
            .to_string(),
        text => untrusted_input::clip(text, 500),
    };
    let mut error = ErrorReply::for_status(status, message);
    error.headers = parts
        .headers
        .iter()
        .filter(|(name, _)| *name == header::RETRY_AFTER || *name == header::ALLOW)
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    error.into_response()
}

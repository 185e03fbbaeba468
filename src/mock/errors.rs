//! Error answers in the platform's `ErrorBody` shape, always with a `contextId`.
//! Each platform behaviour simulated here has its source and certainty in `docs/platform.md`.

use std::collections::BTreeMap;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::platform::models::ErrorBody;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Option<String>,
    pub message: String,
    pub params: BTreeMap<String, String>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: Some(code.to_string()),
            message: message.into(),
            params: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad.request", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not.found", message)
    }

    pub fn unsupported_media_type() -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported.media.type",
            "Unsupported Media Type: the body must be application/json.",
        )
    }

    pub fn unauthorized(code: &str, message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403 `missing.any.permissions` naming the permissions of which one is needed.
    pub fn missing_any_permissions(permissions: &[&str]) -> ApiError {
        let list = permissions.join(", ");
        let mut error = ApiError::new(
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
    pub fn transition_lock() -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            code: None,
            message: "Participant cannot be removed at this time.".into(),
            params: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    pub fn server_error(status: u16) -> ApiError {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let (code, message) = match status.as_u16() {
            500 => (
                "internal.server.error",
                "The server encountered an unexpected condition.",
            ),
            504 => ("request.timeout", "The request timed out."),
            _ => ("service.unavailable", "Service Unavailable"),
        };
        ApiError::new(status, code, message)
    }

    /// 429 with `Retry-After` in whole seconds.
    pub fn too_many_requests(limit: u32, window_secs: u64, retry_after_secs: u64) -> ApiError {
        let mut error = ApiError::new(
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

    pub fn body(&self) -> ErrorBody {
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

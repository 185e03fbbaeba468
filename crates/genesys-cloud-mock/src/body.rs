//! The JSON request body as an axum extractor, read as the platform reads it: only
//! `application/json` (else 415 `unsupported.media.type`), and a body that does not parse is 400.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::errors::ErrorReply;

/// The body read as `T`, or the refusal. The refusal is kept for the handler to return at its own
/// point (after its permission checks, in the order the handlers had); only a body over the size
/// limit is refused before the handler, as `Bytes` does.
pub(super) struct JsonBody<T>(pub Result<T, ErrorReply>);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = BytesRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        let is_json = essence.eq_ignore_ascii_case("application/json");
        let body = Bytes::from_request(request, state).await?;
        Ok(JsonBody(parse(is_json, &body)))
    }
}

fn parse<T: DeserializeOwned>(is_json: bool, body: &[u8]) -> Result<T, ErrorReply> {
    if !is_json {
        return Err(ErrorReply::unsupported_media_type());
    }
    serde_json::from_slice(body)
        .map_err(|e| ErrorReply::bad_request(format!("The request body could not be read: {e}")))
}

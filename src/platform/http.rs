//! The one request pipeline: base URL, bearer token (one refresh on 401), `ErrorBody` decoding,
//! `inin-ratelimit-*` headers into a budget, each failure sorted as retryable or final.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::TokenSource;
use super::error::{ApiError, FailureKind};
use super::models::ErrorBody;
use crate::config::ConnectionConfig;
use crate::live::RateBudget;

/// The platform client. Cheap to clone: every clone shares one connection pool, token and budget.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: ConnectionConfig,
    tokens: TokenSource,
    budget: Mutex<RateBudget>,
    /// REST requests sent (token requests excluded), for progress and benchmarks.
    requests: AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Each request gives up after this (then it is a retryable timeout).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

impl Client {
    pub fn new(config: ConnectionConfig) -> color_eyre::Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("confwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| color_eyre::eyre::eyre!("building the HTTP client: {e}"))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                config,
                tokens: TokenSource::new(),
                budget: Mutex::new(RateBudget::default()),
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// The last `inin-ratelimit-*` headers seen.
    pub fn rate_budget(&self) -> RateBudget {
        self.inner.budget.lock().map(|b| *b).unwrap_or_default()
    }

    /// The OAuth client id (for the audit record); None with a fixed access token.
    pub fn client_id(&self) -> Option<&str> {
        self.inner.config.client_id()
    }

    pub fn config(&self) -> &ConnectionConfig {
        &self.inner.config
    }

    /// REST requests sent so far by every clone of this client.
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let (endpoint, body) = self.send(Method::GET, path, None).await?;
        decode(&endpoint, &body)
    }

    pub async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            ApiError::new(
                FailureKind::Malformed,
                format!("{method} {path}"),
                e.to_string(),
            )
        })?;
        let (endpoint, answer) = self.send(method, path, Some(bytes)).await?;
        decode(&endpoint, &answer)
    }

    /// A request whose answer has no body (the participant PATCH answers 202, empty).
    pub async fn send_no_content<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            ApiError::new(
                FailureKind::Malformed,
                format!("{method} {path}"),
                e.to_string(),
            )
        })?;
        self.send(method, path, Some(bytes)).await.map(|_| ())
    }

    /// Sends one request (again once with a fresh token after a 401). Returns the endpoint name
    /// and the body of a 2xx answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(String, Vec<u8>), ApiError> {
        // Query strings stay out of error messages: only the path names the endpoint.
        let endpoint = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let mut refreshed = false;
        loop {
            let token = self
                .inner
                .tokens
                .token(&self.inner.http, &self.inner.config)
                .await?;
            let mut request = self
                .inner
                .http
                .request(
                    method.clone(),
                    format!("{}{path}", self.inner.config.api_base),
                )
                .bearer_auth(&token);
            if let Some(body) = &body {
                request = request
                    .header("Content-Type", "application/json")
                    .body(body.clone());
            }
            self.inner.requests.fetch_add(1, Ordering::Relaxed);
            let response = request
                .send()
                .await
                .map_err(|e| transport_error(&endpoint, &e))?;
            let status = response.status().as_u16();
            self.note_budget(response.headers());
            let retry_after = retry_after(response.headers());
            let answer = response
                .bytes()
                .await
                .map_err(|e| transport_error(&endpoint, &e))?;
            if (200..300).contains(&status) {
                return Ok((endpoint, answer.to_vec()));
            }
            if status == 401 && !refreshed && TokenSource::can_refresh(&self.inner.config) {
                tracing::info!(%endpoint, "401: refreshing the token once");
                self.inner.tokens.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            return Err(error_from_answer(&endpoint, status, &answer, retry_after));
        }
    }

    fn note_budget(&self, headers: &HeaderMap) {
        let read = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|v| v.max(0.0) as u32)
        };
        let (Some(count), Some(allowed)) =
            (read("inin-ratelimit-count"), read("inin-ratelimit-allowed"))
        else {
            return;
        };
        if let Ok(mut budget) = self.inner.budget.lock() {
            *budget = RateBudget {
                count,
                allowed,
                reset_secs: read("inin-ratelimit-reset").unwrap_or(0),
            };
        }
    }
}

fn decode<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            FailureKind::Malformed,
            endpoint,
            format!("malformed answer: {e}"),
        )
    })
}

/// `Retry-After` in seconds (fractions allowed). The HTTP-date form is not used by the platform.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get("retry-after")?.to_str().ok()?.trim();
    let secs: f64 = text.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// An error answer: the platform's `ErrorBody` when it sent one, else the status and a snippet.
pub fn error_from_answer(
    endpoint: &str,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> ApiError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(error) => {
            ApiError::from_status(endpoint, status, error.code, error.message, retry_after)
        }
        Err(_) => {
            let snippet: String = String::from_utf8_lossy(body)
                .chars()
                .filter(|c| !c.is_control())
                .take(160)
                .collect();
            let message = if snippet.trim().is_empty() {
                None
            } else {
                Some(format!("HTTP {status}: {snippet}"))
            };
            ApiError::from_status(endpoint, status, None, message, retry_after)
        }
    }
}

/// A request that got no answer: timeouts and connection errors are retryable.
pub fn transport_error(endpoint: &str, error: &reqwest::Error) -> ApiError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    // reqwest's message names the URL (no secrets: the token is in a header).
    ApiError::new(
        FailureKind::Unavailable,
        endpoint,
        format!("{what}: {error}"),
    )
}

//! The one request pipeline: base URL, bearer token (one refresh on 401), `ErrorBody` decoding,
//! a rate budget counted here (the platform no longer sends `inin-ratelimit-*` headers), each
//! failure sorted as retryable or final.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::answer::{Body, error_from_answer, read_body, retry_after, too_large, transport_error};
use super::auth::TokenSource;
use super::error::{ApiError, CorrelationId, FailureKind};
use crate::platform::connection::ConnectionConfig;

/// The platform client. Cheap to clone: every clone shares one connection pool, token and budget.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// A kick job's own count of the requests it sent (see `counted`).
    counter: Option<Arc<AtomicU64>>,
    /// Reads (the feed, `list`) leave a share of the budget to kicks; see [`Client::for_reads`].
    priority: Priority,
}

/// Who is asking. A kick's requests use the whole budget; reads stop short of it, so a kick
/// never waits behind a re-sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Priority {
    Kick,
    Read,
}

/// The platform's default limit for a client-credentials token (requests a minute).
pub(crate) const DEFAULT_RATE_LIMIT: u32 = 300;
/// The variable that sets the per-token budget (an org whose limit support raised).
pub(crate) const RATE_LIMIT_VAR: &str = "CONFWATCH_RATE_LIMIT";
/// Requests a minute `CONFWATCH_RATE_LIMIT` may name: at least one, and no more than the
/// platform's own ceiling for an org could plausibly be (a typo must not switch pacing off).
const RATE_LIMITS: std::ops::RangeInclusive<u32> = 1..=100_000;

/// A number from the variable `var`, `default` when it is unset; anything else (not a number,
/// out of `range`, `u64::MAX`) is an error naming the variable and what it accepts.
fn number_from_env<T>(
    var: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
    unit: &str,
) -> color_eyre::Result<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Ok(text) = std::env::var(var) else {
        return Ok(default);
    };
    text.trim()
        .parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            color_eyre::eyre::eyre!(
                "{var} must be a number of {unit} from {} to {} (got {:?})",
                range.start(),
                range.end(),
                crate::text::clip(&text, 40)
            )
        })
}

/// The share of the budget reads may use; the rest is held back for kicks.
const READ_SHARE: f64 = 0.8;
/// The platform counts requests per token over a minute.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Requests sent on this token in the last minute, counted by the client: the platform sends
/// no budget headers any more ("Removal of inin-ratelimit-* response headers"), only a 429 with
/// `Retry-After`, which always wins over this count.
#[derive(Debug)]
struct SentLog {
    limit: u32,
    sent: VecDeque<tokio::time::Instant>,
}

impl SentLog {
    fn forget_old(&mut self, now: tokio::time::Instant) {
        while self
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= RATE_WINDOW)
        {
            self.sent.pop_front();
        }
    }

    fn cap(&self, priority: Priority) -> usize {
        match priority {
            Priority::Kick => self.limit as usize,
            // At least one read a minute, even on a tiny limit.
            Priority::Read => ((self.limit as f64 * READ_SHARE) as usize).max(1),
        }
    }

    /// Counts a request now if `priority` may send one; otherwise says when it may.
    fn take(
        &mut self,
        priority: Priority,
        now: tokio::time::Instant,
    ) -> Result<(), tokio::time::Instant> {
        self.forget_old(now);
        let cap = self.cap(priority);
        if self.limit == 0 || self.sent.len() < cap {
            self.sent.push_back(now);
            return Ok(());
        }
        // Room comes back when enough of the oldest requests leave the window.
        let index = self.sent.len() - cap;
        Err(self.sent.get(index).map_or(now, |t| *t + RATE_WINDOW))
    }

    fn budget(&mut self, now: tokio::time::Instant) -> RateBudget {
        self.forget_old(now);
        RateBudget {
            count: self.sent.len() as u32,
            allowed: self.limit,
            reset_secs: self.sent.front().map_or(0, |t| {
                (*t + RATE_WINDOW)
                    .saturating_duration_since(now)
                    .as_secs_f64()
                    .ceil() as u32
            }),
        }
    }
}

struct Inner {
    http: reqwest::Client,
    config: ConnectionConfig,
    tokens: TokenSource,
    budget: Mutex<SentLog>,
    /// REST requests sent (token requests excluded), for progress and benchmarks.
    requests: AtomicU64,
    /// After a 429: no request before this. The platform limits per token, and every clone of
    /// the client (each kick job, the feed) shares the token, so they all hold back.
    held_until: Mutex<Option<tokio::time::Instant>>,
    /// The most bytes of one answer's body that are read (see [`DEFAULT_MAX_ANSWER_BYTES`]).
    max_answer_bytes: usize,
    /// The signed-in user (read once after sign-in), for the audit's `who`.
    identity: std::sync::OnceLock<super::identity::Identity>,
    /// Why the token no longer works: a login refused, or a 401 a refresh could not fix. Set by
    /// the failing request, cleared by the next one that succeeds.
    auth_failure: Mutex<Option<String>>,
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

/// The most bytes of one API answer that are read: the largest real answers (a page of 100
/// queues, an analytics page, a call with many legs) are tens of KB, so a body past this is a
/// broken or hostile peer (an endless body must not take all memory). The notification socket's
/// messages have the same cap. `CONFWATCH_MAX_ANSWER_BYTES` changes it.
pub(crate) const DEFAULT_MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// The variable that sets the answer cap (bytes, 64 KiB to 1 GiB).
pub(crate) const MAX_ANSWER_BYTES_VAR: &str = "CONFWATCH_MAX_ANSWER_BYTES";
const MIN_MAX_ANSWER_BYTES: usize = 64 * 1024;
/// A cap past this is no cap: the point is that an endless body cannot take all memory.
const MAX_MAX_ANSWER_BYTES: usize = 1024 * 1024 * 1024;

impl Client {
    pub fn new(config: ConnectionConfig) -> color_eyre::Result<Client> {
        let http = super::tls::http_builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("confwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| color_eyre::eyre::eyre!("building the HTTP client: {e}"))?;
        // The connection's own cap wins; else the environment's (read here only).
        let max_answer_bytes = match config.max_answer_bytes {
            Some(bytes) => bytes,
            None => number_from_env(
                MAX_ANSWER_BYTES_VAR,
                DEFAULT_MAX_ANSWER_BYTES,
                MIN_MAX_ANSWER_BYTES..=MAX_MAX_ANSWER_BYTES,
                "bytes",
            )?,
        };
        Ok(Client {
            counter: None,
            inner: Arc::new(Inner {
                http,
                config,
                tokens: TokenSource::new(),
                budget: Mutex::new(SentLog {
                    limit: number_from_env(
                        RATE_LIMIT_VAR,
                        DEFAULT_RATE_LIMIT,
                        RATE_LIMITS,
                        "requests a minute",
                    )?,
                    sent: VecDeque::new(),
                }),
                requests: AtomicU64::new(0),
                held_until: Mutex::new(None),
                max_answer_bytes,
                identity: std::sync::OnceLock::new(),
                auth_failure: Mutex::new(None),
            }),
            priority: Priority::Kick,
        })
    }

    pub(crate) fn max_answer_bytes(&self) -> usize {
        self.inner.max_answer_bytes
    }

    /// Sets the requests a minute this token may send (0: not counted). Shared by every clone.
    pub(crate) fn set_rate_limit(&self, per_minute: u32) {
        if let Ok(mut log) = self.inner.budget.lock() {
            log.limit = per_minute;
        }
    }

    /// A clone for background reads (the feed's snapshots and re-syncs, `list`): its requests
    /// wait while the budget is down to the share held back for kicks.
    pub fn for_reads(&self) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            counter: self.counter.clone(),
            priority: Priority::Read,
        }
    }

    /// The budget as counted by this client: requests of the last minute against the limit.
    pub(crate) fn rate_budget(&self) -> RateBudget {
        self.inner
            .budget
            .lock()
            .map(|mut log| log.budget(tokio::time::Instant::now()))
            .unwrap_or_default()
    }

    /// Waits until this request fits the budget, then counts it. A kick waits only when the
    /// whole limit is spent; a read also leaves the kicks' share alone.
    async fn take_budget(&self) {
        loop {
            let now = tokio::time::Instant::now();
            let taken = match self.inner.budget.lock() {
                Ok(mut log) => log.take(self.priority, now),
                Err(_) => Ok(()),
            };
            match taken {
                Ok(()) => return,
                Err(until) => tokio::time::sleep_until(until).await,
            }
        }
    }

    /// The OAuth client id (for the audit record); None with a fixed access token.
    pub(crate) fn client_id(&self) -> Option<&str> {
        self.inner.config.client_id()
    }

    /// The signed-in user: the stored session's, or one set after `GET /api/v2/users/me`.
    pub(crate) fn identity(&self) -> Option<&super::identity::Identity> {
        match &self.inner.config.credentials {
            crate::platform::connection::Credentials::User(session) => Some(&session.identity),
            _ => self.inner.identity.get(),
        }
    }

    /// Which org the kick's lock history belongs to: the signed-in user's org, else the API
    /// host and the OAuth client (a client belongs to one org), else the API host alone.
    pub(crate) fn lock_key(&self) -> String {
        if let Some(org) = self.identity().and_then(|i| i.org_id.as_deref()) {
            return format!("org {org}");
        }
        let host = url::Url::parse(&self.inner.config.api_base)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
            })
            .unwrap_or_default();
        match self.client_id() {
            Some(client) => format!("{host} client {client}"),
            None => host,
        }
    }

    /// Whether the token is one given as it is (`GENESYSCLOUD_ACCESS_TOKEN`): it may be a
    /// person's, whom `platform::users::learn_token_owner` finds out.
    pub(crate) fn has_fixed_token(&self) -> bool {
        matches!(
            self.inner.config.credentials,
            crate::platform::connection::Credentials::AccessToken(_)
        )
    }

    /// The fixed token's owner, once learnt (kept for the client's life).
    pub(crate) fn set_identity(&self, identity: super::identity::Identity) {
        let _ = self.inner.identity.set(identity);
    }

    /// The audit record's `who`: user, OS user and OAuth client id.
    pub(crate) fn who(&self) -> super::identity::Who {
        super::identity::Who::new(self.identity(), self.client_id())
    }

    /// When the `Retry-After` of the last 429 (seen by any clone) ends, if it has not yet.
    pub(crate) fn rate_limited_until(&self) -> Option<tokio::time::Instant> {
        let until = (*self.inner.held_until.lock().ok()?)?;
        (until > tokio::time::Instant::now()).then_some(until)
    }

    fn hold_until(&self, until: tokio::time::Instant) {
        if let Ok(mut held) = self.inner.held_until.lock() {
            *held = Some(held.map_or(until, |h| h.max(until)));
        }
    }

    /// A clone that also counts, in the returned counter, the requests sent through it (and its
    /// clones): a kick job's own count, exact while other users share the token.
    pub fn counted(&self) -> (Client, Arc<AtomicU64>) {
        let counter = Arc::new(AtomicU64::new(0));
        let client = Client {
            inner: Arc::clone(&self.inner),
            counter: Some(Arc::clone(&counter)),
            priority: self.priority,
        };
        (client, counter)
    }

    /// Fetches a token now unless one is cached, so that the next request leaves at once.
    pub(crate) async fn ensure_token(&self) -> Result<(), ApiError> {
        self.inner
            .tokens
            .token(&self.inner.http, &self.inner.config)
            .await
            .map(|_| ())
    }

    /// REST requests sent so far by every clone of this client.
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let (endpoint, answer) = self.send(Method::GET, path, None).await?;
        decode(&endpoint, &answer)
    }

    pub async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let bytes = encode_body(&method, path, body)?;
        let (endpoint, answer) = self.send(method, path, Some(bytes)).await?;
        decode(&endpoint, &answer)
    }

    /// `DELETE path`, no body sent, any 2xx answer taken as done.
    pub async fn delete(&self, path: &str) -> Result<(), ApiError> {
        self.send(Method::DELETE, path, None).await.map(|_| ())
    }

    /// A request whose answer has no body (the participant PATCH answers 202, empty): the
    /// answer's correlation id, for the kick's record.
    pub async fn send_no_content<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<Option<String>, ApiError> {
        let bytes = encode_body(&method, path, body)?;
        let (_, answer) = self.send(method, path, Some(bytes)).await?;
        Ok(answer.correlation_id)
    }

    /// Sends one request (again once with a fresh token after a 401). Returns the endpoint name
    /// and the body of a 2xx answer (cut at the answer cap: only a caller that reads it fails).
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(String, Body), ApiError> {
        // Query strings stay out of error messages: only the path names the endpoint.
        let endpoint = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let mut refreshed = false;
        loop {
            if let Some(until) = self.rate_limited_until() {
                // Not sent: the caller waits as for a 429 (what is left of its Retry-After).
                let left = until.saturating_duration_since(tokio::time::Instant::now());
                return Err(ApiError::new(
                    FailureKind::RateLimited { retry_after: left },
                    endpoint,
                    format!(
                        "not sent: an earlier 429 on this token asked to wait {} ms more",
                        left.as_millis()
                    ),
                ));
            }
            let token = match self
                .inner
                .tokens
                .token(&self.inner.http, &self.inner.config)
                .await
            {
                Ok(token) => token,
                Err(e) => return Err(self.note_auth(e)),
            };
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
            self.take_budget().await;
            self.inner.requests.fetch_add(1, Ordering::Relaxed);
            if let Some(counter) = &self.counter {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            let response = request
                .send()
                .await
                .map_err(|e| transport_error(&endpoint, &e))?;
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            let answer = read_body(response, self.max_answer_bytes())
                .await
                .map_err(|e| transport_error(&endpoint, &e))?;
            if (200..300).contains(&status) {
                if let Ok(mut failure) = self.inner.auth_failure.lock() {
                    *failure = None;
                }
                return Ok((endpoint, answer));
            }
            if status == 401 && !refreshed && TokenSource::can_refresh(&self.inner.config) {
                tracing::info!(%endpoint, "401: refreshing the token once");
                self.inner.tokens.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            let mut error = error_from_answer(&endpoint, status, &answer.bytes, retry_after);
            if error.correlation_id.is_none() {
                error.correlation_id = answer.correlation_id.map(|id| Box::new(CorrelationId(id)));
            }
            if let FailureKind::RateLimited { retry_after: wait } = error.kind {
                // `Retry-After`, else the body's "Retry the request in [N] seconds", else 1 s.
                self.hold_until(tokio::time::Instant::now() + wait);
            }
            return Err(self.note_auth(error));
        }
    }

    /// Keeps why the token no longer works (a final 401, a refused login) for `auth_problem`.
    fn note_auth(&self, error: ApiError) -> ApiError {
        if error.kind == FailureKind::Unauthorized
            && let Ok(mut failure) = self.inner.auth_failure.lock()
        {
            *failure = Some(error.message.clone());
        }
        error
    }

    /// Why requests cannot be sent as anyone now, if so: the last request's 401 that a refresh
    /// could not fix or a refused login, or a signed-in user's token past its end with no
    /// refresh token (known without a request: the console must not say `live` on it).
    pub fn auth_problem(&self) -> Option<String> {
        if let Some(failure) = self.inner.auth_failure.lock().ok().and_then(|f| f.clone()) {
            return Some(failure);
        }
        match &self.inner.config.credentials {
            super::connection::Credentials::User(session)
                if session.refresh_token.is_none()
                    && session.expires_at <= chrono::Utc::now().timestamp() =>
            {
                Some(super::auth::SIGN_IN_AGAIN.to_string())
            }
            _ => None,
        }
    }

    /// True when the client acts as a signed-in person (else as an OAuth client or a token).
    pub fn is_user(&self) -> bool {
        matches!(
            self.inner.config.credentials,
            super::connection::Credentials::User(_)
        )
    }
}

/// A request body as JSON; a body that cannot be encoded is a local fault, named by its request.
fn encode_body<B: Serialize>(method: &Method, path: &str, body: &B) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(body).map_err(|e| {
        ApiError::new(
            FailureKind::Malformed,
            format!("{method} {path}"),
            e.to_string(),
        )
    })
}

fn decode<T: DeserializeOwned>(endpoint: &str, body: &Body) -> Result<T, ApiError> {
    if body.cut {
        let mut error = too_large(endpoint, body.limit);
        error.message += &format!("; {MAX_ANSWER_BYTES_VAR} raises the cap");
        return Err(error);
    }
    serde_json::from_slice(&body.bytes).map_err(|e| {
        ApiError::new(
            FailureKind::Malformed,
            endpoint,
            format!("malformed answer: {e}"),
        )
    })
}

/// The rate budget as the client counts it (the platform sends no budget headers): requests
/// sent on the token in the last minute against the configured limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateBudget {
    /// Requests sent in the last 60 s.
    pub count: u32,
    /// Requests allowed in 60 s (0: not counted).
    pub allowed: u32,
    /// Seconds until the oldest counted request leaves the window.
    pub reset_secs: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A loopback server: `/limited` answers 429 (Retry-After 30), `/other` answers `{}`; each
    /// counts its hits.
    async fn server() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        use axum::routing::get;
        let limited = Arc::new(AtomicUsize::new(0));
        let other = Arc::new(AtomicUsize::new(0));
        let (l, o) = (Arc::clone(&limited), Arc::clone(&other));
        let app = axum::Router::new()
            .route(
                "/limited",
                get(move || async move {
                    l.fetch_add(1, Ordering::SeqCst);
                    (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "30")],
                        r#"{"message":"Rate limit exceeded","code":"too.many.requests","status":429}"#,
                    )
                }),
            )
            .route(
                "/other",
                get(move || async move {
                    o.fetch_add(1, Ordering::SeqCst);
                    "{}"
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, limited, other)
    }

    use crate::platform::fake::client;

    #[tokio::test]
    async fn a_429_holds_back_every_clone_of_the_client_until_retry_after_ends() {
        let (base, limited, other) = server().await;
        let kick_job = client(&base);
        let feed = kick_job.clone();
        let err = kick_job
            .get::<serde_json::Value>("/limited")
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind, FailureKind::RateLimited { retry_after } if retry_after == Duration::from_secs(30))
        );
        // Another job (or the feed) sharing the token: not sent, told to wait what is left.
        let held = feed.get::<serde_json::Value>("/other").await.unwrap_err();
        let FailureKind::RateLimited { retry_after } = held.kind else {
            panic!("expected a rate-limit hold, got {held:?}");
        };
        assert!(retry_after > Duration::from_secs(25) && retry_after <= Duration::from_secs(30));
        assert_eq!(
            other.load(Ordering::SeqCst),
            0,
            "a request went out during Retry-After"
        );
        assert_eq!(limited.load(Ordering::SeqCst), 1);
        assert!(feed.rate_limited_until().is_some());
    }

    /// Reads stop at 80 % of the budget; a kick still goes out at once, up to the whole limit;
    /// room comes back as the oldest requests leave the 60 s window.
    #[test]
    fn reads_leave_a_fifth_of_the_budget_to_kicks() {
        let t0 = tokio::time::Instant::now();
        let mut log = SentLog {
            limit: 10,
            sent: VecDeque::new(),
        };
        for n in 0..8 {
            assert_eq!(
                log.take(Priority::Read, t0 + Duration::from_secs(n)),
                Ok(())
            );
        }
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            log.take(Priority::Read, later),
            Err(t0 + RATE_WINDOW),
            "the ninth read waits for the first to leave the window"
        );
        assert_eq!(log.take(Priority::Kick, later), Ok(()));
        assert_eq!(log.take(Priority::Kick, later), Ok(()));
        assert!(
            log.take(Priority::Kick, later).is_err(),
            "the whole limit is spent"
        );
        let budget = log.budget(later);
        assert_eq!(
            (budget.count, budget.allowed, budget.reset_secs),
            (10, 10, 50)
        );
        // A minute on, two reads must leave before a read fits again (at 62 s).
        assert_eq!(
            log.take(Priority::Read, t0 + RATE_WINDOW),
            Err(t0 + Duration::from_secs(62))
        );
        assert_eq!(
            log.take(Priority::Read, t0 + Duration::from_secs(63)),
            Ok(())
        );
    }
}

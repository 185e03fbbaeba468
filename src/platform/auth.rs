//! Client-credentials token: fetched once, shared by every clone of the client, refreshed before it
//! expires and once more when the platform answers 401. Tokens live in memory only.

use std::time::{Duration, Instant};

use base64::Engine;
use tokio::sync::Mutex;

use super::error::{ApiError, FailureKind};
use super::signin::{self, Secret};
use super::token_store::{StoredSession, TokenStore};
use crate::platform::connection::{ConnectionConfig, Credentials};
use crate::wire::TokenResponse;

/// The longest token lifetime the platform grants (48 h).
const MAX_LIFETIME_SECS: u64 = 48 * 3600;

/// A token and when to stop using it.
struct Cached {
    token: String,
    refresh_at: Instant,
}

pub(crate) struct TokenSource {
    cached: Mutex<Option<Cached>>,
    /// A signed-in user's tokens as they stand (None until first used).
    user: Mutex<Option<UserTokens>>,
}

/// The user's access token (None once refused or expired) and refresh token, if the platform
/// gave one (for PKCE the official SDKs expect none).
struct UserTokens {
    access: Option<(String, Instant)>,
    refresh: Option<Secret>,
}

/// What the console and commands say when a user's sign-in can no longer be used.
pub const SIGN_IN_AGAIN: &str =
    "the sign-in has ended and cannot be refreshed: sign in again with `confwatch login`";

impl TokenSource {
    pub(crate) fn new() -> Self {
        TokenSource {
            cached: Mutex::new(None),
            user: Mutex::new(None),
        }
    }

    /// A signed-in user's token: the stored one while it lasts, then a refresh if a refresh
    /// token exists, else "sign in again" (no request is sent with a dead token).
    async fn user_token(
        &self,
        http: &reqwest::Client,
        config: &ConnectionConfig,
        session: &StoredSession,
    ) -> Result<String, ApiError> {
        let mut user = self.user.lock().await;
        let tokens = user.get_or_insert_with(|| {
            let left = session
                .expires_at
                .saturating_sub(chrono::Utc::now().timestamp());
            UserTokens {
                access: (left > 0).then(|| {
                    let left = Duration::from_secs((left as u64).min(MAX_LIFETIME_SECS));
                    (
                        session.access_token.expose().to_string(),
                        Instant::now() + left,
                    )
                }),
                refresh: session.refresh_token.clone(),
            }
        });
        if let Some((token, until)) = &tokens.access
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        tokens.access = None;
        let sign_in_again = || {
            ApiError::new(
                FailureKind::Unauthorized,
                "POST /oauth/token",
                SIGN_IN_AGAIN,
            )
        };
        let Some(refresh_token) = tokens.refresh.clone() else {
            return Err(sign_in_again());
        };
        let grant =
            match signin::refresh(http, &config.login_base, &session.client_id, &refresh_token)
                .await
            {
                Ok(grant) => grant,
                Err(e) => {
                    tracing::warn!("refreshing the user's token failed: {e}");
                    tokens.refresh = None;
                    return Err(sign_in_again());
                }
            };
        let lifetime = grant.expires_in.unwrap_or(3600).clamp(1, MAX_LIFETIME_SECS);
        tokens.access = Some((
            grant.access_token.expose().to_string(),
            Instant::now() + Duration::from_secs(lifetime),
        ));
        if grant.refresh_token.is_some() {
            tokens.refresh = grant.refresh_token.clone();
        }
        // Kept for the next run too (a failure to save only costs a sign-in later).
        let mut stored = session.clone();
        stored.access_token = grant.access_token.clone();
        stored.refresh_token = tokens.refresh.clone();
        stored.expires_at = chrono::Utc::now().timestamp() + lifetime as i64;
        if let Err(e) = refresh_store().save(&stored) {
            tracing::warn!("saving the refreshed token: {e:#}");
        }
        Ok(grant.access_token.expose().to_string())
    }

    /// A token to send now: the cached one, or a fresh one (one fetch at a time; others wait).
    pub(crate) async fn token(
        &self,
        http: &reqwest::Client,
        config: &ConnectionConfig,
    ) -> Result<String, ApiError> {
        let (client_id, secret) = match &config.credentials {
            Credentials::AccessToken(token) => return Ok(token.expose().to_string()),
            Credentials::User(session) => return self.user_token(http, config, session).await,
            Credentials::OAuthClient { client_id, secret } => (client_id, secret),
        };
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let answer = fetch(http, &config.login_base, client_id, secret.expose()).await?;
        // Refresh a little before expiry: a fifth of the lifetime, at most a minute early.
        // The platform's lifetimes run from 300 s to 48 h; a wilder number must not overflow.
        let lifetime = Duration::from_secs(answer.expires_in.clamp(1, MAX_LIFETIME_SECS));
        let margin = (lifetime / 5).min(Duration::from_secs(60));
        *cached = Some(Cached {
            token: answer.access_token.expose().to_string(),
            refresh_at: Instant::now() + lifetime - margin,
        });
        Ok(answer.access_token.expose().to_string())
    }

    /// The platform refused `token` (401): forget it so the next call fetches a new one.
    pub(crate) async fn invalidate(&self, token: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == token) {
            *cached = None;
        }
        let mut user = self.user.lock().await;
        if let Some(tokens) = user.as_mut()
            && tokens.access.as_ref().is_some_and(|(t, _)| t == token)
        {
            tokens.access = None;
        }
    }

    /// Whether a refresh can help (a fixed access token cannot be refreshed; a user's is
    /// refreshed if a refresh token exists, else the retry says "sign in again").
    pub(crate) fn can_refresh(config: &ConnectionConfig) -> bool {
        matches!(
            config.credentials,
            Credentials::OAuthClient { .. } | Credentials::User(_)
        )
    }
}

/// Where a refreshed token is kept: the user's store (a temporary one in unit tests).
fn refresh_store() -> TokenStore {
    if cfg!(test) {
        TokenStore::file_only(&std::env::temp_dir().join("confwatch-auth-tests"))
    } else {
        TokenStore::from_env()
    }
}

impl Default for TokenSource {
    fn default() -> Self {
        Self::new()
    }
}

async fn fetch(
    http: &reqwest::Client,
    login_base: &str,
    client_id: &str,
    secret: &str,
) -> Result<TokenResponse, ApiError> {
    const ENDPOINT: &str = "POST /oauth/token";
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let response = http
        .post(format!("{login_base}/oauth/token"))
        .header("Authorization", format!("Basic {basic}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .map_err(|e| super::answer::transport_error(ENDPOINT, &e))?;
    let status = response.status().as_u16();
    let body = super::answer::read_body(response, super::answer::MAX_TOKEN_ANSWER_BYTES)
        .await
        .map_err(|e| super::answer::transport_error(ENDPOINT, &e))?;
    if !(200..300).contains(&status) {
        let mut error = super::answer::error_from_answer(ENDPOINT, status, &body.bytes, None);
        if let Some(description) = oauth_error(&body.bytes) {
            error.message = description;
        }
        if status == 400 || status == 401 {
            // The login service answers a bad secret with 400/401: say so without echoing it.
            error.kind = FailureKind::Unauthorized;
            error.message = format!(
                "login refused for client id {client_id}: {} (check the client id and secret)",
                error.message
            );
        }
        return Err(error);
    }
    if body.cut {
        return Err(super::answer::too_large(ENDPOINT, body.limit));
    }
    serde_json::from_slice::<TokenResponse>(&body.bytes).map_err(|e| {
        ApiError::new(
            FailureKind::Malformed,
            ENDPOINT,
            format!("malformed token answer: {e}"),
        )
    })
}

/// The login host answers errors OAuth-style (RFC 6749: `error`, `error_description`), not in
/// the platform's `ErrorBody`: the description (or the code) to show, cleaned of control
/// characters and cut short.
fn oauth_error(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: Option<String>,
        error_description: Option<String>,
    }
    let answer: OAuthError = serde_json::from_slice(body).ok()?;
    let text = match (answer.error_description, answer.error) {
        (Some(description), Some(code)) => format!("{description} ({code})"),
        (Some(description), None) => description,
        (None, Some(code)) => code,
        (None, None) => return None,
    };
    Some(crate::text::clip(&text, 200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_login_hosts_oauth_error_is_shown() {
        let app = axum::Router::new().route(
            "/oauth/token",
            axum::routing::post(|| async {
                (
                    axum::http::StatusCode::UNAUTHORIZED,
                    axum::Json(serde_json::json!({
                        "error": "invalid_client",
                        "description": "client not found",
                        "error_description": "client not found\u{1b}[2J"
                    })),
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let config = ConnectionConfig::for_mock(&base, "id", "secret");
        let error = TokenSource::new()
            .token(&crate::platform::http_builder().build().unwrap(), &config)
            .await
            .unwrap_err();
        assert_eq!(error.kind, FailureKind::Unauthorized);
        assert!(
            error
                .message
                .contains("client not found[2J (invalid_client)"),
            "{}",
            error.message
        );
    }

    /// A login service that hands out a token with the given `expires_in`.
    async fn login_service(expires_in: u64) -> String {
        let app = axum::Router::new().route(
            "/oauth/token",
            axum::routing::post(move || async move {
                axum::Json(serde_json::json!({
                    "access_token": "t", "token_type": "bearer", "expires_in": expires_in
                }))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    #[tokio::test]
    async fn a_wild_token_lifetime_is_no_panic() {
        let base = login_service(u64::MAX).await;
        let config = ConnectionConfig::for_mock(&base, "id", "secret");
        let source = TokenSource::new();
        let http = crate::platform::http_builder().build().unwrap();
        assert_eq!(source.token(&http, &config).await.unwrap(), "t");
        // Cached: the second call sends nothing and answers the same.
        assert_eq!(source.token(&http, &config).await.unwrap(), "t");
    }

    /// A login service for refresh tokens: `good` is exchanged for a new token, anything else
    /// is refused as the OAuth error form says.
    async fn refresh_service() -> String {
        let app = axum::Router::new().route(
            "/oauth/token",
            axum::routing::post(|body: String| async move {
                if body.contains("grant_type=refresh_token") && body.contains("refresh_token=good") {
                    axum::Json(serde_json::json!({
                        "access_token": "fresh", "token_type": "bearer", "expires_in": 600,
                        "refresh_token": "good"
                    }))
                    .into_response()
                } else {
                    (
                        axum::http::StatusCode::BAD_REQUEST,
                        axum::Json(serde_json::json!({"error": "invalid_grant", "error_description": "expired"})),
                    )
                        .into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    fn user_config(base: &str, refresh: Option<&str>) -> ConnectionConfig {
        let session = StoredSession {
            profile: format!("t{}", uuid::Uuid::new_v4().simple()),
            client_id: "pkce".into(),
            api_base: base.into(),
            login_base: base.into(),
            access_token: Secret::new("old"),
            refresh_token: refresh.map(Secret::new),
            expires_at: 0,
            identity: Default::default(),
        };
        ConnectionConfig {
            api_base: base.into(),
            login_base: base.into(),
            credentials: Credentials::User(Box::new(session)),
            warnings: Vec::new(),
            max_answer_bytes: None,
        }
    }

    use axum::response::IntoResponse;

    #[tokio::test]
    async fn an_expired_user_token_is_refreshed_when_a_refresh_token_exists() {
        let base = refresh_service().await;
        let http = crate::platform::http_builder().build().unwrap();
        let source = TokenSource::new();
        let config = user_config(&base, Some("good"));
        assert_eq!(source.token(&http, &config).await.unwrap(), "fresh");
        // Refused later (401): refreshed again.
        source.invalidate("fresh").await;
        assert_eq!(source.token(&http, &config).await.unwrap(), "fresh");
    }

    #[tokio::test]
    async fn without_a_usable_refresh_token_it_says_sign_in_again() {
        let base = refresh_service().await;
        let http = crate::platform::http_builder().build().unwrap();
        for refresh in [None, Some("revoked")] {
            let source = TokenSource::new();
            let err = source
                .token(&http, &user_config(&base, refresh))
                .await
                .unwrap_err();
            assert_eq!(err.kind, FailureKind::Unauthorized);
            assert!(err.message.contains("sign in again"), "{err}");
            assert!(!format!("{err:?}").contains("revoked"));
        }
    }
}

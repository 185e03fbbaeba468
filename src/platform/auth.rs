//! Client-credentials token: fetched once, shared by every clone of the client, refreshed before it
//! expires and once more when the platform answers 401. Tokens live in memory only.

use std::time::{Duration, Instant};

use base64::Engine;
use tokio::sync::Mutex;

use super::error::{ApiError, FailureKind};
use super::models::TokenResponse;
use crate::config::{ConnectionConfig, Credentials};

/// The longest token lifetime the platform grants (48 h).
const MAX_LIFETIME_SECS: u64 = 48 * 3600;

/// A token and when to stop using it.
struct Cached {
    token: String,
    refresh_at: Instant,
}

pub struct TokenSource {
    cached: Mutex<Option<Cached>>,
}

impl TokenSource {
    pub fn new() -> Self {
        TokenSource {
            cached: Mutex::new(None),
        }
    }

    /// A token to send now: the cached one, or a fresh one (one fetch at a time; others wait).
    pub async fn token(
        &self,
        http: &reqwest::Client,
        config: &ConnectionConfig,
    ) -> Result<String, ApiError> {
        let (client_id, secret) = match &config.credentials {
            Credentials::AccessToken(token) => return Ok(token.clone()),
            Credentials::ClientCredentials { client_id, secret } => (client_id, secret),
        };
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let answer = fetch(http, &config.login_base, client_id, secret).await?;
        // Refresh a little before expiry: a fifth of the lifetime, at most a minute early.
        // The platform's lifetimes run from 300 s to 48 h; a wilder number must not overflow.
        let lifetime = Duration::from_secs(answer.expires_in.clamp(1, MAX_LIFETIME_SECS));
        let margin = (lifetime / 5).min(Duration::from_secs(60));
        *cached = Some(Cached {
            token: answer.access_token.clone(),
            refresh_at: Instant::now() + lifetime - margin,
        });
        Ok(answer.access_token)
    }

    /// The platform refused `token` (401): forget it so the next call fetches a new one.
    pub async fn invalidate(&self, token: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == token) {
            *cached = None;
        }
    }

    /// Whether a refresh can help (a fixed access token cannot be refreshed).
    pub fn can_refresh(config: &ConnectionConfig) -> bool {
        matches!(config.credentials, Credentials::ClientCredentials { .. })
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
        .map_err(|e| super::http::transport_error(ENDPOINT, &e))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| super::http::transport_error(ENDPOINT, &e))?;
    if !(200..300).contains(&status) {
        let mut error = super::http::error_from_answer(ENDPOINT, status, &body, None);
        if let Some(description) = oauth_error(&body) {
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
    serde_json::from_slice::<TokenResponse>(&body).map_err(|e| {
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
    Some(text.chars().filter(|c| !c.is_control()).take(200).collect())
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
            .token(&reqwest::Client::new(), &config)
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
        let http = reqwest::Client::new();
        assert_eq!(source.token(&http, &config).await.unwrap(), "t");
        // Cached: the second call sends nothing and answers the same.
        assert_eq!(source.token(&http, &config).await.unwrap(), "t");
    }
}

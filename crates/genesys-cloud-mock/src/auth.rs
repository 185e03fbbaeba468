//! OAuth clients, the tokens issued to them, bearer checks, permissions and the per-token
//! rate limit (fixed windows, 60 s unless the `rateLimitWindowSecs` fault says otherwise).
//! Every permission checked here has its source in `docs/platform.md`.

use genesys_cloud_models::Secret;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::errors::ErrorReply;

/// The permissions of which the participant PATCH needs any one (ConversationsApi docs list
/// them for the endpoint as a whole).
pub(super) const KICK_PERMISSIONS: &[&str] = &[
    "conversation:communication:disconnect",
    "conversation:participant:wrapup",
    "conversation:call:record",
];
/// `POST /api/v2/conversations/{id}/disconnect` needs this one (ConversationsApi docs).
pub(super) const DISCONNECT: &str = "conversation:communication:disconnect";
pub(super) const QUEUE_VIEW: &str = "routing:queue:view";
pub(super) const ANALYTICS_VIEW: &str = "analytics:conversationDetail:view";
/// `GET /api/v2/conversations/{id}` (ConversationsApi docs); `GET .../calls/{id}` needs none.
/// Also what the mock asks for the conversation topics (see `docs/platform.md`: the platform
/// names each topic's permissions in `GET /api/v2/notifications/availabletopics`).
pub(super) const COMMUNICATION_VIEW: &str = "conversation:communication:view";

#[derive(Clone, Debug)]
pub(super) struct OAuthClient {
    pub(crate) id: String,
    pub(crate) secret: Secret,
    pub(crate) permissions: Vec<String>,
}

impl OAuthClient {
    pub(super) fn has(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == "*" || p == permission)
    }

    pub(super) fn has_any(&self, permissions: &[&str]) -> bool {
        permissions.iter().any(|p| self.has(p))
    }
}

/// Who made a request (put into request extensions by the bearer check).
#[derive(Clone, Debug)]
pub(super) struct Caller {
    pub(crate) client: OAuthClient,
    /// The person signed in, for a token from the authorization-code grant.
    pub(crate) user: Option<super::users::User>,
    /// The bearer token it sent (a channel belongs to the token that made it).
    pub(crate) token: String,
}

impl Caller {
    pub(super) fn require_any(&self, permissions: &[&str]) -> Result<(), ErrorReply> {
        if self.client.has_any(permissions) {
            Ok(())
        } else {
            Err(ErrorReply::missing_any_permissions(permissions))
        }
    }
}

#[derive(Debug)]
struct Token {
    client_id: String,
    /// Set for a user's token (authorization code with PKCE).
    user_id: Option<String>,
    expires_at: Instant,
    window_start: Instant,
    window_count: u32,
}

/// Where a request stands in its token's window (the platform no longer sends these as headers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RateHeaders {
    pub(crate) count: u32,
    pub(crate) allowed: u32,
    pub(crate) reset_secs: u64,
}

#[derive(Default)]
pub(super) struct Auth {
    clients: Vec<OAuthClient>,
    tokens: HashMap<String, Token>,
    pub(crate) signin: super::users::Signin,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("clients", &self.clients)
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

fn same_secret(a: &str, b: &str) -> bool {
    // Compare every byte so the time taken does not tell how much matched.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `Retry-After`: whole seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000) as u64
}

impl Auth {
    pub(super) fn new(clients: Vec<OAuthClient>) -> Auth {
        Auth {
            clients,
            tokens: HashMap::new(),
            signin: Default::default(),
        }
    }

    pub(super) fn client(&self, id: &str) -> Option<&OAuthClient> {
        self.clients.iter().find(|c| c.id == id)
    }

    /// The client named by a `Basic` header, if its secret is right.
    pub(super) fn client_from_basic(
        &self,
        header: Option<&str>,
    ) -> Result<OAuthClient, ErrorReply> {
        let invalid = || ErrorReply::unauthorized("bad.credentials", "Invalid login credentials.");
        let encoded = header
            .and_then(|h| {
                h.strip_prefix("Basic ")
                    .or_else(|| h.strip_prefix("basic "))
            })
            .ok_or_else(invalid)?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| invalid())?;
        let text = String::from_utf8(decoded).map_err(|_| invalid())?;
        let (id, secret) = text.split_once(':').ok_or_else(invalid)?;
        let client = self.client(id).ok_or_else(invalid)?;
        if !same_secret(client.secret.expose(), secret) {
            return Err(invalid());
        }
        Ok(client.clone())
    }

    /// Issues a token for `client_id` living `lifetime`.
    pub(super) fn issue(&mut self, client_id: &str, lifetime: Duration, now: Instant) -> String {
        self.issue_token(client_id, None, lifetime, now)
    }

    /// Issues a token for a signed-in user of `client_id`.
    pub(super) fn issue_for_user(
        &mut self,
        client_id: &str,
        user_id: &str,
        lifetime: Duration,
        now: Instant,
    ) -> String {
        self.issue_token(client_id, Some(user_id.to_string()), lifetime, now)
    }

    fn issue_token(
        &mut self,
        client_id: &str,
        user_id: Option<String>,
        lifetime: Duration,
        now: Instant,
    ) -> String {
        self.tokens.retain(|_, t| t.expires_at > now);
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.tokens.insert(
            token.clone(),
            Token {
                client_id: client_id.to_string(),
                user_id,
                expires_at: now + lifetime,
                window_start: now,
                window_count: 0,
            },
        );
        token
    }

    /// Revokes a token (`DELETE /api/v2/tokens/me`, or the platform's `token_revoked`); its next
    /// use gets 401.
    pub(super) fn revoke(&mut self, token: &str) -> bool {
        self.tokens.remove(token).is_some()
    }

    /// The caller of a `Bearer` header; 401 when missing, unknown or expired.
    pub(super) fn caller(
        &self,
        header: Option<&str>,
        now: Instant,
    ) -> Result<(String, Caller), ErrorReply> {
        let token = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                ErrorReply::unauthorized(
                    "authentication.required",
                    "No authentication bearer token specified in authorization header.",
                )
            })?;
        let bad = || ErrorReply::unauthorized("bad.credentials", "Invalid login credentials.");
        let entry = self.tokens.get(token.trim()).ok_or_else(bad)?;
        if entry.expires_at <= now {
            return Err(bad());
        }
        let mut client = self.client(&entry.client_id).ok_or_else(bad)?.clone();
        let user = match &entry.user_id {
            Some(id) => {
                let user = self.signin.user(id).ok_or_else(bad)?.clone();
                // A user's token acts with the user's permissions, and the platform counts
                // channels per user and app: the owner key names both.
                client.permissions = user.permissions.clone();
                client.id = format!("{}/{}", client.id, user.id);
                Some(user)
            }
            None => None,
        };
        let token = token.trim().to_string();
        Ok((
            token.clone(),
            Caller {
                client,
                user,
                token,
            },
        ))
    }

    /// Counts one request against the token's fixed window of `window`; `None` when the limit
    /// is off.
    pub(super) fn admit(
        &mut self,
        token: &str,
        limit: u32,
        window: Duration,
        now: Instant,
    ) -> Result<Option<RateHeaders>, ErrorReply> {
        if limit == 0 {
            return Ok(None);
        }
        let Some(entry) = self.tokens.get_mut(token) else {
            return Ok(None);
        };
        if now.saturating_duration_since(entry.window_start) >= window {
            entry.window_start = now;
            entry.window_count = 0;
        }
        let reset = ceil_secs((entry.window_start + window).saturating_duration_since(now)).max(1);
        if entry.window_count >= limit {
            // `Retry-After` only: the platform stopped sending `inin-ratelimit-*` headers after
            // 2021-06-05 (announcement "Removal of inin-ratelimit-* response headers").
            return Err(ErrorReply::too_many_requests(
                limit,
                window.as_secs(),
                reset,
            ));
        }
        entry.window_count += 1;
        Ok(Some(RateHeaders {
            count: entry.window_count,
            allowed: limit,
            reset_secs: reset,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header of a refused request, as text.
    fn header(error: &ErrorReply, name: &str) -> Option<String> {
        error
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.to_str().unwrap().to_string())
    }

    fn auth() -> Auth {
        Auth::new(vec![OAuthClient {
            id: "c".into(),
            secret: "s".into(),
            permissions: vec!["*".into()],
        }])
    }

    #[test]
    fn basic_credentials_are_checked() {
        let auth = auth();
        let good = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("c:s")
        );
        let bad = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("c:x")
        );
        assert_eq!(auth.client_from_basic(Some(&good)).unwrap().id, "c");
        assert_eq!(auth.client_from_basic(Some(&bad)).unwrap_err().status, 401);
        assert_eq!(auth.client_from_basic(None).unwrap_err().status, 401);
        assert_eq!(
            auth.client_from_basic(Some("Basic !!!"))
                .unwrap_err()
                .status,
            401
        );
    }

    #[test]
    fn tokens_expire() {
        let mut auth = auth();
        let t0 = Instant::now();
        let token = auth.issue("c", Duration::from_secs(5), t0);
        let header = format!("Bearer {token}");
        assert!(auth.caller(Some(&header), t0).is_ok());
        assert!(
            auth.caller(Some(&header), t0 + Duration::from_secs(6))
                .is_err()
        );
        assert!(auth.caller(Some("Bearer nope"), t0).is_err());
    }

    #[test]
    fn rate_limit_counts_per_window_and_rounds_retry_after_up() {
        let mut auth = auth();
        let t0 = Instant::now();
        let token = auth.issue("c", Duration::from_secs(600), t0);
        let minute = Duration::from_secs(60);
        assert_eq!(auth.admit(&token, 2, minute, t0).unwrap().unwrap().count, 1);
        assert_eq!(auth.admit(&token, 2, minute, t0).unwrap().unwrap().count, 2);
        let err = auth
            .admit(&token, 2, minute, t0 + Duration::from_millis(100))
            .unwrap_err();
        assert_eq!(err.status, 429);
        assert_eq!(header(&err, "retry-after").as_deref(), Some("60"));
        // A new window admits again.
        assert!(
            auth.admit(&token, 2, minute, t0 + Duration::from_secs(60))
                .is_ok()
        );
    }

    #[test]
    fn a_short_window_sets_retry_after_and_reset_and_ends_sooner() {
        let mut auth = auth();
        let t0 = Instant::now();
        let token = auth.issue("c", Duration::from_secs(600), t0);
        let window = Duration::from_secs(2);
        let first = auth.admit(&token, 1, window, t0).unwrap().unwrap();
        assert_eq!(first.reset_secs, 2);
        let err = auth
            .admit(&token, 1, window, t0 + Duration::from_millis(500))
            .unwrap_err();
        assert_eq!(err.status, 429);
        // 1.5 s left, rounded up.
        assert_eq!(header(&err, "retry-after").as_deref(), Some("2"));
        assert_eq!(header(&err, "inin-ratelimit-reset"), None, "no longer sent");
        assert!(
            err.message.contains("within [2] seconds"),
            "{}",
            err.message
        );
        // Still refused just before the window ends; admitted once it has.
        assert!(
            auth.admit(&token, 1, window, t0 + Duration::from_millis(1_999))
                .is_err()
        );
        assert_eq!(
            auth.admit(&token, 1, window, t0 + window)
                .unwrap()
                .unwrap()
                .count,
            1
        );
    }
}

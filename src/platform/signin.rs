//! Signing in as a person: Authorization Code with PKCE (S256) and a `state` check, the way the
//! official SDKs do it (Python `get_pkce_token`, JavaScript `loginPKCEGrant`): the browser goes to
//! `{login}/oauth/authorize`, comes back to a one-shot listener on 127.0.0.1, and the code is
//! exchanged at `{login}/oauth/token` with the verifier. The SDKs read `access_token` and
//! `expires_in` from that answer and no refresh token; one is used if the platform sends it.

use std::fmt;
use std::time::Duration;

use axum::extract::{OriginalUri, State};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::text::clip;

/// The one home of redaction, shared with the mock: `Debug` never shows it.
pub use crate::wire::Secret;

/// The path of the redirect URI on the loopback listener.
pub(crate) const CALLBACK_PATH: &str = "/callback";

/// The default port of the redirect URI (`http://127.0.0.1:8765/callback`), as registered on
/// the OAuth client; `redirect_port` in the config file changes it.
pub(crate) const DEFAULT_PORT: u16 = 8765;

/// One sign-in attempt's proof key and anti-forgery state (the challenge and state travel in
/// the authorize URL; the verifier is secret).
#[derive(Debug)]
pub struct Pkce {
    pub verifier: Secret,
    pub(crate) challenge: String,
    pub state: String,
}

fn random_urlsafe(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

impl Pkce {
    /// A 86-character verifier (64 random bytes; RFC 7636 allows 43 to 128) and its S256 challenge.
    pub fn new() -> Pkce {
        let verifier = random_urlsafe(64);
        Pkce {
            challenge: challenge_of(&verifier),
            verifier: Secret::new(verifier),
            state: random_urlsafe(24),
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2).
pub(crate) fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The authorize page's URL. It holds the challenge and state, never the verifier.
// The fallback is a constant URL, which parses.
#[allow(clippy::expect_used)]
pub fn authorize_url(login_base: &str, client_id: &str, redirect_uri: &str, pkce: &Pkce) -> String {
    let mut url = url::Url::parse(&format!("{login_base}/oauth/authorize"))
        .unwrap_or_else(|_| url::Url::parse("http://invalid/oauth/authorize").expect("static URL"));
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", &pkce.state);
    url.to_string()
}

/// Why a sign-in failed. Never holds a code, verifier or token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigninError {
    /// The redirect's `state` is not this attempt's: a forged or stale redirect; refused.
    StateMismatch,
    /// The login page sent an error back (the user refused, a bad request).
    Denied { error: String, description: String },
    /// The text given is not the redirected URL (no code, no error).
    NotARedirect,
    /// The token endpoint refused the exchange or refresh.
    Refused {
        status: u16,
        error: String,
        description: String,
    },
    /// No answer, or an answer that could not be read.
    Transport(String),
}

impl fmt::Display for SigninError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigninError::StateMismatch => f.write_str(
                "the redirect's state does not match this sign-in (a stale or forged redirect); nothing was exchanged, sign in again",
            ),
            SigninError::Denied { error, description } => {
                write!(f, "the login page refused: {error}: {description}")
            }
            SigninError::NotARedirect => f.write_str(
                "that is not the redirected URL (it has neither a code nor an error); copy the whole address from the browser",
            ),
            SigninError::Refused {
                status,
                error,
                description,
            } => write!(f, "the login service refused ({status} {error}): {description}"),
            SigninError::Transport(what) => write!(f, "the login service: {what}"),
        }
    }
}

impl std::error::Error for SigninError {}

/// Reads the redirected URL (from the listener or pasted): the code, if the state is ours.
pub fn parse_redirect(url_text: &str, expected_state: &str) -> Result<Secret, SigninError> {
    let url = url::Url::parse(url_text.trim()).map_err(|_| SigninError::NotARedirect)?;
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = String::new();
    for (k, v) in url.query_pairs() {
        match &*k {
            "code" => code = Some(v.into_owned()),
            "state" => state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = v.into_owned(),
            _ => {}
        }
    }
    if code.is_none() && error.is_none() {
        return Err(SigninError::NotARedirect);
    }
    // Compared before anything else is believed, errors included.
    if state.as_deref() != Some(expected_state) {
        return Err(SigninError::StateMismatch);
    }
    if let Some(error) = error {
        return Err(SigninError::Denied {
            error: clip(&error, SHOWN_CHARS),
            description: clip(&description, SHOWN_CHARS),
        });
    }
    code.map(Secret::new).ok_or(SigninError::NotARedirect)
}

/// How much of the platform's error and description is shown.
const SHOWN_CHARS: usize = 200;

/// The one-shot loopback listener for the redirect.
pub struct RedirectListener {
    listener: tokio::net::TcpListener,
    port: u16,
}

impl RedirectListener {
    /// Binds 127.0.0.1:`port` (0 picks a free one: tests).
    pub async fn bind(port: u16) -> std::io::Result<RedirectListener> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        Ok(RedirectListener { listener, port })
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Serves until the redirect arrives: the code, or why not. Stray requests (another path, a
    /// callback without code or error) get a 404, and a redirect of another state a 400; the
    /// wait goes on after either.
    pub async fn wait(self, expected_state: String) -> Result<Secret, SigninError> {
        let (tx, mut rx) = mpsc::channel::<Result<Secret, SigninError>>(1);
        let done = CancellationToken::new();
        let app = axum::Router::new()
            .route(CALLBACK_PATH, axum::routing::get(on_redirect))
            .fallback(stray)
            .with_state(Callback {
                tx,
                state: expected_state,
            });
        let stop = done.clone();
        let server = tokio::spawn(async move {
            let _ = axum::serve(self.listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
        let result = rx
            .recv()
            .await
            .unwrap_or_else(|| Err(SigninError::Transport("the listener stopped".into())));
        done.cancel();
        // The page has been answered; keep-alive connections must not hold the command up.
        if tokio::time::timeout(Duration::from_secs(2), server)
            .await
            .is_err()
        {
            tracing::debug!("signin: listener shutdown timed out");
        }
        result
    }
}

#[derive(Clone)]
struct Callback {
    tx: mpsc::Sender<Result<Secret, SigninError>>,
    state: String,
}

fn page(status: axum::http::StatusCode, title: &str, text: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><meta charset=\"utf-8\"><title>confwatch: {title}</title>\
             <h1>{title}</h1><p>{text}</p>"
        )),
    )
        .into_response()
}

async fn stray() -> Response {
    tracing::info!("signin: a stray request on the redirect listener (ignored)");
    page(
        axum::http::StatusCode::NOT_FOUND,
        "Not here",
        "This address only receives the sign-in redirect.",
    )
}

async fn on_redirect(State(callback): State<Callback>, OriginalUri(uri): OriginalUri) -> Response {
    let result = parse_redirect(&format!("http://127.0.0.1{uri}"), &callback.state);
    let answer = match &result {
        Err(SigninError::NotARedirect) => return stray().await,
        // Anyone on this machine can send a redirect: a forged (or stale) one is refused and
        // the wait goes on for the real one, until the sign-in's own timeout.
        Err(SigninError::StateMismatch) => {
            tracing::warn!("signin: a redirect with another state was ignored");
            return page(
                axum::http::StatusCode::BAD_REQUEST,
                "Not this sign-in",
                "This redirect's state is not this sign-in's (a stale or forged redirect): it was ignored, and confwatch is still waiting for the real one.",
            );
        }
        Ok(_) => page(
            axum::http::StatusCode::OK,
            "Signed in",
            "confwatch has your sign-in. You can close this tab and return to the terminal.",
        ),
        Err(e) => page(
            axum::http::StatusCode::BAD_REQUEST,
            "Sign-in failed",
            &format!("{e}. Return to the terminal."),
        ),
    };
    let _ = callback.tx.try_send(result);
    answer
}

/// What the token endpoint answered.
#[derive(Clone, Debug, Deserialize)]
pub struct GrantedTokens {
    pub(crate) access_token: Secret,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// Seconds; absent is read as an hour, huge values are capped by the caller.
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
}

async fn token_request(
    http: &reqwest::Client,
    login_base: &str,
    form: &[(&str, &str)],
) -> Result<GrantedTokens, SigninError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = http
        .post(format!("{login_base}/oauth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        // reqwest's message names the URL only; the form is never in it.
        .map_err(|e| SigninError::Transport(format!("no answer: {e}")))?;
    let status = response.status().as_u16();
    // The same cap as the client-credentials token answer: an endless body is not read.
    let body = super::answer::read_body(response, super::answer::MAX_TOKEN_ANSWER_BYTES)
        .await
        .map_err(|e| SigninError::Transport(format!("reading the answer: {e}")))?;
    if body.cut {
        return Err(SigninError::Transport(
            super::answer::too_large("POST /oauth/token", body.limit).message,
        ));
    }
    let bytes = body.bytes;
    if !(200..300).contains(&status) {
        #[derive(Deserialize)]
        struct OauthError {
            error: Option<String>,
            error_description: Option<String>,
            description: Option<String>,
            message: Option<String>,
        }
        let parsed: Option<OauthError> = serde_json::from_slice(&bytes).ok();
        let error = parsed.as_ref().and_then(|e| e.error.clone());
        let description = parsed.and_then(|e| e.error_description.or(e.description).or(e.message));
        return Err(SigninError::Refused {
            status,
            error: clip(error.as_deref().unwrap_or("error"), SHOWN_CHARS),
            description: clip(
                description.as_deref().unwrap_or("no description"),
                SHOWN_CHARS,
            ),
        });
    }
    serde_json::from_slice::<GrantedTokens>(&bytes)
        .map_err(|e| SigninError::Transport(format!("malformed token answer: {e}")))
}

/// Exchanges the code (`grant_type=authorization_code` with the verifier; a public client sends
/// its id in the form, no secret).
pub async fn exchange_code(
    http: &reqwest::Client,
    login_base: &str,
    client_id: &str,
    code: &Secret,
    verifier: &Secret,
    redirect_uri: &str,
) -> Result<GrantedTokens, SigninError> {
    token_request(
        http,
        login_base,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("code_verifier", verifier.expose()),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
        ],
    )
    .await
}

/// A new access token for a refresh token (RFC 6749 §6, public client: id in the form).
pub(crate) async fn refresh(
    http: &reqwest::Client,
    login_base: &str,
    client_id: &str,
    refresh_token: &Secret,
) -> Result<GrantedTokens, SigninError> {
    token_request(
        http,
        login_base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", client_id),
        ],
    )
    .await
}

/// Opens the user's browser on `url`; false when there is none (an SSH session).
pub(crate) fn open_browser(url: &str) -> bool {
    match webbrowser::open(url) {
        Ok(()) => true,
        Err(e) => {
            tracing::info!("signin: no browser could be opened: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_is_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let pkce = Pkce::new();
        assert_eq!(pkce.verifier.expose().len(), 86);
        assert_eq!(pkce.challenge, challenge_of(pkce.verifier.expose()));
        assert!(!format!("{pkce:?}").contains(pkce.verifier.expose()));
    }

    #[test]
    fn the_authorize_url_has_the_challenge_and_state_but_not_the_verifier() {
        let pkce = Pkce::new();
        let url = authorize_url(
            "https://login.mypurecloud.ie",
            "cid",
            "http://127.0.0.1:8765/callback",
            &pkce,
        );
        assert!(url.starts_with("https://login.mypurecloud.ie/oauth/authorize?client_id=cid&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback"), "{url}");
        assert!(url.contains(&format!("code_challenge={}", pkce.challenge)));
        assert!(url.contains("code_challenge_method=S256"));
        assert!(url.contains(&format!("state={}", pkce.state)));
        assert!(!url.contains(pkce.verifier.expose()));
    }

    #[test]
    fn a_pasted_redirect_is_read_and_its_state_checked() {
        let ok = parse_redirect("http://127.0.0.1:8765/callback?code=abc&state=s1", "s1").unwrap();
        assert_eq!(ok.expose(), "abc");
        assert_eq!(
            parse_redirect("http://127.0.0.1:8765/callback?code=abc&state=other", "s1")
                .unwrap_err(),
            SigninError::StateMismatch
        );
        assert_eq!(
            parse_redirect("http://127.0.0.1:8765/callback?code=abc", "s1").unwrap_err(),
            SigninError::StateMismatch
        );
        assert_eq!(
            parse_redirect("not a url", "s1").unwrap_err(),
            SigninError::NotARedirect
        );
        let denied = parse_redirect(
            "http://127.0.0.1:8765/callback?error=access_denied&error_description=no%1b[31m&state=s1",
            "s1",
        )
        .unwrap_err();
        assert_eq!(
            denied,
            SigninError::Denied {
                error: "access_denied".into(),
                description: "no[31m".into()
            }
        );
    }
}

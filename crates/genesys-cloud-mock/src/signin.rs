//! Sign-in as a person: the authorize page (a plain form listing the scenario's users; no real
//! passwords), the authorization-code exchange with PKCE (S256) checks, `GET /api/v2/users/me`
//! and `DELETE /api/v2/tokens/me`.
//!
//! Sources: the official SDKs' PKCE helpers (Python `ApiClient.get_pkce_token`, JavaScript
//! `loginPKCEGrant`/`authorizePKCEGrant`): authorize query `client_id, redirect_uri,
//! response_type=code, code_challenge, code_challenge_method=S256, state`; exchange form
//! `grant_type=authorization_code, code, code_verifier, client_id, redirect_uri` without a Basic
//! header; the answer's `access_token` and `expires_in` are read, no refresh token. Refusals use
//! the OAuth 2.0 error form (RFC 6749 §5.2: `{"error","error_description"}`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::errors::ErrorReply;
use super::state::Shared;
use super::users::{ORG_ID, PendingCode, Signin};

/// An OAuth-style refusal (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Checks an authorize request. `Err(None)`: refuse on the page itself (the redirect URI cannot
/// be trusted); `Err(Some(..))`: send the error back to the redirect URI.
fn check_authorize(
    signin: &Signin,
    params: &HashMap<String, String>,
) -> Result<(), Option<(&'static str, &'static str)>> {
    let client_id = params.get("client_id").map(String::as_str).unwrap_or("");
    let redirect_uri = params.get("redirect_uri").map(String::as_str).unwrap_or("");
    if !signin.registered(client_id, redirect_uri) {
        return Err(None);
    }
    if params.get("response_type").map(String::as_str) != Some("code") {
        return Err(Some((
            "unsupported_response_type",
            "response_type must be code",
        )));
    }
    if params.get("code_challenge").is_none_or(|c| c.is_empty())
        || params.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return Err(Some((
            "invalid_request",
            "a code_challenge with code_challenge_method S256 is required",
        )));
    }
    Ok(())
}

fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(uri) {
        Ok(url) => url,
        Err(_) => return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response(),
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html><title>Sign-in error</title><h1>Sign-in error</h1><p>{}</p>",
            escape(message)
        )),
    )
        .into_response()
}

/// `GET /oauth/authorize`: the sign-in page, one button per user of the scenario.
pub(super) async fn authorize_page(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let state = shared.lock();
    let signin = &state.auth.signin;
    match check_authorize(signin, &params) {
        Err(None) => {
            return error_page("unknown client_id or a redirect_uri not registered on it");
        }
        Err(Some((error, description))) => {
            let state_param = params.get("state").cloned().unwrap_or_default();
            return redirect_with(
                &params["redirect_uri"],
                &[
                    ("error", error),
                    ("error_description", description),
                    ("state", &state_param),
                ],
            );
        }
        Ok(()) => {}
    }
    let hidden: String = [
        "client_id",
        "response_type",
        "redirect_uri",
        "code_challenge",
        "code_challenge_method",
        "state",
    ]
    .iter()
    .map(|k| {
        format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            escape(params.get(*k).map(String::as_str).unwrap_or(""))
        )
    })
    .collect();
    let buttons: String = signin
        .users
        .iter()
        .map(|u| {
            format!(
                "<li><button type=\"submit\" name=\"user\" value=\"{}\">{} &lt;{}&gt;</button></li>",
                escape(&u.id),
                escape(&u.name),
                escape(&u.email)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><meta charset=\"utf-8\"><title>Mock sign-in</title>\
         <h1>Sign in to the mock platform</h1>\
         <p>Demo users only; no password is asked.</p>\
         <form method=\"post\" action=\"/oauth/authorize\">{hidden}<ul>{buttons}</ul></form>"
    ))
    .into_response()
}

/// `POST /oauth/authorize`: the chosen user signs in; back to the redirect URI with a code.
pub(super) async fn authorize_submit(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let params = form(&body);
    let mut state = shared.lock();
    let signin = &mut state.auth.signin;
    if let Err(refusal) = check_authorize(signin, &params) {
        return match refusal {
            None => error_page("unknown client_id or a redirect_uri not registered on it"),
            Some((_, description)) => error_page(description),
        };
    }
    let user_id = params.get("user").cloned().unwrap_or_default();
    if signin.user(&user_id).is_none() {
        return error_page("no such user");
    }
    let now = Instant::now();
    signin.codes.retain(|_, c| c.expires_at > now);
    let code = format!("{}", uuid::Uuid::new_v4().simple());
    signin.codes.insert(
        code.clone(),
        PendingCode {
            client_id: params["client_id"].clone(),
            redirect_uri: params["redirect_uri"].clone(),
            challenge: params["code_challenge"].clone(),
            user_id,
            expires_at: now + signin.code_lifetime,
        },
    );
    let state_param = params.get("state").cloned().unwrap_or_default();
    redirect_with(
        &params["redirect_uri"],
        &[("code", &code), ("state", &state_param)],
    )
}

/// S256 as RFC 7636 §4.2 defines it: BASE64URL(SHA256(verifier)), no padding.
pub(super) fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `POST /oauth/token` with `grant_type=authorization_code`. Returns the answer and the client id
/// (for the request log). A code is used up by its first exchange, refused or not.
pub(super) fn exchange(shared: &Shared, body: &[u8]) -> (Response, Option<String>) {
    let params = form(body);
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    let client_id = get("client_id").to_string();
    let invalid_grant = |d: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", d);
    let mut state = shared.lock();
    let lifetime = Duration::from_secs(state.faults.token_lifetime_secs);
    let now = Instant::now();
    let Some(pending) = state.auth.signin.codes.remove(get("code")) else {
        return (
            invalid_grant("the authorization code is invalid or was already used"),
            Some(client_id),
        );
    };
    let verifier = get("code_verifier");
    // RFC 7636 §4.1: 43 to 128 characters from the unreserved set.
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let refusal = if pending.expires_at <= now {
        Some(invalid_grant("the authorization code has expired"))
    } else if pending.client_id != client_id {
        Some(invalid_grant(
            "the authorization code was issued to another client",
        ))
    } else if pending.redirect_uri != get("redirect_uri") {
        Some(invalid_grant(
            "redirect_uri does not match the one of the authorization request",
        ))
    } else if !well_formed {
        Some(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code_verifier must be 43 to 128 unreserved characters",
        ))
    } else if s256(verifier) != pending.challenge {
        Some(invalid_grant(
            "code_verifier does not match the code_challenge",
        ))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        return (refusal, Some(client_id));
    }
    let access_token = state
        .auth
        .issue_for_user(&client_id, &pending.user_id, lifetime, now);
    drop(state);
    let answer = (
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": lifetime.as_secs(),
        })),
    )
        .into_response();
    (answer, Some(client_id))
}

/// `GET /api/v2/users/me` (`expand=authorization,organization` understood). Shapes: the Python
/// SDK's `UserMe`, `UserAuthorization` and `Organization` models.
pub(super) async fn users_me(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ErrorReply> {
    let Some(user) = caller.user else {
        return Err(ErrorReply::new(
            StatusCode::BAD_REQUEST,
            "not.a.user",
            "This request requires a user context. Client credentials cannot be used for requests to this resource.",
        ));
    };
    let expand: Vec<&str> = params
        .get("expand")
        .map(|e| e.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let mut me = serde_json::json!({
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "username": user.email,
        "state": "active",
        "version": 1,
        "selfUri": format!("/api/v2/users/{}", user.id),
    });
    if expand.contains(&"authorization") {
        me["authorization"] = serde_json::json!({ "roles": [], "permissions": user.permissions });
    }
    if expand.contains(&"organization") {
        let org_name = shared.lock().auth.signin.org_name.clone();
        me["organization"] = serde_json::json!({
            "id": ORG_ID,
            "name": org_name,
            "state": "active",
            "version": 1,
            "selfUri": format!("/api/v2/organizations/{ORG_ID}"),
        });
    }
    Ok(Json(me).into_response())
}

/// `DELETE /api/v2/tokens/me`: the token that made the request stops working (TokensApi
/// `delete_tokens_me`, no permission needed, empty answer).
pub(super) async fn delete_token_me(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .unwrap_or("")
        .trim()
        .to_string();
    shared.lock().auth.revoke(&token);
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn loopback_redirects_match_on_any_port_only() {
        let mut uris = HashMap::new();
        uris.insert(
            "c".to_string(),
            vec!["http://127.0.0.1:8765/callback".to_string()],
        );
        let signin = Signin::new(Vec::new(), uris, Duration::from_secs(60), "o".into());
        assert!(signin.registered("c", "http://127.0.0.1:8765/callback"));
        assert!(signin.registered("c", "http://127.0.0.1:40123/callback"));
        assert!(!signin.registered("c", "http://127.0.0.1:8765/other"));
        assert!(!signin.registered("c", "http://evil.example/callback"));
        assert!(!signin.registered("other", "http://127.0.0.1:8765/callback"));
    }
}

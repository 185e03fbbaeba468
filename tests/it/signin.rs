//! Signing in as a person against the mock: Authorization Code with PKCE, the test playing the
//! browser with an HTTP client. Then listing and kicking as that user, the audit's `who`, each
//! refusal of the code exchange, the redirect listener's checks, a sign-in that ended, and a
//! read-only supervisor's `kick` refused before any PATCH.

use crate::common;

use common::Harness;
use confwatch::cli::sign_in;
use confwatch::config::{ConnectionArgs, FileConfig, LoginTarget, resolve_with_profiles};
use confwatch::feed::QueueSelection;
use confwatch::feed::{ConnectionState, FeedEvent};
use confwatch::kick::OutcomeKind;
use confwatch::kick::Wanted;
use confwatch::kick::{self, EventSource, KickOptions, KickRequest};
use confwatch::platform::Client;
use confwatch::platform::{self, Pkce, RedirectListener, Secret, SigninError};
use confwatch::platform::{StoredSession, TokenStore};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const SIGNIN_CLIENT: &str = "quiet-signin";
pub(crate) const SAM: &str = "7d3c1b2a-1111-4c4c-9a9a-000000000001";
const RITA: &str = "7d3c1b2a-2222-4c4c-9a9a-000000000002";

/// A client that does not follow redirects: the test reads each `Location` itself.
fn browser() -> reqwest::Client {
    confwatch::platform::http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `value="..."` attributes of the page's hidden inputs, unescaped.
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|rest| {
            let name = rest
                .split("name=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let value = rest
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let value = value
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            (name.to_string(), value)
        })
        .collect()
}

/// Plays the browser: opens the authorize page, picks `user` on its form, and returns where
/// the login service sends the browser back (the redirect URI with code and state).
async fn choose_user(authorize_url: &str, user: &str) -> String {
    let http = browser();
    let page = http.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Sam Supervisor") && html.contains("Rita Readonly"),
        "{html}"
    );
    assert!(html.contains(&format!("value=\"{user}\"")));
    let mut form = hidden_inputs(&html);
    form.push(("user".into(), user.into()));
    let action = {
        let url = url::Url::parse(authorize_url).unwrap();
        format!(
            "{}://{}/oauth/authorize",
            url.scheme(),
            url.host_str().unwrap().to_string()
                + &url.port().map(|p| format!(":{p}")).unwrap_or_default()
        )
    };
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form)
        .finish();
    let answer = http
        .post(action)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    answer.headers()["location"].to_str().unwrap().to_string()
}

fn target(h: &Harness) -> LoginTarget {
    LoginTarget {
        profile: "default".into(),
        client_id: SIGNIN_CLIENT.into(),
        api_base: h.mock.base_url(),
        login_base: h.mock.base_url(),
        redirect_port: 0,
    }
}

/// The whole sign-in of `user`, the browser's part played here; the session is stored in `dir`.
pub(crate) async fn sign_in_as(
    h: &Harness,
    dir: &std::path::Path,
    user: &'static str,
) -> StoredSession {
    let listener = RedirectListener::bind(0).await.unwrap();
    let store = TokenStore::file_only(dir);
    let target = target(h);
    let (url_tx, url_rx) = tokio::sync::oneshot::channel::<String>();
    let signing = tokio::spawn(async move {
        sign_in(
            &target,
            listener,
            &store,
            |url| url_tx.send(url.to_string()).unwrap(),
            None,
        )
        .await
    });
    let url = url_rx.await.unwrap();
    assert!(url.contains("code_challenge_method=S256"));
    let back = choose_user(&url, user).await;
    // The browser follows the redirect to the listener and gets the clear page.
    let page = browser().get(&back).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("return to the terminal")
    );
    let (session, _place) = signing.await.unwrap().expect("signed in");
    session
}

fn user_client(dir: &std::path::Path, h: &Harness) -> Client {
    let args = ConnectionArgs {
        base_url: Some(h.mock.base_url()),
        ..Default::default()
    };
    let config = resolve_with_profiles(
        &args,
        &|_| None,
        FileConfig::default(),
        &TokenStore::file_only(dir),
    )
    .unwrap()
    .expect("the stored sign-in is used");
    assert_eq!(config.1.name.as_deref(), Some("default"));
    Client::new(config.0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_signs_in_lists_and_kicks_and_the_audit_names_them() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let dir = common::temp_dir("signin");
    let session = sign_in_as(&h, &dir, SAM).await;
    assert_eq!(session.identity.user_id, SAM);
    assert_eq!(session.identity.name.as_deref(), Some("Sam Supervisor"));
    assert_eq!(
        session.identity.org_name.as_deref(),
        Some("Mock Contact Center")
    );
    assert!(session.identity.may_disconnect());
    assert!(
        session.refresh_token.is_none(),
        "the platform issues none for PKCE"
    );
    let token = session.access_token.expose().to_string();
    // The token file is private and holds no verifier; Debug shows no token.
    assert!(!format!("{session:?}").contains(&token));

    let client = user_client(&dir, &h);
    let (call, target) = h.conference("connected").await;
    let calls = confwatch::feed::read_active_calls(&client, &[common::SUPPORT_ID.to_string()])
        .await
        .expect("the user lists calls");
    assert!(calls.iter().any(|c| c.id == call.id));

    let audit = dir.join("audit.jsonl");
    let options = KickOptions {
        audit_log: Some(audit.clone()),
        ..Default::default()
    };
    let outcome = kick::run(
        client,
        KickRequest {
            conversation_id: call.id.clone(),
            wanted: Wanted::Participant(target.clone()),
            force: false,
        },
        options.machine_config(false),
        EventSource::Subscribe,
        CancellationToken::new(),
        options.open_audit().unwrap().map(std::sync::Arc::new),
        Default::default(),
        |_| {},
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    let text = std::fs::read_to_string(&audit).unwrap();
    assert!(!text.contains(&token), "the token reached the audit");
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["who"]["userId"], SAM);
    assert_eq!(last["who"]["name"], "Sam Supervisor");
    assert_eq!(last["who"]["email"], "sam.supervisor@example.com");
    assert_eq!(last["who"]["clientId"], SIGNIN_CLIENT);
    // The mock saw the PATCH made with the user's token (logged as client/user).
    let patches: Vec<Value> = h
        .requests(0)
        .await
        .into_iter()
        .filter(|r| r["method"] == "PATCH")
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0]["clientId"], format!("{SIGNIN_CLIENT}/{SAM}"));
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

/// A code from the authorize page for `redirect_uri`, and the PKCE pair behind it.
async fn code_for(h: &Harness, redirect_uri: &str) -> (Secret, Pkce) {
    let pkce = Pkce::new();
    let url = platform::authorize_url(&h.mock.base_url(), SIGNIN_CLIENT, redirect_uri, &pkce);
    let back = choose_user(&url, SAM).await;
    let code = platform::parse_redirect(&back, &pkce.state).expect("a code");
    (code, pkce)
}

async fn exchange(
    h: &Harness,
    code: &Secret,
    verifier: &Secret,
    redirect_uri: &str,
) -> Result<platform::GrantedTokens, SigninError> {
    platform::exchange_code(
        &confwatch::platform::http_builder().build().unwrap(),
        &h.mock.base_url(),
        SIGNIN_CLIENT,
        code,
        verifier,
        redirect_uri,
    )
    .await
}

fn assert_invalid_grant(
    result: Result<platform::GrantedTokens, SigninError>,
    about: &str,
    secrets: &[&str],
) {
    let error = result.expect_err("refused");
    let SigninError::Refused {
        status,
        error: kind,
        description,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((*status, kind.as_str()), (400, "invalid_grant"), "{error}");
    assert!(description.contains(about), "{description}");
    let text = format!("{error} {error:?}");
    for secret in secrets {
        assert!(!text.contains(secret), "a secret reached the error: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_exchange_refuses_a_wrong_verifier_a_reused_code_and_a_wrong_redirect() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let uri = "http://127.0.0.1:40001/callback";

    let (code, _pkce) = code_for(&h, uri).await;
    let wrong = Pkce::new().verifier;
    assert_invalid_grant(
        exchange(&h, &code, &wrong, uri).await,
        "code_verifier",
        &[code.expose(), wrong.expose()],
    );

    let (code, pkce) = code_for(&h, uri).await;
    let grant = exchange(&h, &code, &pkce.verifier, uri)
        .await
        .expect("the first exchange");
    assert!(grant.refresh_token.is_none());
    assert_invalid_grant(
        exchange(&h, &code, &pkce.verifier, uri).await,
        "already used",
        &[code.expose(), pkce.verifier.expose()],
    );

    let (code, pkce) = code_for(&h, uri).await;
    assert_invalid_grant(
        exchange(&h, &code, &pkce.verifier, "http://127.0.0.1:40002/callback").await,
        "redirect_uri",
        &[code.expose(), pkce.verifier.expose()],
    );

    // An unregistered redirect URI is refused on the authorize page itself (no redirect to it).
    let pkce = Pkce::new();
    let url = platform::authorize_url(
        &h.mock.base_url(),
        SIGNIN_CLIENT,
        "http://evil.example/callback",
        &pkce,
    );
    let page = browser().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 400);
    // A page for the person at the browser, not an API error body wrapping HTML.
    let content_type = page.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let text = page.text().await.unwrap();
    assert!(!text.contains("\"contextId\""), "{text}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_code_is_refused() {
    let mut scenario = genesys_cloud_mock::Scenario::named("quiet").unwrap();
    scenario.signin.code_lifetime_ms = 1;
    let mock =
        genesys_cloud_mock::MockServer::start(genesys_cloud_mock::MockOptions::loopback(scenario))
            .await
            .unwrap();
    let uri = "http://127.0.0.1:40001/callback";
    let pkce = Pkce::new();
    let url = platform::authorize_url(&mock.base_url(), SIGNIN_CLIENT, uri, &pkce);
    let back = choose_user(&url, SAM).await;
    let code = platform::parse_redirect(&back, &pkce.state).unwrap();
    // Past the code's 1 ms lifetime (a lower bound, not a timed assertion).
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let result = platform::exchange_code(
        &confwatch::platform::http_builder().build().unwrap(),
        &mock.base_url(),
        SIGNIN_CLIENT,
        &code,
        &pkce.verifier,
        uri,
    )
    .await;
    assert_invalid_grant(result, "expired", &[code.expose(), pkce.verifier.expose()]);
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_ignores_stray_requests_and_refuses_a_state_mismatch() {
    // Stray requests get a 404 and the wait goes on; the real redirect ends it.
    let listener = RedirectListener::bind(0).await.unwrap();
    let uri = listener.redirect_uri();
    let base = uri.trim_end_matches("/callback").to_string();
    let waiting = tokio::spawn(listener.wait("s1".into()));
    let http = browser();
    assert_eq!(
        http.get(format!("{base}/favicon.ico"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(http.get(&uri).send().await.unwrap().status(), 404);
    assert!(!waiting.is_finished());
    let ok = http
        .get(format!("{uri}?code=the-code&state=s1"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(waiting.await.unwrap().unwrap().expose(), "the-code");

    // Another state: refused, the browser is told, and the wait goes on (issue 21; the
    // hardening tests see the real redirect end it).
    let listener = RedirectListener::bind(0).await.unwrap();
    let uri = listener.redirect_uri();
    let waiting = tokio::spawn(listener.wait("s1".into()));
    let page = http
        .get(format!("{uri}?code=the-code&state=forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert!(!waiting.is_finished());
    waiting.abort();
    // A pasted redirect of another state is still refused outright.
    assert_eq!(
        confwatch::platform::parse_redirect(
            "http://127.0.0.1:1/callback?code=c&state=forged",
            "s1"
        )
        .unwrap_err(),
        SigninError::StateMismatch
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_that_cannot_be_refreshed_says_sign_in_again() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let dir = common::temp_dir("signin");
    sign_in_as(&h, &dir, SAM).await;
    let client = user_client(&dir, &h);
    client.queues().await.expect("the token works");
    // The token is revoked (as `confwatch logout` does); no refresh token exists.
    client.delete("/api/v2/tokens/me").await.unwrap();
    let error = client.queues().await.unwrap_err();
    assert!(error.message.contains("sign in again"), "{error}");
    // The console's feed says so in its connection state.
    let mut feed = confwatch::feed::watch(client, QueueSelection::All);
    let reason = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(20), feed.recv()).await {
            Ok(Some(FeedEvent::Connection(ConnectionState::Offline { reason }))) => break reason,
            Ok(Some(_)) => continue,
            other => panic!("no offline state: {:?}", other.is_ok()),
        }
    };
    assert!(reason.contains("sign in again"), "{reason}");
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_without_the_permission_gets_exit_4_before_any_patch() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let dir = common::temp_dir("signin");
    let session = sign_in_as(&h, &dir, RITA).await;
    assert!(!session.identity.may_disconnect());
    let (call, target) = h.conference("connected").await;
    let since = h.last_seq().await;
    let output = confwatch_signed_in(&dir)
        .args([
            "kick",
            "--conversation",
            &call.id,
            "--participant",
            &target,
            "--base-url",
            &h.mock.base_url(),
        ])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("conversation:communication:disconnect"),
        "{stderr}"
    );
    let sent = h.requests(since).await;
    assert!(sent.iter().all(|r| r["method"] != "PATCH"), "{sent:?}");
    // No token in what the process wrote.
    let token = session.access_token.expose();
    let log = std::fs::read_to_string(dir.join("confwatch.log")).unwrap_or_default();
    for text in [
        stderr.as_ref(),
        String::from_utf8_lossy(&output.stdout).as_ref(),
        log.as_str(),
    ] {
        assert!(!text.contains(token));
    }
    // `whoami` names the user, org and region from the store.
    let whoami = confwatch_signed_in(&dir)
        .arg("whoami")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&whoami.stdout);
    assert!(
        text.contains("Rita Readonly")
            && text.contains("Mock Contact Center")
            && text.contains(&h.mock.base_url()),
        "{text}"
    );
    assert!(!text.contains(token));
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

/// A person's own token in `GENESYSCLOUD_ACCESS_TOKEN` (issue 21): their roles are checked
/// before any PATCH as a signed-in user's are; a client's token still kicks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_own_token_in_the_environment_gets_the_read_only_check() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let dir = common::temp_dir("signin");
    let session = sign_in_as(&h, &dir, RITA).await;
    let elsewhere = common::temp_dir("signin");
    let kick = |token: String, call: String, target: String| {
        let mut command = common::confwatch_in(&elsewhere);
        command
            .args(["kick", "--conversation", &call, "--participant", &target])
            .args(["--base-url", &h.mock.base_url()])
            .env("GENESYSCLOUD_ACCESS_TOKEN", token);
        command
    };
    let (call, target) = h.conference("connected").await;
    let since = h.last_seq().await;
    let output = kick(session.access_token.expose().to_string(), call.id, target)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("Rita Readonly"), "{stderr}");
    let sent = h.requests(since).await;
    assert!(sent.iter().all(|r| r["method"] != "PATCH"), "{sent:?}");
    let (call, target) = h.conference("connected").await;
    let output = kick(h.token.clone(), call.id, target)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&elsewhere).ok();
    h.stop().await;
}

/// The binary as the user signed in under `dir` runs it: only the stored sign-in, no client
/// credentials or profile from the environment, its log in `dir`.
fn confwatch_signed_in(dir: &std::path::Path) -> tokio::process::Command {
    let mut command = common::confwatch_in(dir);
    command
        .env("CONFWATCH_STATE_DIR", dir)
        .env("CONFWATCH_TOKEN_STORE", "file");
    command
}

/// `whoami` with a sign-in that has ended (no refresh token) exits non-zero and says to sign in
/// again; a read-only user's `kick --json` refused before any request (exit 4) still ends with
/// one outcome line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_fails_on_an_ended_sign_in_and_json_refusals_say_their_outcome() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0, "tokenLifetimeSecs": 1})).await;
    let dir = common::temp_dir("signin-ended");
    sign_in_as(&h, &dir, SAM).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let whoami = confwatch_signed_in(&dir)
        .arg("whoami")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&whoami.stdout);
    assert_eq!(whoami.status.code(), Some(1), "{text}");
    assert!(text.contains("sign in again"), "{text}");

    let rita = common::temp_dir("signin-rita");
    h.faults(json!({"tokenLifetimeSecs": 3600})).await;
    sign_in_as(&h, &rita, RITA).await;
    let (call, target) = h.conference("connected").await;
    let output = confwatch_signed_in(&rita)
        .args([
            "kick",
            "--conversation",
            &call.id,
            "--participant",
            &target,
            "--base-url",
            &h.mock.base_url(),
            "--json",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!(lines[0]["outcome"], "failed");
    assert_eq!(lines[0]["status"], 403);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&rita).ok();
    h.stop().await;
}

/// `whoami` for a client-credentials profile says who acts (the OAuth client), and does not
/// tell the user to `login`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_on_client_credentials_does_not_ask_for_a_login() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let dir = common::temp_dir("whoami-cc");
    let config = dir.join("config").join("confwatch");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[profiles.ops]\nbase_url = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\ngrant = \"client_credentials\"\n",
            h.mock.base_url(),
            h.mock.client_id(),
            h.mock.client_secret()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            config.join("config.toml"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let whoami = confwatch_signed_in(&dir)
        .args(["whoami", "--profile", "ops"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&whoami.stdout);
    assert_eq!(whoami.status.code(), Some(0), "{text} {whoami:?}");
    assert!(!text.contains("login"), "{text}");
    assert!(text.contains(h.mock.client_id()), "{text}");
    assert!(!text.contains(h.mock.client_secret()), "{text}");
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

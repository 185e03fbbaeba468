//! The client against a hostile or broken network and a careless operator (issue 12): endless
//! bodies and oversized socket messages are cut at a cap, names with escape codes cannot drive
//! the terminal, bad flags and inputs get one clear message, and no decoder panics on any input.

use crate::common;

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::routing::{get, post};
use common::{Harness, client_of};
use confwatch::platform::FailureKind;
use confwatch::platform::{SocketEnd, parse_frame, run_socket};
use confwatch::wire::{
    AnalyticsConversationQueryResponse, CallConversation, Channel, ChannelTopicEntityListing,
    ErrorBody, QueueEntityListing, TokenResponse,
};
use proptest::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

/// What a name that tries to drive the terminal looks like: retitle the window, clear the
/// screen, turn the text red, an 8-bit CSI, a carriage return over the line.
const EVIL_NAME: &str = "Eve\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{1b}[31m\u{9b}1mMallory\rX";

/// More than any cap: the client must stop reading long before the end.
const HUGE_BODY: u64 = 256 * 1024 * 1024;
/// A hang guard only (a healthy run takes well under a second).
const PATIENCE: Duration = Duration::from_secs(120);

/// A body of `HUGE_BODY` bytes sent in 64 KiB chunks; `sent` counts what the peer took.
fn huge_body(sent: Arc<AtomicU64>) -> axum::body::Body {
    let chunk = bytes_of(64 * 1024);
    let stream = futures::stream::iter(0..HUGE_BODY / chunk.len() as u64).map(move |_| {
        sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        Ok::<_, std::io::Error>(chunk.clone())
    });
    axum::body::Body::from_stream(stream)
}

fn bytes_of(n: usize) -> axum::body::Bytes {
    axum::body::Bytes::from(vec![b' '; n])
}

use futures::StreamExt;

/// A platform on loopback: `/oauth/token` answers a token (or a huge body when `huge_token`),
/// `/api/v2/huge` answers 200 with a huge body. Returns the base URL and the bytes sent.
async fn hostile_platform(huge_token: bool) -> (String, Arc<AtomicU64>) {
    let sent = Arc::new(AtomicU64::new(0));
    let (token_sent, api_sent) = (Arc::clone(&sent), Arc::clone(&sent));
    let app = axum::Router::new()
        .route(
            "/oauth/token",
            post(move || {
                let sent = Arc::clone(&token_sent);
                async move {
                    if huge_token {
                        axum::response::Response::new(huge_body(sent))
                    } else {
                        axum::response::IntoResponse::into_response(axum::Json(json!({
                            "access_token": "t", "token_type": "bearer", "expires_in": 86399
                        })))
                    }
                }
            }),
        )
        .route(
            "/api/v2/huge",
            get(move || {
                let sent = Arc::clone(&api_sent);
                async move { axum::response::Response::new(huge_body(sent)) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, sent)
}

/// Socket buffers on both ends hold a few MB more than the client read; far less than this.
const READ_BOUND: u64 = 64 * 1024 * 1024;

#[tokio::test]
async fn an_endless_answer_is_cut_at_the_cap_with_a_clear_error() {
    let (base, sent) = hostile_platform(false).await;
    let client = client_of(&base);
    let err = tokio::time::timeout(PATIENCE, client.get::<Value>("/api/v2/huge"))
        .await
        .expect("no hang")
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::Malformed, "{err}");
    assert!(err.message.contains("larger than"), "{err}");
    assert_the_client_stopped_reading(&sent).await;
}

/// The endless peer pushed only a bounded part of its body before the client stopped reading.
async fn assert_the_client_stopped_reading(sent: &AtomicU64) {
    // Give the server a moment to notice the closed connection, then count what it pushed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = sent.load(Ordering::Relaxed);
    eprintln!("the peer got {sent} of {HUGE_BODY} bytes out before the client stopped reading");
    assert!(sent < READ_BOUND, "the client took {sent} bytes");
}

#[tokio::test]
async fn an_endless_token_answer_is_cut_with_a_clear_error() {
    let (base, sent) = hostile_platform(true).await;
    let client = client_of(&base);
    let err = tokio::time::timeout(PATIENCE, client.get::<Value>("/api/v2/anything"))
        .await
        .expect("no hang")
        .unwrap_err();
    assert_eq!(err.endpoint, "POST /oauth/token");
    assert!(err.message.contains("larger than"), "{err}");
    assert_the_client_stopped_reading(&sent).await;
}

/// A notification socket that sends one 9 MiB message (past the 8 MiB cap), then says it is
/// closing: the client must drop the socket at the big message, not read it and go on.
#[tokio::test]
async fn an_oversized_notification_message_drops_the_socket() {
    use axum::extract::ws::{Message, WebSocketUpgrade};
    let app = axum::Router::new().route(
        "/channel",
        get(|ws: WebSocketUpgrade| async move {
            ws.max_message_size(usize::MAX)
                .on_upgrade(|mut socket| async move {
                    let padding = "x".repeat(9 * 1024 * 1024);
                    let big = json!({"topicName": "v2.other", "eventBody": {"pad": padding}});
                    let _ = socket.send(Message::text(big.to_string())).await;
                    let closing = json!({"topicName": "v2.system.socket_closing", "eventBody": {}});
                    let _ = socket.send(Message::text(closing.to_string())).await;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                })
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("ws://{}/channel", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let (tx, _rx) = tokio::sync::mpsc::channel(16);
    let end = tokio::time::timeout(
        PATIENCE,
        run_socket(&uri, &tx, Duration::from_secs(60), || {}),
    )
    .await
    .expect("no hang");
    match &end {
        SocketEnd::TooLarge(why) => {
            assert!(why.contains("refused"), "{why}");
            assert!(why.contains("cap of 8388608 bytes"), "{why}");
        }
        other => panic!("the oversized message was read: {other:?}"),
    }
    server.abort();
}

// ---- the decoders never panic ----

/// Field names the decoders look for, so random objects often reach the typed code paths.
const KEYS: &[&str] = &[
    "id",
    "name",
    "state",
    "purpose",
    "participants",
    "startTime",
    "endTime",
    "connectedTime",
    "startHoldTime",
    "held",
    "muted",
    "user",
    "userId",
    "queue",
    "queueId",
    "maxParticipants",
    "access_token",
    "token_type",
    "expires_in",
    "topicName",
    "eventBody",
    "metadata",
    "entities",
    "pageSize",
    "pageNumber",
    "total",
    "pageCount",
    "message",
    "code",
    "status",
    "details",
    "errors",
    "messageParams",
    "connectUri",
    "expires",
    "conversations",
    "conversationId",
    "conversationStart",
    "sessions",
    "segments",
    "mediaType",
    "calls",
    "disconnectType",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        Just(json!(1e300)),
        Just(json!(-0.5)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!(EVIL_NAME)),
        Just(json!("2026-11-28T07:00:00.000Z")),
        Just(json!("+262143-12-31T23:59:59Z")),
        Just(json!("0000-00-00T00:00:00Z")),
        Just(json!("connected")),
        Just(json!("disconnected")),
        Just(json!("agent")),
        Just(json!("channel.metadata")),
        Just(json!("v2.system.socket_closing")),
        Just(json!("v2.routing.queues.x.conversations.calls")),
        Just(json!("3f1c9a2e-8d4b-4c1e-9f7a-2b6d5e8c1a90")),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..10).prop_map(|pairs| {
                Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// Every decoder of the client, on one input. Errors are fine; a panic fails the test.
fn decode_all(bytes: &[u8]) {
    let _ = serde_json::from_slice::<CallConversation>(bytes);
    let _ = serde_json::from_slice::<ErrorBody>(bytes);
    let _ = serde_json::from_slice::<TokenResponse>(bytes);
    let _ = serde_json::from_slice::<QueueEntityListing>(bytes);
    let _ = serde_json::from_slice::<Channel>(bytes);
    let _ = serde_json::from_slice::<ChannelTopicEntityListing>(bytes);
    let _ = serde_json::from_slice::<AnalyticsConversationQueryResponse>(bytes);
    let text = String::from_utf8_lossy(bytes);
    if let Ok(frame) = parse_frame(&text) {
        let _ = format!("{frame:?}");
    }
    for status in [400, 401, 404, 409, 429, 503, 999] {
        let e = confwatch::platform::error_from_answer("GET /x", status, bytes, None);
        // What reaches a terminal or a log is clean.
        let shown = e.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
    }
    // A conversation that decodes is one the live model and the views can take.
    if let Ok(call) = serde_json::from_slice::<CallConversation>(bytes) {
        let now = chrono::Utc::now();
        let mut model = confwatch::live::LiveModel::new();
        model.apply(confwatch::live::Update::Snapshot(vec![call.clone()]), now);
        let _ = model.conferences();
        let _ = model.participants(&call.id, now);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoders_never_panic_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_random_json(value in json_value()) {
        decode_all(value.to_string().as_bytes());
        // Wrapped as a notification on a calls topic, and as an error body's nested errors.
        let frame = json!({"topicName": "v2.routing.queues.q.conversations.calls", "eventBody": value});
        decode_all(frame.to_string().as_bytes());
        let listing = json!({"entities": [value.clone()], "pageSize": value, "errors": [{"message": EVIL_NAME}]});
        decode_all(listing.to_string().as_bytes());
    }
}

/// A conversation with `EVIL_NAME` among the legs decodes, and the model keeps the name: only
/// the printing cleans it (tested through the binary below).
#[test]
fn an_evil_name_decodes() {
    let call = json!({"id": "c", "participants": [{"id": "p", "name": EVIL_NAME, "purpose": "agent", "state": "connected"}]});
    let call: CallConversation = serde_json::from_value(call).unwrap();
    assert_eq!(call.participants[0].name.as_deref(), Some(EVIL_NAME));
}

// ---- the binary ----

/// Runs the binary against `base_url` with the mock's main client (nothing from the
/// environment or a config file); stdout and stderr are pipes.
async fn confwatch(base_url: &str, h: Option<&Harness>, args: &[&str], dir: &Path) -> Output {
    let client = h.map_or(("id", "secret"), |h| {
        (h.mock.client_id(), h.mock.client_secret())
    });
    tokio::time::timeout(
        PATIENCE,
        common::confwatch_as(dir, base_url, client, args).output(),
    )
    .await
    .expect("confwatch ended")
    .expect("run confwatch")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// No byte that a terminal reads as a control: ESC, BEL, CR, the 8-bit CSI.
fn assert_inert(what: &str, output: &str) {
    let bad: Vec<char> = output
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "{what} printed {bad:?}:\n{output}");
}

/// A conference whose agent is named `EVIL_NAME`; returns (call id, that agent's leg id).
async fn evil_conference(h: &Harness) -> (String, String) {
    let (status, call) = h
        .json(
            Method::POST,
            "/mock/conversations",
            Some(json!({"queue": "Support", "participants": [
                {"name": "Casey Customer", "purpose": "customer", "state": "connected"},
                {"name": "Ava Reed", "purpose": "agent", "state": "connected", "userId": common::AVA},
                {"name": EVIL_NAME, "purpose": "agent", "state": "connected", "userId": common::BEN},
            ]})),
        )
        .await;
    assert_eq!(status, 201, "{call}");
    let leg = call["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == EVIL_NAME)
        .expect("the evil leg")["id"]
        .as_str()
        .unwrap()
        .to_string();
    (call["id"].as_str().unwrap().to_string(), leg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_kick_print_names_without_their_escape_codes() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let (call, leg) = evil_conference(&h).await;
    let dir = common::temp_dir("hostile");
    let base = h.mock.base_url();

    let list = confwatch(&base, Some(&h), &["list"], &dir).await;
    assert_eq!(list.status.code(), Some(0), "{}", text(&list.stderr));
    let stdout = text(&list.stdout);
    assert!(stdout.contains("Eve]0;PWNED"), "{stdout}");
    assert_inert("list", &stdout);

    let kick = confwatch(
        &base,
        Some(&h),
        &[
            "kick",
            "--conversation",
            &call,
            "--participant",
            &leg,
            "--audit-log",
            dir.join("audit.jsonl").to_str().unwrap(),
        ],
        &dir,
    )
    .await;
    let stderr = text(&kick.stderr);
    assert_eq!(kick.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("target: Eve]0;PWNED"), "{stderr}");
    assert_inert("kick", &stderr);
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

#[tokio::test]
async fn a_base_url_without_a_host_is_refused_at_once_not_retried() {
    let dir = common::temp_dir("hostile");
    for bad in ["http://", "http://exa mple.com"] {
        let out = confwatch(bad, None, &["list"], &dir).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("--base-url"), "{stderr}");
        assert!(!stderr.contains("builder error"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A URL that passes the flag's check but that reqwest cannot build a request for is a final
/// error, not a transient one retried as "builder error".
#[tokio::test]
async fn an_unbuildable_request_is_final() {
    let client = client_of("http://127.0.0.1:notaport");
    let err = client.get::<Value>("/api/v2/x").await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.message.contains("could not be built"), "{err}");
}

#[tokio::test]
async fn zero_attempts_is_refused_with_a_clear_message() {
    let dir = common::temp_dir("hostile");
    let id = uuid::Uuid::new_v4().to_string();
    let out = confwatch(
        "http://127.0.0.1:9",
        None,
        &[
            "kick",
            "--conversation",
            &id,
            "--participant",
            &id,
            "--max-attempts",
            "0",
        ],
        &dir,
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("at least 1"), "{stderr}");
    assert!(!stderr.contains("kept refusing"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_huge_invalid_id_is_not_echoed_whole() {
    let dir = common::temp_dir("hostile");
    let huge = format!("{}\u{1b}[2J", "x".repeat(100_000));
    let id = uuid::Uuid::new_v4().to_string();
    let out = confwatch(
        "http://127.0.0.1:9",
        None,
        &["kick", "--conversation", &huge, "--participant", &id],
        &dir,
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        &stderr[..stderr.len().min(300)]
    );
    assert!(stderr.contains("is not a valid id"), "{stderr}");
    assert!(stderr.len() < 400, "{} bytes echoed", stderr.len());
    std::fs::remove_dir_all(&dir).ok();
}

/// The console run from a script (stdout a pipe): a sentence saying what is needed, not only
/// the OS's "No such device or address".
#[tokio::test]
async fn the_console_without_a_terminal_says_what_it_needs() {
    let dir = common::temp_dir("hostile");
    let out = confwatch("http://127.0.0.1:9", None, &[], &dir).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    assert!(stderr.contains("confwatch list"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

/// An error report goes to the log file too: as plain text, no colour codes (raw or escaped).
#[tokio::test]
async fn the_log_file_has_no_colour_codes() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let dir = common::temp_dir("hostile");
    // A wrong secret: `list` fails, and main logs the error report.
    let out = common::confwatch_as(
        &dir,
        &h.mock.base_url(),
        (h.mock.client_id(), "wrong"),
        &["list"],
    )
    .output()
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let log = std::fs::read_to_string(dir.join("confwatch.log")).unwrap();
    assert!(log.contains("login refused"), "{log}");
    assert!(!log.contains('\u{1b}'), "{log}");
    assert!(!log.contains("\\x1b["), "{log}");
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

/// `list` with the variable `var` set to `good` works; each of `bad` stops it with one clear
/// message that starts with `message`, never a silent fall back to the default.
async fn assert_env_number_is_checked(var: &str, good: &str, bad: &[&str], message: &str) {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let dir = common::temp_dir("hostile");
    let client = (h.mock.client_id(), h.mock.client_secret());
    let run = async |value: &str| {
        common::confwatch_as(&dir, &h.mock.base_url(), client, &["list"])
            .env(var, value)
            .output()
            .await
            .unwrap()
    };
    let ok = run(good).await;
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    for value in bad {
        let out = run(value).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{var}={value}: {stderr}");
        assert!(stderr.contains(message), "{var}={value}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
    h.stop().await;
}

/// The answer cap is configurable; a value that makes no sense is one clear message.
#[tokio::test]
async fn the_answer_cap_is_configurable_and_checked() {
    assert_env_number_is_checked(
        "CONFWATCH_MAX_ANSWER_BYTES",
        "65536",
        &["12", "lots", "18446744073709551615"],
        "CONFWATCH_MAX_ANSWER_BYTES must be",
    )
    .await;
}

/// The budget's limit is configurable; a typo, zero or `u64::MAX` is one clear message (a
/// silent fall back to the default would pace an org at the wrong rate).
#[tokio::test]
async fn the_rate_limit_is_configurable_and_checked() {
    assert_env_number_is_checked(
        "CONFWATCH_RATE_LIMIT",
        "600",
        &["0", "3OO", "18446744073709551615", "-5"],
        "CONFWATCH_RATE_LIMIT must be a number of requests a minute",
    )
    .await;
}

//! Shared by the integration tests: the mock crate's [`Harness`] (its `tests/it/harness.rs`:
//! the mock on 127.0.0.1:0, a token, the `/mock/` control API, raw requests, sockets) plus
//! `client`, the product's own platform client, the one under test in the kick, client and CLI
//! tests. The binary's tests run it with [`confwatch_in`] or [`confwatch_as`], isolated in a
//! [`temp_dir`]; [`kick`] runs a kick in a task, as the driver does.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use confwatch::kick::LockHistory;
use confwatch::kick::Wanted;
use confwatch::kick::{self, EventSource, KickOptions, KickRequest};
use confwatch::kick::{Outcome, Progress, Step};
use confwatch::platform::Client;
use confwatch::platform::ConnectionConfig;
use genesys_cloud_mock::MockOptions;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[path = "../../crates/genesys-cloud-mock/tests/it/harness.rs"]
mod mock_harness;
pub(crate) use mock_harness::*;

/// The mock's harness and the product's client of its main OAuth client. Stop it with
/// [`Harness::stop`].
pub(crate) struct Harness {
    raw: mock_harness::Harness,
    /// The scenario's main client (every permission) as the product uses it: the one under test.
    /// It logs in on its first request, so its token (and rate window) is its own.
    pub client: Client,
}

impl std::ops::Deref for Harness {
    type Target = mock_harness::Harness;
    fn deref(&self) -> &Self::Target {
        &self.raw
    }
}

impl Harness {
    /// The built-in scenario `name` as it is, with a token of its main client.
    pub(crate) async fn scenario(name: &str) -> Harness {
        Harness::with_client(mock_harness::Harness::scenario(name).await)
    }

    /// A mock started with `options` (a changed scenario, other limits).
    pub(crate) async fn with_options(options: MockOptions) -> Harness {
        Harness::with_client(mock_harness::Harness::with_options(options).await)
    }

    /// The `quiet` scenario with these faults (`PUT /mock/faults`).
    pub(crate) async fn start(faults: serde_json::Value) -> Harness {
        Harness::with_client(mock_harness::Harness::start(faults).await)
    }

    fn with_client(raw: mock_harness::Harness) -> Harness {
        let client = Client::new(ConnectionConfig::for_mock(
            &raw.mock.base_url(),
            raw.mock.client_id(),
            raw.mock.client_secret(),
        ))
        .expect("client");
        Harness { raw, client }
    }

    pub(crate) async fn stop(self) {
        self.raw.stop().await;
    }

    /// Asserts the platform, read afresh, shows `participant_id` gone from the call.
    pub(crate) async fn assert_gone(&self, conversation_id: &str, participant_id: &str) {
        let now = self.client.call(conversation_id).await.unwrap();
        assert!(
            state_of(&now, participant_id).is_some_and(|s| s.is_gone()),
            "{now:?}"
        );
    }

    /// A client of the scenario's viewer (no kick permission).
    pub(crate) fn viewer(&self) -> Client {
        Client::new(ConnectionConfig::for_mock(
            &self.mock.base_url(),
            VIEWER_ID,
            VIEWER_SECRET,
        ))
        .expect("viewer client")
    }
}

/// A client of a stand-in server at `base` (not the mock), with credentials nobody checks.
pub(crate) fn client_of(base: &str) -> Client {
    Client::new(ConnectionConfig::for_mock(base, "id", "secret")).expect("client")
}

/// Next feed event that matches (a guard stops a hang; it asserts nothing about speed).
pub(crate) async fn next_matching(
    rx: &mut tokio::sync::mpsc::Receiver<confwatch::feed::FeedEvent>,
    wanted: impl Fn(&confwatch::feed::FeedEvent) -> bool,
) -> confwatch::feed::FeedEvent {
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(event) = rx.recv().await {
            if wanted(&event) {
                return Some(event);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(event)) => event,
        _ => panic!("the feed never sent the expected event"),
    }
}

/// The calls of the next complete re-sync from analytics (its pages, up to `ResyncDone`).
pub(crate) async fn next_resync(
    feed: &mut tokio::sync::mpsc::Receiver<confwatch::feed::FeedEvent>,
) -> Vec<confwatch::wire::CallConversation> {
    next_matching(feed, |e| {
        *e == confwatch::feed::FeedEvent::Model(confwatch::live::Update::ResyncStarted)
    })
    .await;
    let mut calls = Vec::new();
    loop {
        match next_matching(feed, |e| {
            matches!(
                e,
                confwatch::feed::FeedEvent::Model(
                    confwatch::live::Update::ResyncPage(_) | confwatch::live::Update::ResyncDone
                )
            )
        })
        .await
        {
            confwatch::feed::FeedEvent::Model(confwatch::live::Update::ResyncPage(page)) => {
                calls.extend(page)
            }
            _ => return calls,
        }
    }
}

/// A fresh directory for one test's files (config, state, log, audit), named after `what`.
pub(crate) fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("confwatch-{what}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary, isolated in `dir`: no credentials, region or profile from the environment; its
/// config, data, state (lock history, sign-in) and log under `dir`; no stdin; killed if dropped.
pub(crate) fn confwatch_in(dir: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_confwatch"));
    command
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET")
        .env_remove("GENESYSCLOUD_ACCESS_TOKEN")
        .env_remove("GENESYSCLOUD_REGION")
        .env_remove("CONFWATCH_PROFILE")
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("CONFWATCH_LOG", dir.join("confwatch.log"))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// [`confwatch_in`] as the client `(id, secret)` of the platform at `base_url`: `args`, then
/// `--base-url` and `--client-id`; the secret in the environment, where a user puts it.
pub(crate) fn confwatch_as(
    dir: &Path,
    base_url: &str,
    (id, secret): (&str, &str),
    args: &[&str],
) -> tokio::process::Command {
    let mut command = confwatch_in(dir);
    command
        .args(args)
        .args(["--base-url", base_url, "--client-id", id])
        .env("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret);
    command
}

/// A kick running in a task, as the driver runs it: its progress and its outcome.
pub(crate) struct KickJob {
    progress: mpsc::UnboundedReceiver<Progress>,
    seen: Vec<Progress>,
    outcome: tokio::task::JoinHandle<Outcome>,
}

/// A kick that hears about the call through its own subscription.
pub(crate) fn kick(
    client: &Client,
    conversation_id: &str,
    wanted: Wanted,
    options: KickOptions,
) -> KickJob {
    kick_learning(client, conversation_id, wanted, options, Arc::default())
}

/// A kick that learns the lock into (and from) `history`.
pub(crate) fn kick_learning(
    client: &Client,
    conversation_id: &str,
    wanted: Wanted,
    options: KickOptions,
    history: Arc<Mutex<LockHistory>>,
) -> KickJob {
    let (tx, progress) = mpsc::unbounded_channel();
    let request = KickRequest {
        conversation_id: conversation_id.to_string(),
        wanted,
        force: false,
    };
    let config = options.machine_config(false);
    let client = client.clone();
    let outcome = tokio::spawn(async move {
        kick::run(
            client,
            request,
            config,
            EventSource::Subscribe,
            CancellationToken::new(),
            None,
            history,
            move |p| {
                let _ = tx.send(p);
            },
        )
        .await
    });
    KickJob {
        progress,
        seen: Vec::new(),
        outcome,
    }
}

impl KickJob {
    /// Waits for the first step that matches.
    pub(crate) async fn until(&mut self, wanted: impl Fn(&Step) -> bool) -> Step {
        while let Some(p) = self.progress.recv().await {
            self.seen.push(p.clone());
            if wanted(&p.step) {
                return p.step;
            }
        }
        panic!("the job ended without the step; saw {:?}", self.seen);
    }

    pub(crate) async fn finish(mut self) -> (Outcome, Vec<Progress>) {
        let outcome = self.outcome.await.expect("job task");
        while let Ok(p) = self.progress.try_recv() {
            self.seen.push(p);
        }
        (outcome, self.seen)
    }
}

/// The lines of one of two panes side by side (split at `││`): the left one or the right one.
pub(crate) fn pane_lines(screen: &str, right: bool) -> Vec<&str> {
    screen
        .lines()
        .filter_map(|l| {
            l.split_once("││")
                .map(|(left, other)| if right { other } else { left })
        })
        .collect()
}

/// The bytes of an audit record's lines up to and including its first `attempt` line (a kick
/// of the same shape writes as many): the room to leave so that the line after it fails.
pub(crate) fn bytes_through_attempt(record: &str) -> usize {
    let through: usize = record
        .split_inclusive('\n')
        .scan(false, |done, line| {
            if *done {
                return None;
            }
            *done = line.contains("\"step\":\"attempt\"");
            Some(line.len())
        })
        .sum();
    assert!(
        record.len() > through,
        "no line after the attempt: {record}"
    );
    through
}

/// `kick` of `target` in `call`, audited to `audit`: the arguments.
pub(crate) fn kick_args<'a>(call: &'a str, target: &'a str, audit: &'a Path) -> Vec<&'a str> {
    let audit = audit.to_str().expect("a UTF-8 path");
    vec![
        "kick",
        "--conversation",
        call,
        "--participant",
        target,
        "--audit-log",
        audit,
    ]
}

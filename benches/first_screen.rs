//! The first screen under the platform's budget: `confwatch list` and the console's first full
//! screen against the mock's `scale` scenario cut to 1,000 and to 10,000 active calls, with the
//! mock's rate limit on (300 requests a minute per token, as the platform), next to the reading
//! confwatch did before issue 9 (the analytics query for ids, then one GET per call, four at a
//! time) measured in the same run on the same mock, stopped at a time cap.
//!
//! Run with `cargo bench --bench first_screen` (optionally `-- CAP_SECONDS`, default 90).
//! Each measurement uses its own client, so its own token and its own budget window.

// A benchmark: a failed unwrap or expect stops it with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;

use confwatch::feed::FeedEvent;
use confwatch::feed::{QueueSelection, read_active_calls, watch};
use confwatch::live::{LiveModel, Update};
use confwatch::platform::ConnectionConfig;
use confwatch::platform::with_retry;
use confwatch::platform::{Client, FailureKind};
use genesys_cloud_mock::{MockOptions, MockServer, Scenario};

struct Figures {
    secs: f64,
    requests: u64,
    calls: usize,
    /// Seconds to the first page of rows (the console only).
    first_rows_secs: Option<f64>,
    capped: bool,
}

fn client(mock: &MockServer) -> Client {
    Client::new(ConnectionConfig::for_mock(
        &mock.base_url(),
        mock.client_id(),
        mock.client_secret(),
    ))
    .expect("client")
}

/// `confwatch list`'s data path: the queues, then the analytics pages.
async fn list(mock: &MockServer) -> Figures {
    let client = client(mock).for_reads();
    let start = Instant::now();
    let queues = with_retry(|| client.queues()).await.expect("queues");
    let ids: Vec<String> = queues.iter().map(|q| q.id.clone()).collect();
    let calls = read_active_calls(&client, &ids).await.expect("calls");
    Figures {
        secs: start.elapsed().as_secs_f64(),
        requests: client.request_count(),
        calls: calls.len(),
        first_rows_secs: None,
        capped: false,
    }
}

/// The console's feed until its first re-sync is done and applied to the live model.
async fn first_screen(mock: &MockServer, cap: Duration) -> Figures {
    let client = client(mock);
    let start = Instant::now();
    let mut feed: mpsc::Receiver<FeedEvent> = watch(client.clone(), QueueSelection::All);
    let mut model = LiveModel::new();
    let mut first_rows = None;
    let mut capped = false;
    loop {
        let event = match tokio::time::timeout_at((start + cap).into(), feed.recv()).await {
            Ok(Some(event)) => event,
            _ => {
                capped = true;
                break;
            }
        };
        let FeedEvent::Model(update) = event else {
            continue;
        };
        let done = update == Update::ResyncDone;
        let page = matches!(update, Update::ResyncPage(_));
        model.apply(update, chrono::Utc::now());
        if page && first_rows.is_none() {
            // What the console's list pane shows is built from these rows.
            let _rows = model.conferences();
            first_rows = Some(start.elapsed().as_secs_f64());
        }
        if done {
            break;
        }
    }
    let _rows = model.conferences();
    Figures {
        secs: start.elapsed().as_secs_f64(),
        requests: client.request_count(),
        calls: model.len(),
        first_rows_secs: first_rows,
        capped,
    }
}

/// The reading before issue 9: ids from the analytics query, then a GET per call, four at a
/// time, each retried on 429 after its Retry-After; stopped at `cap`.
async fn per_call_baseline(mock: &MockServer, cap: Duration) -> Figures {
    let client = client(mock);
    let start = Instant::now();
    let deadline = start + cap;
    let queues = with_retry(|| client.queues()).await.expect("queues");
    let ids: Vec<String> = queues.iter().map(|q| q.id.clone()).collect();
    let calls = read_active_calls(&client, &ids).await.expect("ids");
    let read = futures::stream::iter(calls.into_iter().map(|c| c.id))
        .map(|id| {
            let client = client.clone();
            async move {
                if Instant::now() >= deadline {
                    return false;
                }
                let until = tokio::time::Instant::from_std(deadline);
                tokio::time::timeout_at(until, async {
                    loop {
                        match client.call(&id).await {
                            Ok(_) => return true,
                            Err(e) => match e.kind {
                                FailureKind::RateLimited { retry_after } => {
                                    tokio::time::sleep(retry_after).await
                                }
                                FailureKind::NotFound => return false,
                                _ => tokio::time::sleep(Duration::from_millis(100)).await,
                            },
                        }
                    }
                })
                .await
                .unwrap_or(false)
            }
        })
        .buffer_unordered(4)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    Figures {
        secs: start.elapsed().as_secs_f64(),
        requests: client.request_count(),
        calls: read,
        first_rows_secs: None,
        capped: Instant::now() >= deadline,
    }
}

fn show(what: &str, f: &Figures, wanted: usize) {
    let first = f
        .first_rows_secs
        .map(|s| format!(", first rows at {s:.2} s"))
        .unwrap_or_default();
    let cap = if f.capped {
        " (STOPPED AT THE CAP)"
    } else {
        ""
    };
    println!(
        "  {what:<34} {:>7.2} s  {:>5} requests  {:>6}/{wanted} calls{first}{cap}",
        f.secs, f.requests, f.calls
    );
}

async fn run(calls: u32, cap: Duration) {
    let mut scenario = Scenario::named("scale").expect("scale scenario");
    scenario.calls.initial = calls;
    // The same load per call as the full scenario (200 changes a second at 10,000 calls).
    scenario.calls.changes_per_sec = f64::from(calls) / 50.0;
    scenario.generate.agents = calls * 14 / 10;
    assert_eq!(scenario.faults.rate_limit_per_minute, 300);
    let mock = MockServer::start(MockOptions::loopback(scenario))
        .await
        .expect("mock");
    // Let ringing legs at start connect.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let wanted = calls as usize;
    println!("{calls} active calls, mock budget 300 requests/min per token:");
    let l = list(&mock).await;
    show("confwatch list (analytics pages)", &l, wanted);
    let s = first_screen(&mock, cap).await;
    show("console first full screen", &s, wanted);
    let b = per_call_baseline(&mock, cap).await;
    show("before: GET per call (baseline)", &b, wanted);
    // The baseline's rate, projected to all calls when it was stopped.
    let projected = if b.calls > 0 {
        b.secs * wanted as f64 / b.calls as f64
    } else {
        f64::INFINITY
    };
    println!(
        "  ratio: list {:.0}x faster ({:.0}x fewer requests); the baseline needs ~{:.0} s and ~{} requests for all {calls}{}",
        projected / l.secs,
        (wanted as f64 + 2.0) / l.requests as f64,
        projected,
        wanted + 2,
        if b.capped {
            " (projected from its rate at the cap)"
        } else {
            ""
        }
    );
    mock.shutdown().await;
}

#[tokio::main]
async fn main() {
    let cap = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(90);
    let cap = Duration::from_secs(cap);
    println!(
        "first_screen: time cap {} s per measurement\n",
        cap.as_secs()
    );
    run(1_000, cap).await;
    println!();
    run(10_000, cap).await;
}

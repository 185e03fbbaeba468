//! The mock at scale: 10,000 concurrent calls and 200 state changes per second, delivered to
//! WebSocket subscribers. Prints events per second delivered, p50/p99 delay from change to
//! frame, and memory, next to a baseline of 100 calls measured in the same run.
//!
//! Run with `cargo bench --bench mock_scale` (optionally `-- SECONDS`, default 10).

// A benchmark: a failed unwrap or expect stops it with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use genesys_cloud_mock::{MockOptions, MockServer, Scenario};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const SUBSCRIBERS: usize = 4;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

struct Figures {
    calls: u32,
    frames: u64,
    seconds: f64,
    delays_ms: Vec<i64>,
    rss_before_kib: u64,
    rss_world_kib: u64,
    rss_after_kib: u64,
    start_secs: f64,
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return -1;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

/// Reads one socket for `duration`: frames seen, and change-to-frame delays of new holds.
async fn subscriber(uri: String, duration: Duration) -> (u64, Vec<i64>) {
    let (mut socket, _) = tokio_tungstenite::connect_async(&uri)
        .await
        .expect("socket");
    let mut held: HashMap<String, bool> = HashMap::new();
    let mut frames = 0u64;
    let mut delays = Vec::new();
    let deadline = tokio::time::Instant::now() + duration;
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await {
        let Message::Text(text) = message else {
            continue;
        };
        let received = chrono::Utc::now();
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        if !frame["topicName"]
            .as_str()
            .unwrap_or("")
            .ends_with(".calls")
        {
            continue;
        }
        frames += 1;
        for p in frame["eventBody"]["participants"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let id = p["id"].as_str().unwrap_or("").to_string();
            let now_held = p["held"] == true;
            let was_held = held.insert(id, now_held).unwrap_or(false);
            // A hold that just started: its startHoldTime is the moment of the change.
            if now_held
                && !was_held
                && let Some(at) = p["startHoldTime"].as_str()
                && let Ok(at) = chrono::DateTime::parse_from_rfc3339(at)
            {
                delays.push((received - at.with_timezone(&chrono::Utc)).num_milliseconds());
            }
        }
    }
    (frames, delays)
}

async fn run(calls: u32, seconds: u64) -> Figures {
    let rss_before_kib = rss_kib();
    let mut scenario = Scenario::named("scale").expect("scale scenario");
    scenario.calls.initial = calls;
    let started = Instant::now();
    let server = MockServer::start(MockOptions::loopback(scenario))
        .await
        .expect("mock");
    let start_secs = started.elapsed().as_secs_f64();
    let rss_world_kib = rss_kib();
    // Let the legs ringing at start connect (scale.toml rings them for at most 0.5 s), so
    // what is measured is the steady load of `changes_per_sec`.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let http = confwatch::platform::http_builder().build().unwrap();
    let base = server.base_url();
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(server.client_id(), Some(server.client_secret()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = token["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let queues: Value = http
        .get(format!("{base}/api/v2/routing/queues?pageSize=100"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("queues")
        .json()
        .await
        .expect("queues json");
    let topics: Vec<Value> = queues["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .map(|q| json!({"id": format!("v2.routing.queues.{}.conversations.calls", q["id"].as_str().unwrap_or(""))}))
        .collect();
    let mut tasks = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let channel: Value = http
            .post(format!("{base}/api/v2/notifications/channels"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("channel")
            .json()
            .await
            .expect("channel json");
        let id = channel["id"].as_str().expect("channel id");
        let status = http
            .put(format!(
                "{base}/api/v2/notifications/channels/{id}/subscriptions"
            ))
            .bearer_auth(&token)
            .json(&topics)
            .send()
            .await
            .expect("subscribe")
            .status();
        assert_eq!(status, 200);
        let uri = channel["connectUri"].as_str().expect("uri").to_string();
        tasks.push(tokio::spawn(subscriber(uri, Duration::from_secs(seconds))));
    }
    let mut frames = 0;
    let mut delays_ms = Vec::new();
    for task in tasks {
        let (n, d) = task.await.expect("subscriber");
        frames += n;
        delays_ms.extend(d);
    }
    let rss_after_kib = rss_kib();
    server.shutdown().await;
    delays_ms.sort_unstable();
    Figures {
        calls,
        frames,
        seconds: seconds as f64,
        delays_ms,
        rss_before_kib,
        rss_world_kib,
        rss_after_kib,
        start_secs,
    }
}

fn print(label: &str, f: &Figures) {
    println!(
        "{label:<9} calls={:>6}  subscribers={SUBSCRIBERS}  start={:.2}s  frames/s={:>7.1} (per socket {:.1}, target 200)  \
         change->frame p50={}ms p99={}ms (n={})  VmRSS before={}MiB world={}MiB after={}MiB",
        f.calls,
        f.start_secs,
        f.frames as f64 / f.seconds,
        f.frames as f64 / f.seconds / SUBSCRIBERS as f64,
        percentile(&f.delays_ms, 0.50),
        percentile(&f.delays_ms, 0.99),
        f.delays_ms.len(),
        f.rss_before_kib / 1024,
        f.rss_world_kib / 1024,
        f.rss_after_kib / 1024,
    );
}

fn main() {
    let seconds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(10);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let baseline = run(100, seconds).await;
        print("baseline", &baseline);
        let scale = run(10_000, seconds).await;
        print("scale", &scale);
    });
}

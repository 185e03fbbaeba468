//! The mock's request log as the kick benchmarks read it (shared by `kick_latency` and
//! `kick_outage` through `#[path]`).

use chrono::{DateTime, Utc};
use confwatch::platform::Client;
use serde_json::Value;

pub(crate) async fn last_seq(control: &Client) -> color_eyre::Result<u64> {
    let log = requests(control, 0).await?;
    Ok(log.last().and_then(|r| r["seq"].as_u64()).unwrap_or(0))
}

pub(crate) async fn requests(control: &Client, since: u64) -> color_eyre::Result<Vec<Value>> {
    let log: Value = control
        .get(&format!("/mock/requests?since={since}"))
        .await?;
    Ok(log
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| !r["path"].as_str().unwrap_or("").starts_with("/mock/"))
        .collect())
}

pub(crate) fn at(r: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(r["at"].as_str().unwrap_or_default())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

pub(crate) fn is_patch_of(r: &Value, target: &str) -> bool {
    r["method"] == "PATCH" && r["path"].as_str().unwrap_or("").ends_with(target)
}

//! The mock as the kick benchmarks drive it (shared by `kick_latency` and `kick_outage` through
//! `#[path]`): a scripted conference and its request log.

use chrono::{DateTime, Utc};
use confwatch::platform::Client;
use confwatch::wire::CallConversation;
use reqwest::Method;
use serde_json::{Value, json};

/// A conference of the quiet scenario's customer, Ava (the target, in `target_state`) and Ben.
pub(crate) async fn conference(
    control: &Client,
    target_state: &str,
) -> color_eyre::Result<(CallConversation, String)> {
    let call: CallConversation = control
        .send_json(
            Method::POST,
            "/mock/conversations",
            &json!({"queue": "Support", "participants": [
                {"name": "Casey Customer", "purpose": "customer", "state": "connected"},
                {"name": "Ava Reed", "purpose": "agent", "state": target_state, "userId": "a0000000-0000-4000-8000-000000000001"},
                {"name": "Ben Ortiz", "purpose": "agent", "state": "connected", "userId": "a0000000-0000-4000-8000-000000000002"},
            ]}),
        )
        .await?;
    let target = call
        .participants
        .iter()
        .find(|p| p.name.as_deref() == Some("Ava Reed"))
        .map(|p| p.id.clone())
        .ok_or_else(|| color_eyre::eyre::eyre!("no target leg"))?;
    Ok((call, target))
}

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

//! The mock's answers against the platform's documented behaviour (issue 10): what a participant
//! PATCH may ask for and which permissions the SDK docs name.

use crate::harness::{Harness, SALES_ID, SUPPORT_ID, VIEWER_ID, VIEWER_SECRET, leg_of, raw};
use reqwest::Method;
use serde_json::{Value, json};

/// `MediaParticipantRequest.state` allows `connected`: a ringing leg is answered (202, empty
/// body), and `disconnected` still removes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participant_patch_connected_answers_a_ringing_leg() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let call = h.conference_with("alerting", "connected").await;
    let ava = leg_of(&call, "Ava Reed");
    let path = format!("/api/v2/conversations/calls/{}/participants/{ava}", call.id);
    let answer = h
        .text(Method::PATCH, &path, Some(json!({"state": "connected"})))
        .await;
    assert_eq!(answer, (202, String::new()));
    let after = h
        .wait_for(&call.id, |c| raw::state_of(c, "Ava Reed") == "connected")
        .await;
    assert!(raw::leg(&after, "Ava Reed").get("disconnectType").is_none());
    let refused = h
        .text(Method::PATCH, &path, Some(json!({"state": "alerting"})))
        .await;
    assert_eq!(refused.0, 400);
    h.stop().await;
}

/// `POST /api/v2/conversations/{id}/disconnect` needs `conversation:communication:disconnect`
/// (ConversationsApi docs), and `GET .../calls/{id}` needs no permission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_follow_the_sdk_docs() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let call = h.conference_with("connected", "connected").await;
    let viewer = h.token_json(VIEWER_ID, VIEWER_SECRET).await;
    let viewer = viewer["access_token"].as_str().unwrap().to_string();
    let get = h
        .send_as(
            &viewer,
            Method::GET,
            &format!("/api/v2/conversations/calls/{}", call.id),
            None,
        )
        .await;
    assert_eq!(get.status(), 200);
    let teardown = h
        .send_as(
            &viewer,
            Method::POST,
            &format!("/api/v2/conversations/{}/disconnect", call.id),
            None,
        )
        .await;
    assert_eq!(teardown.status(), 403);
    let body: Value = teardown.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("conversation:communication:disconnect"),
        "{body}"
    );
    h.stop().await;
}

/// A call transferred from Support to Sales (Ava leaves as `transfer`, Dev of Sales takes it):
/// one `acd` participant per queue, both ended as `transfer`, each leg naming the queue it
/// served (GET and generic shapes), both queues' topics hear of it, and the details query finds
/// it under either queue, its segments naming both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_transferred_to_another_queue_is_in_both() {
    let h = Harness::start(json!({"rateLimitPerMinute": 0})).await;
    let topic = |id: &str| format!("v2.routing.queues.{id}.conversations.calls");
    let (_, mut support) = h.channel(&[topic(SUPPORT_ID)]).await;
    let (_, mut sales) = h.channel(&[topic(SALES_ID)]).await;
    let call = h
        .call(&[
            crate::harness::Leg("Casey Customer", "customer", "connected", None),
            crate::harness::Leg("Support", "acd", "disconnected", None),
            crate::harness::Leg("Ava Reed", "agent", "connected", Some(crate::harness::AVA)),
        ])
        .await;
    let moved = h
        .transfer(
            &call.id,
            json!({"queue": "Sales", "agent": {"name": "Dev Patel", "purpose": "agent"}}),
        )
        .await;
    let queue_of = |name: &str| raw::leg(&moved, name)["queue"]["id"].clone();
    assert_eq!(queue_of("Ava Reed"), SUPPORT_ID);
    assert_eq!(raw::state_of(&moved, "Ava Reed"), "disconnected");
    assert_eq!(raw::leg(&moved, "Ava Reed")["disconnectType"], "transfer");
    assert_eq!(queue_of("Dev Patel"), SALES_ID);
    assert_eq!(raw::state_of(&moved, "Dev Patel"), "connected");
    assert!(raw::leg(&moved, "Casey Customer").get("queue").is_none());
    let acd: Vec<(Value, Value, Value)> = moved["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["purpose"] == "acd")
        .map(|p| {
            (
                p["queue"]["id"].clone(),
                p["state"].clone(),
                p["disconnectType"].clone(),
            )
        })
        .collect();
    assert_eq!(
        acd,
        [
            (json!(SUPPORT_ID), json!("disconnected"), json!("endpoint")),
            (json!(SALES_ID), json!("disconnected"), json!("transfer")),
        ]
    );
    let (_, generic) = h
        .json(
            Method::GET,
            &format!("/api/v2/conversations/{}", call.id),
            None,
        )
        .await;
    let generic_queues: Vec<&Value> = generic["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["purpose"] == "acd")
        .map(|p| &p["queueId"])
        .collect();
    assert_eq!(generic_queues, [SUPPORT_ID, SALES_ID]);
    // Both queues' topics carry the call after the transfer.
    for socket in [&mut support, &mut sales] {
        let frame = crate::harness::frame_where(socket, |f| {
            f["eventBody"]["id"] == call.id.as_str()
                && f["eventBody"]["participants"]
                    .as_array()
                    .is_some_and(|p| p.len() == 5)
        })
        .await;
        assert!(
            frame["topicName"]
                .as_str()
                .unwrap()
                .ends_with(".conversations.calls")
        );
    }
    // The details query finds it under either queue; its segments name both.
    let path = "/api/v2/analytics/conversations/details/query";
    let interval = format!(
        "{}/{}",
        (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%S%.3fZ")
    );
    for queue in [SUPPORT_ID, SALES_ID] {
        let (status, found) = h
            .json(
                Method::POST,
                path,
                Some(json!({
                    "interval": interval,
                    "segmentFilters": [{"type": "or", "predicates": [
                        {"type": "dimension", "dimension": "queueId", "value": queue}]}],
                })),
            )
            .await;
        assert_eq!(status, 200, "{found}");
        let conversations = found["conversations"].as_array().unwrap();
        assert_eq!(conversations.len(), 1, "{queue}: {found}");
        let mut segment_queues: Vec<&str> = conversations[0]["participants"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["sessions"][0]["segments"].as_array().unwrap())
            .filter_map(|s| s["queueId"].as_str())
            .collect();
        segment_queues.sort();
        segment_queues.dedup();
        let mut both = [SUPPORT_ID, SALES_ID];
        both.sort();
        assert_eq!(segment_queues, both);
    }
    h.stop().await;
}

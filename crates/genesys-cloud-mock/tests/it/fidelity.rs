//! The mock's answers against the platform's documented behaviour (issue 10): what a participant
//! PATCH may ask for and which permissions the SDK docs name.

use crate::harness::{Harness, VIEWER_ID, VIEWER_SECRET, leg_of, raw};
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

//! The mock platform over loopback: every endpoint, error, fault and control call.

use crate::harness;

use std::time::Duration;

use futures::SinkExt;
use harness::raw::{leg, leg_id, state_of};
use harness::{
    AVA, BEN, Harness, SALES_ID, SUPPORT_ID, VIEWER_ID, VIEWER_SECRET, connect, next_frame,
    read_until_closed,
};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn token_endpoint_checks_credentials_and_grant() {
    let env = Harness::scenario("quiet").await;
    let base = env.mock.base_url();
    let good = env
        .token_json(env.mock.client_id(), env.mock.client_secret())
        .await;
    assert_eq!(good["token_type"], "bearer");
    assert_eq!(good["expires_in"], 86400);

    let wrong = env.token_for(env.mock.client_id(), "wrong").await;
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["status"], 401);
    assert!(body["contextId"].is_string());

    let grant = env
        .http
        .post(format!("{base}/oauth/token"))
        .basic_auth(env.mock.client_id(), Some(env.mock.client_secret()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), 400);

    // Unknown and missing bearers.
    let unknown = env
        .send_as("nope", Method::GET, "/api/v2/routing/queues", None)
        .await;
    assert_eq!(unknown.status(), 401);
    let missing = env
        .http
        .get(env.url("/api/v2/routing/queues"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let control = env.send_as("nope", Method::GET, "/mock/faults", None).await;
    assert_eq!(control.status(), 401);
    assert!(!format!("{:?}", env.mock).contains(env.mock.client_secret()));
    env.stop().await;
}

#[tokio::test]
async fn short_tokens_expire() {
    let env = Harness::scenario("quiet").await;
    env.faults(json!({"tokenLifetimeSecs": 1})).await;
    let answer = env
        .token_json(env.mock.client_id(), env.mock.client_secret())
        .await;
    assert_eq!(answer["expires_in"], 1);
    let short = answer["access_token"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let expired = env
        .send_as(&short, Method::GET, "/api/v2/routing/queues", None)
        .await;
    assert_eq!(expired.status(), 401);
    env.stop().await;
}

#[tokio::test]
async fn the_kick_removes_one_leg_and_the_others_stay() {
    let env = Harness::scenario("quiet").await;
    for path in ["/api/v2/conversations/calls", "/api/v2/conversations"] {
        let call = env.conference_json("connected").await;
        let id = call["id"].as_str().unwrap();
        let ben = leg_id(&call, "Ben Ortiz");
        let answer = env
            .send(
                Method::PATCH,
                &format!("{path}/{id}/participants/{ben}"),
                Some(json!({"state": "disconnected"})),
            )
            .await;
        assert_eq!(answer.status(), 202);
        assert!(
            answer.text().await.unwrap().is_empty(),
            "202 has an empty body"
        );
        let after = env
            .wait_for(id, |c| state_of(c, "Ben Ortiz") == "disconnected")
            .await;
        let ben_leg = leg(&after, "Ben Ortiz");
        assert!(ben_leg["endTime"].is_string());
        assert_eq!(ben_leg["disconnectType"], "client");
        assert_eq!(state_of(&after, "Ava Reed"), "connected");
        assert_eq!(state_of(&after, "Carla Customer"), "connected");

        // Removing a leg that is gone: the documented 400.
        let again = env
            .json(
                Method::PATCH,
                &format!("{path}/{id}/participants/{ben}"),
                Some(json!({"state": "disconnected"})),
            )
            .await;
        assert_eq!(again.0, 400);
        assert_eq!(again.1["code"], "conversation.error.call.disconnected");
    }
    env.stop().await;
}

#[tokio::test]
async fn fewer_than_two_live_legs_end_the_call_and_disconnect_ends_all() {
    let env = Harness::scenario("quiet").await;
    let (_, call) = env
        .json(
            Method::POST,
            "/mock/conversations",
            Some(json!({"queue": SUPPORT_ID, "participants": [
                {"name": "Carla Customer", "purpose": "customer"},
                {"name": "Ava Reed", "purpose": "agent", "userId": AVA},
            ]})),
        )
        .await;
    let id = call["id"].as_str().unwrap();
    let ava = leg_id(&call, "Ava Reed");
    let status = env
        .send(
            Method::PATCH,
            &format!("/api/v2/conversations/calls/{id}/participants/{ava}"),
            Some(json!({"state": "disconnected"})),
        )
        .await
        .status();
    assert_eq!(status, 202);
    let ended = env
        .wait_for(id, |c| state_of(c, "Carla Customer") == "disconnected")
        .await;
    assert_eq!(leg(&ended, "Carla Customer")["disconnectType"], "peer");
    let generic = env
        .json(Method::GET, &format!("/api/v2/conversations/{id}"), None)
        .await
        .1;
    assert!(generic["endTime"].is_string());

    let call = env.conference_json("connected").await;
    let id = call["id"].as_str().unwrap();
    let answer = env
        .send(
            Method::POST,
            &format!("/api/v2/conversations/{id}/disconnect"),
            None,
        )
        .await;
    assert_eq!(answer.status(), 202);
    let ended = env
        .wait_for(id, |c| {
            c["participants"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["state"] == "disconnected")
        })
        .await;
    assert_eq!(ended["participants"].as_array().unwrap().len(), 3);
    env.stop().await;
}

#[tokio::test]
async fn patch_errors_have_the_documented_codes() {
    let env = Harness::scenario("quiet").await;
    let call = env.conference_json("connected").await;
    let id = call["id"].as_str().unwrap();
    let ben = leg_id(&call, "Ben Ortiz");
    let path = format!("/api/v2/conversations/calls/{id}/participants/{ben}");

    let invalid = env
        .json(Method::PATCH, &path, Some(json!({"state": "flying"})))
        .await;
    assert_eq!(invalid.0, 400);
    assert!(invalid.1["contextId"].is_string());

    let text = env
        .http
        .patch(env.url(&path))
        .bearer_auth(&env.token)
        .header("content-type", "text/plain")
        .body("state=disconnected")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    let body: Value = text.json().await.unwrap();
    assert_eq!(body["code"], "unsupported.media.type");

    let broken = env
        .http
        .patch(env.url(&path))
        .bearer_auth(&env.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);

    let no_call = env
        .json(
            Method::PATCH,
            &format!("/api/v2/conversations/calls/nope/participants/{ben}"),
            Some(json!({"state": "disconnected"})),
        )
        .await;
    assert_eq!(no_call.0, 404);
    assert_eq!(
        no_call.1["code"],
        "conversation.error.conversation.not.found"
    );

    let no_leg = env
        .json(
            Method::PATCH,
            &format!("/api/v2/conversations/calls/{id}/participants/nope"),
            Some(json!({"state": "disconnected"})),
        )
        .await;
    assert_eq!(no_leg.0, 404);
    assert_eq!(
        no_leg.1["code"],
        "conversation.error.not.conversation.participant"
    );

    let missing = env
        .json(Method::GET, "/api/v2/conversations/calls/nope", None)
        .await;
    assert_eq!(missing.0, 404);

    // A client without the kick's permissions.
    let viewer = env.token_json(VIEWER_ID, VIEWER_SECRET).await;
    let viewer = viewer["access_token"].as_str().unwrap();
    let forbidden = env
        .send_as(
            viewer,
            Method::PATCH,
            &path,
            Some(json!({"state": "disconnected"})),
        )
        .await;
    assert_eq!(forbidden.status(), 403);
    let body: Value = forbidden.json().await.unwrap();
    assert_eq!(body["code"], "missing.any.permissions");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("conversation:communication:disconnect")
    );
    // The viewer may still read.
    let read = env
        .send_as(
            viewer,
            Method::GET,
            &format!("/api/v2/conversations/calls/{id}"),
            None,
        )
        .await;
    assert_eq!(read.status(), 200);

    // held and muted work.
    let hold = env
        .send(Method::PATCH, &path, Some(json!({"held": true})))
        .await;
    assert_eq!(hold.status(), 202);
    let held = env
        .wait_for(id, |c| leg(c, "Ben Ortiz")["held"] == true)
        .await;
    assert!(leg(&held, "Ben Ortiz")["startHoldTime"].is_string());
    env.stop().await;
}

#[tokio::test]
async fn transition_lock_refuses_unsettled_legs() {
    let env = Harness::scenario("quiet").await;
    env.faults(json!({"transitionLock": {"enabled": true, "settleMs": 600000}}))
        .await;
    let call = env.conference_json("alerting").await;
    let id = call["id"].as_str().unwrap();
    let ben = leg_id(&call, "Ben Ortiz");
    let path = format!("/api/v2/conversations/calls/{id}/participants/{ben}");
    let kick = json!({"state": "disconnected"});

    let locked = env.json(Method::PATCH, &path, Some(kick.clone())).await;
    assert_eq!(locked.0, 409);
    assert_eq!(
        locked.1["message"],
        "Participant cannot be removed at this time."
    );
    assert_eq!(locked.1["status"], 409);

    // Connected, but it just changed: still locked while it settles.
    let control = env
        .send(
            Method::PATCH,
            &format!("/mock/conversations/{id}/participants/{ben}"),
            Some(json!({"state": "connected"})),
        )
        .await;
    assert_eq!(control.status(), 202);
    assert_eq!(state_of(&env.get_call(id).await, "Ben Ortiz"), "connected");
    assert_eq!(
        env.send(Method::PATCH, &path, Some(kick.clone()))
            .await
            .status(),
        409
    );

    // Settled (settle time off): the kick goes through.
    env.faults(json!({"transitionLock": {"settleMs": 0}})).await;
    assert_eq!(
        env.send(Method::PATCH, &path, Some(kick)).await.status(),
        202
    );
    env.wait_for(id, |c| state_of(c, "Ben Ortiz") == "disconnected")
        .await;
    env.stop().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_no_ratelimit_headers() {
    let env = Harness::scenario("quiet").await;
    // A 3 s window (the platform's is 60 s) so the test can also see the window end.
    let faults = env
        .faults(json!({"rateLimitPerMinute": 3, "rateLimitWindowSecs": 3}))
        .await;
    assert_eq!(faults["rateLimitWindowSecs"], 3);
    for n in 1..=3 {
        let answer = env.send(Method::GET, "/api/v2/routing/queues", None).await;
        assert_eq!(answer.status(), 200);
        // The platform stopped sending `inin-ratelimit-*` after 2021-06-05.
        let headers = answer.headers();
        assert!(!headers.contains_key("inin-ratelimit-count"), "request {n}");
        assert!(!headers.contains_key("inin-ratelimit-allowed"));
    }
    let limited = env.send(Method::GET, "/api/v2/routing/queues", None).await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry));
    assert!(!limited.headers().contains_key("inin-ratelimit-reset"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "too.many.requests");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("within [3] seconds"),
        "{body}"
    );

    // The log has every request with its status and client.
    let (_, log) = env.json(Method::GET, "/mock/requests?since=0", None).await;
    let log = log.as_array().unwrap();
    let statuses: Vec<u64> = log.iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(
        statuses,
        vec![200, 200, 200, 200, 429],
        "token + 3 reads + the refused one"
    );
    assert_eq!(log[0]["path"], "/oauth/token");
    assert_eq!(log[4]["method"], "GET");
    assert_eq!(log[4]["clientId"], "quiet-admin");
    let at = log[4]["at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok());
    assert_eq!(
        at.len(),
        "2026-11-28T06:18:02.000Z".len(),
        "milliseconds: {at}"
    );
    let since = log[3]["seq"].as_u64().unwrap();
    let (_, later) = env
        .json(Method::GET, &format!("/mock/requests?since={since}"), None)
        .await;
    assert_eq!(later.as_array().unwrap().len(), 1);

    // Once Retry-After has passed, a new window admits again and counts from one.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let again = env.send(Method::GET, "/api/v2/routing/queues", None).await;
    assert_eq!(again.status(), 200);

    // The window is checked: 1 to 3600 s.
    for window in [0, 3601] {
        let refused = env
            .send(
                Method::PUT,
                "/mock/faults",
                Some(json!({"rateLimitWindowSecs": window})),
            )
            .await;
        assert_eq!(refused.status(), 400);
    }
    let (_, shown) = env.json(Method::GET, "/mock/faults", None).await;
    assert_eq!(shown["rateLimitWindowSecs"], 3);
    env.stop().await;
}

#[tokio::test]
async fn server_errors_and_latency_faults() {
    let env = Harness::scenario("quiet").await;
    env.faults(json!({"serverErrorRate": 1.0, "serverErrorStatus": 504}))
        .await;
    let (status, body) = env.json(Method::GET, "/api/v2/routing/queues", None).await;
    assert_eq!(status, 504);
    assert_eq!(body["code"], "request.timeout");
    env.faults(json!({"serverErrorRate": 1.0, "serverErrorStatus": 503}))
        .await;
    let (status, body) = env.json(Method::GET, "/api/v2/routing/queues", None).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "service.unavailable");
    let faults = env
        .faults(json!({"serverErrorRate": 0.0, "latencyMs": 50}))
        .await;
    assert_eq!(faults["latencyMs"], 50);
    assert_eq!(faults["serverErrorStatus"], 503, "fields not named stay");
    let started = std::time::Instant::now();
    assert_eq!(
        env.send(Method::GET, "/api/v2/routing/queues", None)
            .await
            .status(),
        200
    );
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "latency is added"
    );
    let bad = env
        .send(
            Method::PUT,
            "/mock/faults",
            Some(json!({"serverErrorRate": 3.0})),
        )
        .await;
    assert_eq!(bad.status(), 400);
    let (_, faults) = env.json(Method::GET, "/mock/faults", None).await;
    assert_eq!(faults["serverErrorRate"], 0.0);
    env.stop().await;
}

#[tokio::test]
async fn queues_list_with_paging_and_name_filter() {
    let env = Harness::scenario("quiet").await;
    let (status, all) = env.json(Method::GET, "/api/v2/routing/queues", None).await;
    assert_eq!(status, 200);
    assert_eq!(all["total"], 2);
    let (_, page) = env
        .json(
            Method::GET,
            "/api/v2/routing/queues?pageSize=1&pageNumber=2",
            None,
        )
        .await;
    assert_eq!(page["entities"].as_array().unwrap().len(), 1);
    assert_eq!(page["pageCount"], 2);
    assert!(page["previousUri"].is_string());
    assert!(page.get("nextUri").is_none());
    let (_, named) = env
        .json(Method::GET, "/api/v2/routing/queues?name=sal*", None)
        .await;
    assert_eq!(named["entities"][0]["id"], SALES_ID);
    assert_eq!(named["total"], 1);
    let bad = env
        .send(Method::GET, "/api/v2/routing/queues?pageSize=x", None)
        .await;
    assert_eq!(bad.status(), 400);
    env.stop().await;
}

#[tokio::test]
async fn analytics_finds_active_calls_by_queue() {
    let env = Harness::scenario("quiet").await;
    let support = env.conference_json("connected").await;
    let (_, sales) = env
        .json(
            Method::POST,
            "/mock/conversations",
            Some(json!({"queue": "Sales", "participants": [
                {"name": "Dana", "purpose": "customer"},
                {"name": "Chloe Nakamura", "purpose": "agent"},
            ]})),
        )
        .await;
    let now = chrono::Utc::now();
    let interval = format!(
        "{}/{}",
        (now - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        (now + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    let query = |queue: Option<&str>, page: i64| {
        let mut q = json!({
            "interval": interval,
            "conversationFilters": [{"type": "and", "predicates": [
                {"type": "dimension", "dimension": "conversationEnd", "operator": "notExists"}]}],
            "paging": {"pageSize": 1, "pageNumber": page},
        });
        if let Some(queue) = queue {
            q["segmentFilters"] = json!([{"type": "or", "predicates": [
                {"type": "dimension", "dimension": "queueId", "value": queue}]}]);
        }
        q
    };
    let path = "/api/v2/analytics/conversations/details/query";
    let (status, all) = env.json(Method::POST, path, Some(query(None, 1))).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["totalHits"], 2);
    assert_eq!(all["conversations"].as_array().unwrap().len(), 1);
    let (_, support_only) = env
        .json(Method::POST, path, Some(query(Some(SUPPORT_ID), 1)))
        .await;
    assert_eq!(support_only["totalHits"], 1);
    assert_eq!(
        support_only["conversations"][0]["conversationId"],
        support["id"]
    );
    let session = &support_only["conversations"][0]["participants"][0]["sessions"][0];
    assert_eq!(session["mediaType"], "voice");

    // An ended call no longer matches `conversationEnd notExists`.
    let id = sales["id"].as_str().unwrap();
    assert_eq!(
        env.send(
            Method::POST,
            &format!("/api/v2/conversations/{id}/disconnect"),
            None
        )
        .await
        .status(),
        202
    );
    env.wait_for(id, |c| c["participants"][0]["state"] == "disconnected")
        .await;
    let (_, after) = env.json(Method::POST, path, Some(query(None, 1))).await;
    assert_eq!(after["totalHits"], 1);
    let (_, beyond) = env.json(Method::POST, path, Some(query(None, 5))).await;
    assert!(
        beyond.get("conversations").is_none(),
        "an empty page omits the list"
    );

    let bad = env
        .send(Method::POST, path, Some(json!({"interval": "yesterday"})))
        .await;
    assert_eq!(bad.status(), 400);
    env.stop().await;
}

#[tokio::test]
async fn notifications_deliver_queue_and_user_events() {
    let env = Harness::scenario("quiet").await;
    env.faults(json!({"heartbeatSecs": 1})).await;
    let queue_topic = format!("v2.routing.queues.{SUPPORT_ID}.conversations.calls");
    let generic_topic = format!("v2.routing.queues.{SUPPORT_ID}.conversations");
    let user_topic = format!("v2.users.{BEN}.conversations.calls");
    let (id, mut socket) = env
        .channel(&[
            queue_topic.clone(),
            generic_topic.clone(),
            user_topic.clone(),
        ])
        .await;

    let call = env.conference_json("alerting").await;
    let frame = next_frame(&mut socket, &queue_topic).await;
    assert_eq!(frame["eventBody"]["id"], call["id"]);
    assert_eq!(
        frame["eventBody"]["participants"].as_array().unwrap().len(),
        3
    );
    assert!(frame["metadata"]["CorrelationId"].is_string());
    let generic = next_frame(&mut socket, &generic_topic).await;
    assert!(generic["eventBody"]["participants"][0]["calls"].is_array());
    let user = next_frame(&mut socket, &user_topic).await;
    assert_eq!(user["eventBody"]["id"], call["id"]);

    // A change arrives as the whole conversation.
    let conv = call["id"].as_str().unwrap();
    let ben = leg_id(&call, "Ben Ortiz");
    env.send(
        Method::PATCH,
        &format!("/mock/conversations/{conv}/participants/{ben}"),
        Some(json!({"state": "connected", "afterMs": 20})),
    )
    .await;
    let changed = next_frame(&mut socket, &queue_topic).await;
    assert_eq!(state_of(&changed["eventBody"], "Ben Ortiz"), "connected");

    // Ping and heartbeat.
    socket
        .send(Message::Text(r#"{"message":"ping"}"#.into()))
        .await
        .unwrap();
    // The answer to the ping (a heartbeat may come first).
    let pong = loop {
        let frame = next_frame(&mut socket, "channel.metadata").await;
        if frame["eventBody"]["message"] != "WebSocket Heartbeat" {
            break frame;
        }
    };
    assert_eq!(pong["eventBody"]["message"], "pong");
    let beat = loop {
        let frame = next_frame(&mut socket, "channel.metadata").await;
        if frame["eventBody"]["message"] == "WebSocket Heartbeat" {
            break frame;
        }
    };
    assert_eq!(beat["topicName"], "channel.metadata");

    // Listing, then deleting, the subscriptions.
    let path = format!("/api/v2/notifications/channels/{id}/subscriptions");
    let (_, listed) = env.json(Method::GET, &path, None).await;
    assert_eq!(listed["entities"].as_array().unwrap().len(), 3);
    assert_eq!(env.send(Method::DELETE, &path, None).await.status(), 200);
    let (_, listed) = env.json(Method::GET, &path, None).await;
    assert!(listed["entities"].as_array().unwrap().is_empty());
    env.stop().await;
}

#[tokio::test]
async fn subscriptions_reject_bad_topics() {
    let env = Harness::scenario("quiet").await;
    let (_, channel) = env
        .json(Method::POST, "/api/v2/notifications/channels", None)
        .await;
    let id = channel["id"].as_str().unwrap();
    let path = format!("/api/v2/notifications/channels/{id}/subscriptions");
    let good = format!("v2.routing.queues.{SUPPORT_ID}.conversations.calls");
    let topics = json!([{"id": good}, {"id": "v2.conversations.123"}]);

    let (status, body) = env.json(Method::POST, &path, Some(topics.clone())).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = env
        .json(
            Method::POST,
            &format!("{path}?ignoreErrors=true"),
            Some(topics),
        )
        .await;
    assert_eq!(status, 200);
    let entities = body["entities"].as_array().unwrap();
    let rejected = entities
        .iter()
        .find(|e| e["id"] == "v2.conversations.123")
        .unwrap();
    assert_eq!(rejected["state"], "Rejected");
    assert!(rejected["rejectionReason"].is_string());
    assert_eq!(
        entities.iter().find(|e| e["id"] == good.as_str()).unwrap()["state"],
        "Permitted"
    );

    let distinct: Vec<Value> = (0..1001)
        .map(|n| json!({"id": format!("v2.users.{n}.conversations.calls")}))
        .collect();
    let (status, body) = env
        .json(
            Method::PUT,
            &format!("{path}?ignoreErrors=true"),
            Some(Value::Array(distinct)),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["code"],
        "notification.subscription.too.many.subscriptions"
    );

    let unknown_channel = env
        .json(
            Method::GET,
            "/api/v2/notifications/channels/nope/subscriptions",
            None,
        )
        .await;
    assert_eq!(unknown_channel.0, 404);
    env.stop().await;
}

#[tokio::test]
async fn a_second_socket_drops_the_first_and_drops_send_socket_closing() {
    let env = Harness::scenario("quiet").await;
    let topic = format!("v2.routing.queues.{SUPPORT_ID}.conversations.calls");
    let (id, mut first) = env.channel(std::slice::from_ref(&topic)).await;
    let uri = format!("ws://{}/channels/{id}", env.mock.local_addr());
    let mut second = connect(&uri).await;
    let seen = read_until_closed(&mut first).await;
    assert!(!seen.contains(&topic));
    // The second socket still gets events.
    env.conference_json("connected").await;
    next_frame(&mut second, &topic).await;

    env.faults(json!({"socketDropAfterSecs": 1, "socketClosingNotice": true}))
        .await;
    let mut third = connect(&uri).await;
    let seen = read_until_closed(&mut third).await;
    assert_eq!(
        seen.last().map(String::as_str),
        Some("v2.system.socket_closing")
    );

    env.faults(json!({"socketClosingNotice": false})).await;
    let mut fourth = connect(&uri).await;
    let seen = read_until_closed(&mut fourth).await;
    assert!(!seen.iter().any(|t| t == "v2.system.socket_closing"));

    let missing =
        tokio_tungstenite::connect_async(format!("ws://{}/channels/nope", env.mock.local_addr()))
            .await;
    assert!(missing.is_err());
    env.stop().await;
}

#[tokio::test]
async fn control_api_scripts_changes_and_resets() {
    let env = Harness::scenario("quiet").await;
    let call = env.conference_json("alerting").await;
    let id = call["id"].as_str().unwrap();
    let ben = leg_id(&call, "Ben Ortiz");
    // Agents get their user and the call's queue.
    assert_eq!(leg(&call, "Ben Ortiz")["user"]["id"], BEN);
    assert_eq!(leg(&call, "Ben Ortiz")["queue"]["id"], SUPPORT_ID);
    let status = env
        .send(
            Method::PATCH,
            &format!("/mock/conversations/{id}/participants/{ben}"),
            Some(json!({"state": "connected", "afterMs": 50})),
        )
        .await
        .status();
    assert_eq!(status, 202);
    let after = env
        .wait_for(id, |c| state_of(c, "Ben Ortiz") == "connected")
        .await;
    assert!(leg(&after, "Ben Ortiz")["connectedTime"].is_string());

    let unknown = env
        .send(
            Method::POST,
            "/mock/conversations",
            Some(json!({"queue": "Nope", "participants": []})),
        )
        .await;
    assert_eq!(unknown.status(), 400);
    let bad_state = env
        .send(
            Method::PATCH,
            &format!("/mock/conversations/{id}/participants/{ben}"),
            Some(json!({"state": "flying"})),
        )
        .await;
    assert_eq!(bad_state.status(), 400);

    env.faults(json!({"rateLimitPerMinute": 7})).await;
    assert_eq!(
        env.send(Method::POST, "/mock/reset", None).await.status(),
        204
    );
    let (status, _) = env.call_answer(id).await;
    assert_eq!(status, 404, "reset forgets scripted calls");
    let (_, faults) = env.json(Method::GET, "/mock/faults", None).await;
    assert_eq!(
        faults["rateLimitPerMinute"], 0,
        "reset restores the scenario's faults"
    );
    env.stop().await;
}

#[test]
fn the_cli_prints_where_it_listens_and_refuses_remote_binds() {
    let log = std::env::temp_dir().join(format!("mock-cli-test-{}.log", std::process::id()));
    harness::the_cli_prints_where_it_listens_and_refuses_remote_binds(|| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_genesys-cloud-mock"));
        command.arg("--log-file").arg(&log);
        command
    });
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn event_latency_holds_frames_back() {
    let env = Harness::scenario("quiet").await;
    env.faults(json!({"eventLatencyMs": 300})).await;
    let topic = format!("v2.routing.queues.{SUPPORT_ID}.conversations.calls");
    let (_, mut socket) = env.channel(std::slice::from_ref(&topic)).await;
    let before = std::time::Instant::now();
    env.conference_json("connected").await;
    next_frame(&mut socket, &topic).await;
    assert!(
        before.elapsed() >= Duration::from_millis(300),
        "a frame never comes early"
    );
    env.stop().await;
}

#[tokio::test]
async fn not_a_user_fault_refuses_the_calls_path_only() {
    let env = Harness::scenario("quiet").await;
    env.faults(json!({"callsPathNotAUser": true})).await;
    let call = env.conference_json("connected").await;
    let id = call["id"].as_str().unwrap();
    let ben = leg_id(&call, "Ben Ortiz");
    let kick = json!({"state": "disconnected"});
    let (status, body) = env
        .json(
            Method::PATCH,
            &format!("/api/v2/conversations/calls/{id}/participants/{ben}"),
            Some(kick.clone()),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "not.a.user");
    let fallback = env
        .send(
            Method::PATCH,
            &format!("/api/v2/conversations/{id}/participants/{ben}"),
            Some(kick),
        )
        .await;
    assert_eq!(fallback.status(), 202);
    env.wait_for(id, |c| state_of(c, "Ben Ortiz") == "disconnected")
        .await;
    env.stop().await;
}

// Hardening (issue 12): bounded bodies, log, connections and numbers; secure channel ids; a
// control API only for `mock:control`; `ErrorBody` answers everywhere.

/// Asserts an error answer in the platform's `ErrorBody` shape with its own status.
async fn assert_error_body(answer: reqwest::Response, status: u16, what: &str) -> Value {
    assert_eq!(answer.status(), status, "{what}");
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: {content_type}"
    );
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(body["status"], status, "{what}: {body}");
    assert!(!body["message"].as_str().unwrap_or("").is_empty(), "{what}");
    assert!(body["contextId"].is_string(), "{what}");
    body
}

/// Sends a chunked body that never ends until the mock answers; the answer's first bytes.
async fn endless_body(env: &Harness) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(env.mock.local_addr())
        .await
        .unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST /api/v2/analytics/conversations/details/query HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        env.token
    );
    write.write_all(head.as_bytes()).await.unwrap();
    let writer = tokio::spawn(async move {
        let chunk = format!("4000\r\n{}\r\n", "a".repeat(0x4000));
        while write.write_all(chunk.as_bytes()).await.is_ok() {}
    });
    let mut answer = vec![0u8; 256];
    let n = read.read(&mut answer).await.unwrap_or(0);
    writer.abort();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[tokio::test]
async fn request_bodies_are_capped_and_refused_with_an_error_body() {
    let env = Harness::scenario("quiet").await;
    let big = format!("{{\"interval\": \"{}\"}}", "x".repeat(1536 * 1024));
    let answer = env
        .http
        .post(env.url("/api/v2/analytics/conversations/details/query"))
        .bearer_auth(&env.token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_error_body(answer, 413, "a 1.5 MB body").await;

    // An endless chunked body: the mock stops reading at its cap and answers 413 (a hang
    // guard, not a timing).
    let answered = tokio::time::timeout(Duration::from_secs(30), endless_body(&env)).await;
    let head = answered.expect("an endless body does not hang the request");
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert_eq!(
        env.send(Method::GET, "/api/v2/routing/queues", None)
            .await
            .status(),
        200,
        "the mock still answers"
    );
    env.stop().await;
}

#[tokio::test]
async fn the_request_log_cuts_long_paths() {
    let env = Harness::scenario("quiet").await;
    let long = format!("/api/v2/{}", "a".repeat(60_000));
    for _ in 0..20 {
        let answer = env.http.get(env.url(&long)).send().await.unwrap();
        assert_eq!(answer.status(), 401);
    }
    let log: Vec<Value> = env
        .requests(0)
        .await
        .into_iter()
        .filter(|r| r["path"] != "/oauth/token")
        .collect();
    assert_eq!(log.len(), 20);
    for entry in &log {
        let path = entry["path"].as_str().unwrap();
        assert!(path.len() <= 520, "{} bytes logged", path.len());
        assert!(path.starts_with("/api/v2/aaa") && path.ends_with('…'));
    }
    env.stop().await;
}

/// A mock with these limits, and a token of its main client.
async fn mock_with(limits: genesys_cloud_mock::ServerLimits) -> Harness {
    let mut options = genesys_cloud_mock::MockOptions::loopback(
        genesys_cloud_mock::Scenario::named("quiet").unwrap(),
    );
    options.limits = limits;
    Harness::with_options(options).await
}

/// Reads until the peer closes; false if it is still open after the guard.
async fn closed_by_peer(stream: &mut tokio::net::TcpStream, guard: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    tokio::time::timeout(guard, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn idle_and_trickling_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let limits = genesys_cloud_mock::ServerLimits {
        max_connections: 64,
        header_read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        ..genesys_cloud_mock::ServerLimits::default()
    };
    let h = mock_with(limits).await;
    let mock = &h.mock;
    let mut idle = tokio::net::TcpStream::connect(mock.local_addr())
        .await
        .unwrap();
    let mut trickle = tokio::net::TcpStream::connect(mock.local_addr())
        .await
        .unwrap();
    trickle
        .write_all(b"GET /api/v2/routing/queues HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickling = async {
        for _ in 0..200 {
            if trickle.write_all(b"X").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    let (idle_closed, trickle_closed) = tokio::join!(
        closed_by_peer(&mut idle, Duration::from_secs(10)),
        trickling
    );
    assert!(idle_closed, "an idle connection is closed");
    assert!(trickle_closed, "a trickling connection is closed");
    h.stop().await;
}

/// Open files this process may have (soft limit), from /proc; `None` where unknown.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// This process's open TCP sockets whose local port is `port` (a server's accepted ends), from
/// `/proc`; `None` where there is no `/proc`.
fn mock_side_sockets(port: u16) -> Option<usize> {
    let own: std::collections::HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .ok()?
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(
                link.strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    let mut count = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for row in text.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            // 0A: the listening socket itself, not a connection.
            if local_port == Some(port) && *state != "0A" && own.contains(*inode) {
                count += 1;
            }
        }
    }
    Some(count)
}

/// Soak: 1,000 idle and trickling connections (each reconnects when closed) against a mock that
/// keeps at most 512; real requests on new connections still answer. Loopback only, bounded in
/// time; the 10 s guard per request is a hang guard, the measured time is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_real_requests_answer_while_1000_idle_and_trickling_connections_hang_on() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use tokio::io::AsyncWriteExt;
    let h = mock_with(genesys_cloud_mock::ServerLimits::default()).await;
    let (mock, token) = (&h.mock, &h.token);
    let addr = mock.local_addr();
    // The test holds the attackers' sockets and the mock's in one process.
    let attackers = match open_file_limit() {
        Some(limit) if limit < 2_000 => {
            eprintln!("open file limit {limit}: using fewer attackers");
            limit.saturating_sub(700)
        }
        _ => 1_000,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let connected = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..attackers {
        let stop = stop.clone();
        let connected = connected.clone();
        tasks.push(tokio::spawn(async move {
            let mut first = true;
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                if first {
                    connected.fetch_add(1, Ordering::Relaxed);
                    first = false;
                }
                if i % 2 == 0 {
                    // Idle: wait until the mock closes it.
                    let _ = closed_by_peer(&mut stream, Duration::from_secs(60)).await;
                } else {
                    let _ = stream
                        .write_all(b"GET /api/v2/routing/queues HTTP/1.1\r\n")
                        .await;
                    while !stop.load(Ordering::Relaxed) {
                        if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }));
    }
    // Wait until every attacker has connected once (a guard, not a timing).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while connected.load(Ordering::Relaxed) < attackers && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(connected.load(Ordering::Relaxed), attackers);

    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            fresh
                .get(format!("{}/api/v2/routing/queues", mock.base_url()))
                .bearer_auth(token)
                .send(),
        )
        .await
        .expect("a real request answers while the mock is under siege")
        .expect("a real request is served");
        assert_eq!(answer.status(), 200);
        slowest = slowest.max(started.elapsed());
    }
    // Bounded: the mock keeps at most `max_connections` of its ends open, not one per attacker.
    // Counted exactly (its sockets are those of this process on its port), so other tests
    // running in the same process do not change the figure.
    let max = genesys_cloud_mock::ServerLimits::default().max_connections;
    let mock_ends = mock_side_sockets(addr.port());
    if let Some(mock_ends) = mock_ends {
        assert!(
            mock_ends <= max,
            "the mock holds {mock_ends} connections, at most {max} expected"
        );
    }
    eprintln!(
        "soak: {attackers} idle/trickling connections, slowest of 20 real requests {slowest:?}, \
         the mock holding {mock_ends:?} of them"
    );
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.abort();
    }
    h.stop().await;
}

/// A new notification channel's id.
async fn channel(env: &Harness) -> String {
    let (status, body) = env
        .json(Method::POST, "/api/v2/notifications/channels", None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn channel_ids_are_unguessable_and_never_reused_after_reset() {
    let first = Harness::scenario("quiet").await;
    let second = Harness::scenario("quiet").await;
    let a = channel(&first).await;
    let b = channel(&second).await;
    assert_ne!(
        a, b,
        "the same scenario and seed give different channel ids"
    );
    let hex = a.strip_prefix("streaming-").unwrap();
    assert!(
        hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{a}"
    );

    assert_eq!(
        first.send(Method::POST, "/mock/reset", None).await.status(),
        204
    );
    let after = channel(&first).await;
    assert_ne!(after, a, "a reset does not reuse a live channel's id");

    // A socket on an id nobody was given is refused (the id is what the platform checks).
    let guessed = format!("{}/channels/streaming-0", first.mock.base_url());
    let answer = first
        .http
        .get(&guessed)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_error_body(answer, 404, "a guessed channel").await;
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn scenario_and_fault_numbers_are_bounded() {
    use genesys_cloud_mock::{MockOptions, MockServer, Scenario};
    let mut scenario = Scenario::named("quiet").unwrap();
    scenario.calls.initial = 1_000_000_000;
    let refused = tokio::time::timeout(
        Duration::from_secs(30),
        MockServer::start(MockOptions::loopback(scenario)),
    )
    .await
    .expect("refused before any world is built")
    .unwrap_err();
    assert!(
        format!("{refused:#}").contains("calls.initial"),
        "{refused:#}"
    );

    let env = Harness::scenario("quiet").await;
    for field in [
        "tokenLifetimeSecs",
        "heartbeatSecs",
        "socketDropAfterSecs",
        "latencyMs",
        "eventLatencyMs",
    ] {
        let answer = env
            .send(
                Method::PUT,
                "/mock/faults",
                Some(json!({ field: u64::MAX })),
            )
            .await;
        let body = assert_error_body(answer, 400, field).await;
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    let call = env.conference_json("connected").await;
    let id = call["id"].as_str().unwrap();
    let ben = leg_id(&call, "Ben Ortiz");
    let answer = env
        .send(
            Method::PATCH,
            &format!("/mock/conversations/{id}/participants/{ben}"),
            Some(json!({"state": "disconnected", "afterMs": u64::MAX})),
        )
        .await;
    assert_error_body(answer, 400, "afterMs u64::MAX").await;

    // 256 × 72057594037927936 is 2^64: unchecked, the page wraps around to the first.
    let (status, page) = env
        .json(
            Method::GET,
            "/api/v2/routing/queues?pageSize=256&pageNumber=72057594037927937",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["entities"], json!([]), "{page}");
    assert_eq!(page["pageNumber"], 72057594037927937_i64);
    let (status, hits) = env
        .json(
            Method::POST,
            "/api/v2/analytics/conversations/details/query",
            Some(json!({
                "interval": "2000-01-01T00:00:00Z/2100-01-01T00:00:00Z",
                "paging": {"pageSize": 64, "pageNumber": 288230376151711745_i64}
            })),
        )
        .await;
    assert_eq!(status, 200);
    assert!(hits["conversations"].is_null(), "{hits}");
    env.stop().await;
}

#[test]
fn the_cli_refuses_an_endless_scenario_file() {
    let binary = env!("CARGO_BIN_EXE_genesys-cloud-mock");
    let log = std::env::temp_dir().join(format!("mock-zero-{}.log", std::process::id()));
    let mut child = std::process::Command::new(binary)
        .args(["--log-file", log.to_str().unwrap()])
        .args(["--scenario", "/dev/zero"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A hang guard: reading /dev/zero to the end would never finish.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("genesys-cloud-mock --scenario /dev/zero still running");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(!status.success());
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

#[tokio::test]
async fn the_control_api_needs_mock_control() {
    let env = Harness::scenario("quiet").await;
    let viewer = env.token_json(VIEWER_ID, VIEWER_SECRET).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for (method, path, body) in [
        (Method::GET, "/mock/faults", None),
        (
            Method::PUT,
            "/mock/faults",
            Some(json!({"serverErrorRate": 1.0})),
        ),
        (Method::GET, "/mock/requests?since=0", None),
        (Method::POST, "/mock/reset", None),
        (
            Method::POST,
            "/mock/conversations",
            Some(json!({"queue": "Support", "participants": []})),
        ),
    ] {
        let what = format!("viewer {method} {path}");
        let answer = env.send_as(&viewer, method.clone(), path, body).await;
        let error = assert_error_body(answer, 403, &what).await;
        assert_eq!(error["code"], "missing.any.permissions", "{what}");
        assert!(error["message"].as_str().unwrap().contains("mock:control"));
    }
    let (status, faults) = env.json(Method::GET, "/mock/faults", None).await;
    assert_eq!(status, 200, "the harness's client has mock:control");
    assert_eq!(faults["serverErrorRate"], 0.0, "the viewer changed nothing");
    // The built-in scenarios' main clients have it.
    for name in ["demo", "quiet", "scale"] {
        let scenario = genesys_cloud_mock::Scenario::named(name).unwrap();
        let main = &scenario.clients[0].permissions;
        assert!(
            main.iter().any(|p| p == "*" || p == "mock:control"),
            "{name}"
        );
    }
    env.stop().await;
}

#[tokio::test]
async fn every_error_answer_is_an_error_body() {
    let env = Harness::scenario("quiet").await;
    let base = env.mock.base_url();
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (env.http.get(format!("{base}/nope")), 404, "unknown path"),
        (
            env.http
                .get(format!("{base}/mock/nope"))
                .bearer_auth(&env.token),
            404,
            "unknown control path",
        ),
        (
            env.http
                .delete(format!("{base}/api/v2/routing/queues"))
                .bearer_auth(&env.token),
            405,
            "wrong method",
        ),
        (
            env.http
                .post(format!("{base}/mock/faults"))
                .bearer_auth(&env.token),
            405,
            "wrong control method",
        ),
        (
            env.http
                .get(format!("{base}/mock/requests?since=abc"))
                .bearer_auth(&env.token),
            400,
            "bad query",
        ),
        (
            env.http.get(format!("{base}/channels/streaming-x")),
            400,
            "a socket path without an upgrade",
        ),
        (
            env.http
                .patch(format!("{base}/api/v2/conversations/c/participants/p"))
                .bearer_auth(&env.token)
                .header("content-type", "application/json")
                .body("{"),
            400,
            "broken JSON",
        ),
    ];
    for (request, status, what) in cases {
        let answer = request.send().await.unwrap();
        assert_error_body(answer, status, what).await;
    }
    env.stop().await;
}

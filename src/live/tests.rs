use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::wire::{CallMediaParticipant, EntityRef, ParticipantState as S, Timestamp};

fn leg(id: &str, purpose: &str, state: S) -> CallMediaParticipant {
    CallMediaParticipant::new(id, purpose, state)
}

fn call(id: &str, legs: Vec<CallMediaParticipant>) -> CallConversation {
    CallConversation {
        id: id.into(),
        participants: legs,
        ..Default::default()
    }
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 6, 0, 0).unwrap()
}

#[test]
fn conference_needs_three_live_legs() {
    let mut model = LiveModel::new();
    let two = call(
        "c1",
        vec![
            leg("a", "customer", S::Connected),
            leg("b", "agent", S::Connected),
        ],
    );
    model.apply(Update::Conversation(two.clone()), t0());
    assert!(model.conferences().is_empty());
    let mut three = two;
    three.participants.push(leg("c", "agent", S::Alerting));
    model.apply(Update::Conversation(three), t0());
    assert_eq!(model.conferences().len(), 1);
    assert_eq!(model.conferences()[0].live_parties, 3);
}

#[test]
fn ended_calls_leave_and_snapshot_replaces() {
    let mut model = LiveModel::new();
    model.apply(
        Update::Conversation(call("c1", vec![leg("a", "customer", S::Connected)])),
        t0(),
    );
    model.apply(
        Update::Conversation(call("c2", vec![leg("b", "customer", S::Connected)])),
        t0(),
    );
    model.apply(
        Update::Conversation(call("c1", vec![leg("a", "customer", S::Disconnected)])),
        t0(),
    );
    assert!(model.conversation("c1").is_none());
    model.apply(
        Update::Snapshot(vec![call("c3", vec![leg("c", "agent", S::Connected)])]),
        t0(),
    );
    assert!(model.conversation("c2").is_none());
    assert!(model.conversation("c3").is_some());
    assert_eq!(model.len(), 1);
}

#[test]
fn time_in_state_follows_changes() {
    let mut model = LiveModel::new();
    let mut c = call(
        "c1",
        vec![
            leg("a", "customer", S::Connected),
            leg("b", "agent", S::Alerting),
        ],
    );
    model.apply(Update::Conversation(c.clone()), t0());
    // Same state later: the clock keeps running from the first sighting.
    model.apply(Update::Conversation(c.clone()), t0() + Duration::seconds(5));
    let rows = model.participants("c1", t0() + Duration::seconds(7));
    let b = rows.iter().find(|r| r.participant_id == "b").unwrap();
    assert_eq!(b.in_state_ms, 7_000);
    // A state change restarts it, from the platform's own timestamp when it sends one.
    c.participants[1].state = S::Connected;
    c.participants[1].connected_time = Some(Timestamp(t0() + Duration::seconds(8)));
    model.apply(Update::Conversation(c), t0() + Duration::seconds(9));
    let rows = model.participants("c1", t0() + Duration::seconds(10));
    let b = rows.iter().find(|r| r.participant_id == "b").unwrap();
    assert_eq!(b.in_state_ms, 2_000);
}

/// Join time, then purpose, then name: never by id, and a leg that leaves keeps its row.
#[test]
fn participants_in_join_order_then_purpose_then_name() {
    let mut model = LiveModel::new();
    let joined = |id: &str, purpose: &str, state: S, name: &str, secs: i64| {
        let mut p = leg(id, purpose, state);
        p.name = Some(name.into());
        p.start_time = Some(Timestamp(t0() + Duration::seconds(secs)));
        p
    };
    let c = call(
        "c1",
        vec![
            joined("z9", "agent", S::Disconnected, "Zed", 5),
            joined("a1", "agent", S::Connected, "Blair", 10),
            joined("b2", "agent", S::Alerting, "Ava", 10),
            joined("x", "acd", S::Connected, "Queue", 10),
            joined("w", "customer", S::Connected, "Casey", 10),
            joined("late", "customer", S::Connected, "Anna", 20),
        ],
    );
    model.apply(Update::Conversation(c), t0());
    let names: Vec<_> = model
        .participants("c1", t0())
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["Zed", "Casey", "Ava", "Blair", "Queue", "Anna"]);
}

#[test]
fn queue_names_and_customer_in_conference_row() {
    let mut model = LiveModel::new();
    model.apply(
        Update::Queues(vec![crate::wire::Queue {
            id: "q1".into(),
            name: Some("Support".into()),
            ..Default::default()
        }]),
        t0(),
    );
    let mut customer = leg("a", "customer", S::Connected);
    customer.name = Some("Ada Customer".into());
    let mut agent = leg("b", "agent", S::Connected);
    agent.queue = Some(EntityRef {
        id: Some("q1".into()),
        ..Default::default()
    });
    model.apply(
        Update::Conversation(call(
            "c1",
            vec![customer, agent, leg("c", "agent", S::Connected)],
        )),
        t0(),
    );
    let row = &model.conferences()[0];
    assert_eq!(row.queue_name.as_deref(), Some("Support"));
    assert_eq!(row.customer.as_deref(), Some("Ada Customer"));
}

#[test]
fn participants_of_ended_calls_are_forgotten() {
    let mut model = LiveModel::new();
    for n in 0..10_000 {
        let id = format!("c{n}");
        let a = format!("a{n}");
        let b = format!("b{n}");
        model.apply(
            Update::Conversation(call(
                &id,
                vec![
                    leg(&a, "customer", S::Connected),
                    leg(&b, "agent", S::Connected),
                ],
            )),
            t0(),
        );
        model.apply(
            Update::Conversation(call(
                &id,
                vec![
                    leg(&a, "customer", S::Disconnected),
                    leg(&b, "agent", S::Disconnected),
                ],
            )),
            t0(),
        );
    }
    assert!(model.is_empty());
    assert!(
        model.state_seen.len() <= 4096 + 2,
        "{} states kept",
        model.state_seen.len()
    );
    assert!(
        model.history.len() <= 2 * ENDED_TIMELINES + 1,
        "{} timelines kept",
        model.history.len()
    );
}

#[test]
fn time_in_state_restarts_when_a_hold_ends() {
    let mut model = LiveModel::new();
    let mut agent = leg("b", "agent", S::Connected);
    agent.connected_time = Some(Timestamp(t0()));
    let mut c = call("c1", vec![leg("a", "customer", S::Connected), agent]);
    model.apply(Update::Conversation(c.clone()), t0());
    c.participants[1].held = Some(true);
    c.participants[1].start_hold_time = Some(Timestamp(t0() + Duration::seconds(10)));
    model.apply(
        Update::Conversation(c.clone()),
        t0() + Duration::seconds(10),
    );
    c.participants[1].held = Some(false);
    c.participants[1].start_hold_time = None;
    model.apply(Update::Conversation(c), t0() + Duration::seconds(30));
    let rows = model.participants("c1", t0() + Duration::seconds(32));
    let b = rows.iter().find(|r| r.participant_id == "b").unwrap();
    assert!(!b.held);
    assert_eq!(b.in_state_ms, 2_000, "counted from the end of the hold");
}

fn two_party(id: &str) -> CallConversation {
    call(
        id,
        vec![
            leg(&format!("{id}-cust"), "customer", S::Connected),
            leg(&format!("{id}-agent"), "agent", S::Connected),
        ],
    )
}

#[test]
fn a_resync_shows_each_page_at_once_and_marks_its_rows_as_known_from_analytics() {
    let mut model = LiveModel::new();
    model.apply(Update::Conversation(two_party("old")), t0());
    model.apply(Update::ResyncStarted, t0() + Duration::seconds(60));
    model.apply(
        Update::ResyncPage(vec![two_party("c1")]),
        t0() + Duration::seconds(60),
    );
    // The first page is on screen before the re-sync ends; the old row stays until then.
    assert!(model.conversation("c1").is_some());
    assert!(model.conversation("old").is_some());
    assert!(model.is_from_analytics("c1"));
    assert!(model.is_resyncing());
    model.apply(
        Update::ResyncPage(vec![two_party("c2")]),
        t0() + Duration::seconds(61),
    );
    model.apply(Update::ResyncDone, t0() + Duration::seconds(61));
    assert!(
        model.conversation("old").is_none(),
        "not found by the re-sync: gone"
    );
    assert_eq!(model.len(), 2);
    // An event makes a row exact.
    model.apply(
        Update::Conversation(two_party("c1")),
        t0() + Duration::seconds(62),
    );
    assert!(!model.is_from_analytics("c1"));
    assert!(model.is_from_analytics("c2"));
}

#[test]
fn events_win_over_a_lagging_analytics_query_both_ways() {
    let mut model = LiveModel::new();
    model.apply(Update::ResyncStarted, t0());
    // Heard from an event during the re-sync: the page's older picture does not replace it.
    let mut held = two_party("c1");
    held.participants[1].held = Some(true);
    model.apply(Update::Conversation(held), t0());
    model.apply(Update::ResyncPage(vec![two_party("c1")]), t0());
    assert!(model.participants("c1", t0())[1].held);
    assert!(!model.is_from_analytics("c1"));
    // An event ended c2; analytics, a few seconds behind, still lists it: it stays gone.
    model.apply(Update::Conversation(two_party("c2")), t0());
    let mut ended = two_party("c2");
    for p in &mut ended.participants {
        p.state = S::Disconnected;
    }
    model.apply(Update::Conversation(ended), t0());
    model.apply(Update::ResyncPage(vec![two_party("c2")]), t0());
    assert!(model.conversation("c2").is_none());
    model.apply(Update::ResyncDone, t0());
    // c3 started just before the next re-sync; analytics does not know it yet: kept.
    model.apply(
        Update::Conversation(two_party("c3")),
        t0() + Duration::seconds(100),
    );
    model.apply(Update::ResyncStarted, t0() + Duration::seconds(101));
    model.apply(Update::ResyncDone, t0() + Duration::seconds(103));
    assert!(model.conversation("c3").is_some());
    assert!(
        model.conversation("c1").is_none(),
        "not found, no recent event: gone"
    );
}

#[test]
fn the_timeline_keeps_each_change_with_its_time_and_origin_and_is_bounded() {
    let mut model = LiveModel::new();
    let mut ringing = leg("b", "agent", S::Alerting);
    ringing.start_alerting_time = Some(Timestamp(t0() - Duration::seconds(5)));
    let first = call(
        "c1",
        vec![
            leg("a", "customer", S::Connected),
            leg("x", "agent", S::Connected),
            ringing,
        ],
    );
    model.apply(Update::ResyncStarted, t0());
    model.apply(Update::ResyncPage(vec![first.clone()]), t0());
    let mut answered = first.clone();
    answered.participants[2].state = S::Connected;
    answered.participants[2].connected_time = Some(Timestamp(t0() + Duration::seconds(2)));
    model.apply(
        Update::Conversation(answered.clone()),
        t0() + Duration::seconds(3),
    );
    // The same state again adds nothing.
    model.apply(
        Update::Conversation(answered.clone()),
        t0() + Duration::seconds(4),
    );
    let mut muted = answered;
    muted.participants[2].muted = Some(true);
    model.apply(
        Update::Conversation(muted.clone()),
        t0() + Duration::seconds(6),
    );

    let changes: Vec<&Change> = model.timeline("c1").unwrap().changes().collect();
    assert_eq!(changes.len(), 5, "{changes:#?}");
    let b: Vec<&&Change> = changes.iter().filter(|c| c.participant_id == "b").collect();
    assert_eq!(b[0].from, None);
    assert_eq!(b[0].origin, Origin::Analytics);
    assert_eq!(
        b[0].at,
        t0() - Duration::seconds(5),
        "the platform's own time"
    );
    assert_eq!(b[1].from.as_ref().unwrap().state, S::Alerting);
    assert_eq!(b[1].to.state, S::Connected);
    assert_eq!(b[1].origin, Origin::Event);
    assert_eq!(b[1].at, t0() + Duration::seconds(2));
    assert!(b[2].to.muted && b[2].to.words().ends_with("muted"));
    assert_eq!(
        b[2].at,
        t0() + Duration::seconds(6),
        "a mute has no platform time"
    );

    // Bounded: a leg flapping for ever keeps the latest entries only.
    let mut flapping = muted;
    for i in 0..500 {
        flapping.participants[1].held = Some(i % 2 == 0);
        model.apply(
            Update::Conversation(flapping.clone()),
            t0() + Duration::seconds(10 + i),
        );
    }
    let timeline = model.timeline("c1").unwrap();
    assert_eq!(timeline.changes().count(), history::ENTRIES_PER_CALL);
    assert_eq!(
        timeline.changes().last().unwrap().at,
        t0() + Duration::seconds(509)
    );

    // The call ends: its timeline stays for the call view, with the end in it.
    let mut ended = flapping;
    for p in &mut ended.participants {
        p.state = S::Disconnected;
    }
    model.apply(Update::Conversation(ended), t0() + Duration::seconds(600));
    assert!(model.conversation("c1").is_none());
    let last = model.timeline("c1").unwrap().changes().last().unwrap();
    assert_eq!(last.to.state, S::Disconnected);
}

/// Calls a lagging re-sync missed are added from a later analytics read; calls already held (an
/// event's exact picture) and calls seen ending are left as they are.
#[test]
fn discovered_calls_add_only_what_the_model_lacks() {
    let mut model = LiveModel::new();
    let exact = call(
        "known",
        vec![
            leg("a", "customer", S::Connected),
            leg("b", "agent", S::Connected),
            leg("c", "agent", S::Connected),
        ],
    );
    model.apply(Update::Conversation(exact.clone()), t0());
    let ending = call("ended", vec![leg("x", "customer", S::Connected)]);
    model.apply(Update::Conversation(ending.clone()), t0());
    let mut gone = ending.clone();
    gone.participants[0].state = S::Disconnected;
    model.apply(Update::Conversation(gone), t0());
    let mut stale = exact.clone();
    stale.participants[2].state = S::Alerting;
    let new = call(
        "new",
        vec![
            leg("n1", "customer", S::Connected),
            leg("n2", "agent", S::Connected),
            leg("n3", "agent", S::Connected),
        ],
    );
    model.apply(Update::Discovered(vec![stale, ending, new]), t0());
    assert!(model.conversation("new").is_some());
    assert!(model.is_from_analytics("new"));
    assert_eq!(
        model.conversation("known"),
        Some(&exact),
        "an exact call is kept"
    );
    assert!(
        model.conversation("ended").is_none(),
        "an ended call stays gone"
    );
}

/// A re-read that failed leaves the calls unread (an empty list is not "none") until one
/// completes; its rows and the events' stay.
#[test]
fn a_failed_re_read_leaves_the_calls_unread_until_one_completes() {
    let mut model = LiveModel::new();
    assert!(!model.calls_unread());
    model.apply(Update::ResyncStarted, t0());
    model.apply(Update::ResyncAbandoned, t0());
    assert!(model.calls_unread());
    model.apply(Update::Conversation(two_party("c1")), t0());
    model.apply(Update::ResyncStarted, t0());
    assert!(model.calls_unread(), "still unread while the next runs");
    model.apply(Update::ResyncPage(vec![two_party("c1")]), t0());
    model.apply(Update::ResyncDone, t0());
    assert!(!model.calls_unread());
    assert!(model.conversation("c1").is_some());
}

//! Table tests and property tests of the kick machine: plain values, no clock, no network.

use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::Strategy;

use super::Strategy as KickStrategy;

use super::*;
use crate::kick::lock::LockPlan;
use crate::wire::{EntityRef, ParticipantState};

fn leg(
    id: &str,
    purpose: &str,
    state: ParticipantState,
    user: Option<&str>,
) -> CallMediaParticipant {
    let mut p = CallMediaParticipant::new(id, purpose, state);
    p.name = Some(format!("name-{id}"));
    p.user = user.map(|u| EntityRef {
        id: Some(u.to_string()),
        name: None,
        self_uri: None,
    });
    p
}

/// A conference: customer, the target agent `t` (user `u1`) in `state`, and agent `a2`.
fn call(state: ParticipantState) -> CallConversation {
    CallConversation {
        id: "c1".into(),
        participants: vec![
            leg("cust", "customer", ParticipantState::Connected, None),
            leg("t", "agent", state, Some("u1")),
            leg("a2", "agent", ParticipantState::Connected, Some("u2")),
        ],
        ..Default::default()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn api(status: u16, code: Option<&str>, retry_after: Option<Duration>) -> ApiError {
    ApiError::from_status(
        "PATCH /x",
        status,
        code.map(str::to_string),
        Some(format!("answer {status}")),
        retry_after,
    )
}

/// A machine for participant `t` of conversation `c1`.
fn for_t(config: MachineConfig) -> KickMachine {
    KickMachine::new("c1", Wanted::Participant("t".into()), config)
}

fn machine() -> KickMachine {
    for_t(MachineConfig::default())
}

/// The old strategy: wait for a settled leg before the first PATCH.
fn settled() -> KickMachine {
    for_t(MachineConfig {
        strategy: KickStrategy::Settled,
        ..MachineConfig::default()
    })
}

/// `m` started at 0 ms, then its first read answered with `conversation` at `at`: what the
/// read asked for.
fn first_read(m: &mut KickMachine, conversation: CallConversation, at: Duration) -> Vec<Effect> {
    m.handle(MachineInput::Start, ms(0), 0.5);
    m.handle(MachineInput::ReadOk(conversation), at, 0.5)
}

/// The default machine whose first read (at 10 ms) found the target connected: its first
/// PATCH is out.
fn patch_sent() -> KickMachine {
    let mut m = machine();
    first_read(&mut m, call(ParticipantState::Connected), ms(10));
    m
}

fn patches(effects: &[Effect]) -> Vec<&Effect> {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Patch { .. }))
        .collect()
}

fn finished(effects: &[Effect]) -> Option<&Outcome> {
    effects.iter().find_map(|e| match e {
        Effect::Report(Step::Finished(o)) => Some(o),
        _ => None,
    })
}

#[test]
fn settled_target_is_one_read_one_patch_then_verified_by_event() {
    let mut m = machine();
    assert_eq!(
        m.handle(MachineInput::Start, ms(0), 0.5),
        vec![Effect::Read]
    );
    let effects = m.handle(
        MachineInput::ReadOk(call(ParticipantState::Connected)),
        ms(40),
        0.5,
    );
    assert_eq!(
        patches(&effects),
        vec![&Effect::Patch {
            participant_id: "t".into(),
            path: PatchPath::Calls
        }]
    );
    let effects = m.handle(MachineInput::PatchAccepted(None), ms(80), 0.5);
    assert!(effects.contains(&Effect::Report(Step::Verifying)));
    assert!(finished(&effects).is_none(), "a 202 alone is not success");
    let effects = m.handle(
        MachineInput::Event(call(ParticipantState::Disconnected)),
        ms(90),
        0.5,
    );
    let outcome = finished(&effects).expect("verified");
    assert_eq!(outcome.outcome, OutcomeKind::Removed);
    assert_eq!((outcome.attempts, outcome.requests), (1, 2));
    assert!(m.is_done());
}

#[test]
fn settled_strategy_waits_for_the_event_then_patches_at_once() {
    let mut m = settled();
    let effects = first_read(&mut m, call(ParticipantState::Alerting), ms(40));
    assert!(patches(&effects).is_empty());
    assert!(effects.contains(&Effect::Report(Step::Waiting {
        state: ParticipantState::Alerting
    })));
    // An unrelated call's event changes nothing.
    let mut other = call(ParticipantState::Connected);
    other.id = "c2".into();
    assert!(
        m.handle(MachineInput::Event(other), ms(500), 0.5)
            .is_empty()
    );
    let effects = m.handle(
        MachineInput::Event(call(ParticipantState::Connected)),
        ms(1400),
        0.5,
    );
    assert_eq!(patches(&effects).len(), 1);
}

#[test]
fn quiet_wait_rereads_but_not_while_events_flow() {
    let mut m = settled();
    first_read(&mut m, call(ParticipantState::Alerting), ms(0));
    assert_eq!(m.wake_at(), Some(Duration::from_secs(5)));
    m.handle(
        MachineInput::Event(call(ParticipantState::Alerting)),
        ms(4000),
        0.5,
    );
    assert_eq!(
        m.wake_at(),
        Some(ms(9000)),
        "an event moves the quiet re-read"
    );
    assert_eq!(
        m.handle(MachineInput::Timer, ms(9000), 0.5),
        vec![Effect::Read]
    );
}

#[test]
fn wait_gives_up_after_the_wait_timeout() {
    let mut m = settled();
    first_read(&mut m, call(ParticipantState::Alerting), ms(0));
    let mut now = ms(0);
    for _ in 0..7 {
        now += ms(4000);
        let effects = m.handle(
            MachineInput::Event(call(ParticipantState::Alerting)),
            now,
            0.5,
        );
        assert!(patches(&effects).is_empty());
    }
    let due = m.wake_at().unwrap();
    assert_eq!(due, Duration::from_secs(30));
    let effects = m.handle(MachineInput::Timer, due, 0.5);
    assert_eq!(finished(&effects).unwrap().outcome, OutcomeKind::TimedOut);
}

#[test]
fn quiet_rereads_do_not_extend_the_wait() {
    let mut m = settled();
    first_read(&mut m, call(ParticipantState::Alerting), ms(0));
    let mut now = ms(0);
    while !m.is_done() {
        now = m.wake_at().expect("a wake time while waiting");
        let effects = m.handle(MachineInput::Timer, now, 0.5);
        if effects.contains(&Effect::Read) {
            let effects = m.handle(
                MachineInput::ReadOk(call(ParticipantState::Alerting)),
                now,
                0.5,
            );
            assert!(patches(&effects).is_empty());
        }
    }
    assert_eq!(m.outcome().unwrap().outcome, OutcomeKind::TimedOut);
    assert_eq!(now, Duration::from_secs(30));
}

#[test]
fn conflict_backs_off_with_full_jitter_then_rereads() {
    let mut m = patch_sent();
    let effects = m.handle(MachineInput::PatchFailed(api(409, None, None)), ms(20), 0.5);
    assert!(effects.contains(&Effect::Report(Step::Backoff {
        delay_ms: 50,
        reason: "409 locked by the platform: re-reading the leg (no live events)".into(),
        trouble: None,
    })));
    assert_eq!(m.wake_at(), Some(ms(70)));
    assert!(
        m.handle(MachineInput::Timer, ms(60), 0.5).is_empty(),
        "not before the backoff ends"
    );
    assert_eq!(
        m.handle(MachineInput::Timer, ms(70), 0.5),
        vec![Effect::Read]
    );
    // Second failure: the ceiling doubles.
    m.handle(
        MachineInput::ReadOk(call(ParticipantState::Connected)),
        ms(80),
        0.5,
    );
    let effects = m.handle(
        MachineInput::PatchFailed(api(409, None, None)),
        ms(90),
        0.99,
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Report(Step::Backoff { delay_ms: 198, .. })))
    );
}

#[test]
fn backoff_is_capped_and_attempts_are_bounded() {
    let mut m = machine();
    m.handle(MachineInput::Start, ms(0), 0.5);
    let mut now = ms(0);
    let mut effects = m.handle(
        MachineInput::ReadOk(call(ParticipantState::Connected)),
        now,
        0.99,
    );
    let mut patches_sent = 0;
    while !m.is_done() {
        patches_sent += patches(&effects).len();
        if patches(&effects).is_empty() && effects.contains(&Effect::Read) {
            effects = m.handle(
                MachineInput::ReadOk(call(ParticipantState::Connected)),
                now,
                0.99,
            );
            continue;
        }
        effects = m.handle(MachineInput::PatchFailed(api(409, None, None)), now, 0.99);
        for e in &effects {
            if let Effect::Report(Step::Backoff { delay_ms, .. }) = e {
                assert!(*delay_ms <= 5000);
            }
        }
        if m.is_done() {
            break;
        }
        now = m.wake_at().unwrap();
        effects = m.handle(MachineInput::Timer, now, 0.99);
    }
    assert_eq!(patches_sent, 8);
    assert_eq!(m.outcome().unwrap().outcome, OutcomeKind::TimedOut);
    assert_eq!(m.outcome().unwrap().attempts, 8);
}

#[test]
fn rate_limit_waits_exactly_retry_after() {
    let mut m = patch_sent();
    let effects = m.handle(
        MachineInput::PatchFailed(api(
            429,
            Some("too.many.requests"),
            Some(Duration::from_secs(3)),
        )),
        ms(20),
        0.5,
    );
    assert!(effects.contains(&Effect::Report(Step::RateLimited {
        retry_after_ms: 3000
    })));
    assert_eq!(m.wake_at(), Some(ms(3020)));
    assert!(m.handle(MachineInput::Timer, ms(3019), 0.5).is_empty());
    // An event meanwhile does not send anything either.
    assert!(
        patches(&m.handle(
            MachineInput::Event(call(ParticipantState::Connected)),
            ms(3000),
            0.5
        ))
        .is_empty()
    );
    let effects = m.handle(MachineInput::Timer, ms(3020), 0.5);
    assert_eq!(patches(&effects).len(), 1);
}

#[test]
fn server_errors_back_off_and_retry_the_patch() {
    let mut m = patch_sent();
    m.handle(MachineInput::PatchFailed(api(503, None, None)), ms(20), 0.0);
    let effects = m.handle(MachineInput::Timer, m.wake_at().unwrap(), 0.0);
    assert_eq!(patches(&effects).len(), 1);
}

/// Client credentials (`not.a.user`) and a signed-in supervisor who is not on the call
/// (`conversation.error.user.not.party`): the same PATCH on the generic path.
#[test]
fn not_a_user_falls_back_to_the_generic_endpoint() {
    for code in ["not.a.user", "conversation.error.user.not.party"] {
        let mut m = patch_sent();
        let effects = m.handle(
            MachineInput::PatchFailed(api(400, Some(code), None)),
            ms(20),
            0.5,
        );
        assert_eq!(
            patches(&effects),
            vec![&Effect::Patch {
                participant_id: "t".into(),
                path: PatchPath::Generic
            }],
            "{code}"
        );
    }
}

/// `/calls/`'s gone code and the generic path's two: "already gone".
#[test]
fn call_disconnected_answer_is_done() {
    for code in [
        "conversation.error.call.disconnected",
        "conversation.error.participant.no.active.conversations",
        "conversation.error.cannot.disconnect.call",
    ] {
        let mut m = patch_sent();
        let effects = m.handle(
            MachineInput::PatchFailed(api(400, Some(code), None)),
            ms(20),
            0.5,
        );
        assert_eq!(
            finished(&effects).unwrap().outcome,
            OutcomeKind::AlreadyGone,
            "{code}"
        );
    }
}

#[test]
fn forbidden_stops_with_the_permission_needed() {
    let mut m = patch_sent();
    let effects = m.handle(
        MachineInput::PatchFailed(api(403, Some("missing.any.permissions"), None)),
        ms(20),
        0.5,
    );
    let outcome = finished(&effects).unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert_eq!(outcome.status, Some(403));
    assert!(
        outcome
            .message
            .contains("conversation:communication:disconnect")
    );
}

#[test]
fn already_gone_target_sends_nothing() {
    let mut m = machine();
    let effects = first_read(&mut m, call(ParticipantState::Terminated), ms(10));
    assert!(patches(&effects).is_empty());
    let outcome = finished(&effects).unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::AlreadyGone);
    assert_eq!(outcome.requests, 1);
}

#[test]
fn unknown_participant_and_conversation_are_clear_failures() {
    let mut m = KickMachine::new(
        "c1",
        Wanted::Participant("nobody".into()),
        MachineConfig::default(),
    );
    let effects = first_read(&mut m, call(ParticipantState::Connected), ms(10));
    assert!(finished(&effects).unwrap().message.contains("nobody"));

    let mut m = machine();
    m.handle(MachineInput::Start, ms(0), 0.5);
    let effects = m.handle(
        MachineInput::ReadFailed(ApiError::from_status(
            "GET /api/v2/conversations/calls/c1",
            404,
            Some("not.found".into()),
            Some("not found".into()),
            None,
        )),
        ms(10),
        0.5,
    );
    let outcome = finished(&effects).unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert!(outcome.message.contains("conversation c1 not found"));
}

#[test]
fn customer_is_refused_unless_forced() {
    let mut m = KickMachine::new(
        "c1",
        Wanted::Participant("cust".into()),
        MachineConfig::default(),
    );
    let effects = first_read(&mut m, call(ParticipantState::Connected), ms(10));
    assert!(patches(&effects).is_empty());
    assert_eq!(finished(&effects).unwrap().outcome, OutcomeKind::Refused);

    let config = MachineConfig {
        force: true,
        ..MachineConfig::default()
    };
    let mut m = KickMachine::new("c1", Wanted::Participant("cust".into()), config);
    let effects = first_read(&mut m, call(ParticipantState::Connected), ms(10));
    assert_eq!(patches(&effects).len(), 1);
}

#[test]
fn last_other_party_is_refused() {
    let mut conversation = call(ParticipantState::Connected);
    conversation.participants[2].state = ParticipantState::Disconnected;
    let mut m = machine();
    let effects = first_read(&mut m, conversation, ms(10));
    assert!(patches(&effects).is_empty());
    let outcome = finished(&effects).unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::Refused);
    assert!(
        outcome.message.contains("would leave 1 connected party"),
        "{}",
        outcome.message
    );
}

#[test]
fn same_user_twice_acts_on_the_live_leg() {
    let mut conversation = call(ParticipantState::Connected);
    conversation.participants.insert(
        0,
        leg("t-old", "agent", ParticipantState::Terminated, Some("u1")),
    );
    let mut m = KickMachine::new("c1", Wanted::User("u1".into()), MachineConfig::default());
    let effects = first_read(&mut m, conversation, ms(10));
    assert_eq!(
        patches(&effects),
        vec![&Effect::Patch {
            participant_id: "t".into(),
            path: PatchPath::Calls
        }]
    );
    assert_eq!(m.target(), Some("t"));
}

#[test]
fn verification_reads_when_no_event_comes() {
    let mut m = patch_sent();
    m.handle(MachineInput::PatchAccepted(None), ms(20), 0.5);
    // No channel open: the first read comes soon (the short schedule)...
    assert_eq!(m.wake_at(), Some(ms(20) + policy::VERIFY_UNHEARD.base));
    // ...with live events, after a grace for the event that shows the leg gone.
    let mut live = live_machine(None);
    first_read(&mut live, call(ParticipantState::Connected), ms(10));
    live.handle(MachineInput::PatchAccepted(None), ms(20), 0.5);
    let grace = ms(20) + policy::VERIFY_GRACE;
    assert_eq!(live.wake_at(), Some(grace));
    let mut m = live;
    assert_eq!(
        m.handle(MachineInput::Timer, grace, 0.5),
        vec![Effect::Read]
    );
    let effects = m.handle(
        MachineInput::ReadOk(call(ParticipantState::Connected)),
        grace + ms(10),
        0.5,
    );
    assert!(
        finished(&effects).is_none(),
        "still connected: not verified"
    );
    let due = m.wake_at().unwrap();
    assert_eq!(m.handle(MachineInput::Timer, due, 0.5), vec![Effect::Read]);
    let effects = m.handle(
        MachineInput::ReadOk(call(ParticipantState::Disconnected)),
        due,
        0.5,
    );
    assert_eq!(finished(&effects).unwrap().outcome, OutcomeKind::Removed);
}

#[test]
fn cancel_ends_the_job() {
    let mut m = machine();
    first_read(&mut m, call(ParticipantState::Alerting), ms(10));
    let effects = m.handle(MachineInput::Cancel, ms(20), 0.5);
    assert_eq!(finished(&effects).unwrap().outcome, OutcomeKind::Cancelled);
    assert!(
        m.handle(
            MachineInput::Event(call(ParticipantState::Connected)),
            ms(30),
            0.5
        )
        .is_empty()
    );
}

#[test]
fn cancel_with_a_patch_in_flight_says_the_removal_may_have_happened() {
    let mut m = machine();
    let effects = first_read(&mut m, call(ParticipantState::Connected), ms(10));
    assert_eq!(patches(&effects).len(), 1);
    // The PATCH has gone out; its answer is dropped with the job.
    let effects = m.handle(MachineInput::Cancel, ms(20), 0.5);
    let outcome = finished(&effects).unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::Cancelled);
    assert_eq!(outcome.attempts, 1);
    assert!(
        outcome.message.contains("may have"),
        "the record must not read as if nothing was sent: {:?}",
        outcome.message
    );
}

#[test]
fn a_rate_limit_seen_by_another_job_holds_back_reads_and_patches() {
    // Another job (same token) got a 429 whose Retry-After ends at 3 s.
    let mut m = machine();
    m.hold_until(ms(3_000));
    assert!(m.handle(MachineInput::Start, ms(0), 0.5).is_empty());
    assert_eq!(m.wake_at(), Some(ms(3_000)));
    assert_eq!(
        m.handle(MachineInput::Timer, ms(3_000), 0.5),
        vec![Effect::Read]
    );
    // Waiting on a settled leg: the PATCH waits too, and no attempt is spent meanwhile.
    let mut m = machine();
    m.handle(MachineInput::Start, ms(0), 0.5);
    m.hold_until(ms(2_000));
    let effects = m.handle(
        MachineInput::ReadOk(call(ParticipantState::Connected)),
        ms(10),
        0.5,
    );
    assert!(patches(&effects).is_empty());
    assert_eq!(m.wake_at(), Some(ms(2_000)));
    let effects = m.handle(MachineInput::Timer, ms(2_000), 0.5);
    assert_eq!(patches(&effects).len(), 1);
    assert!(effects.contains(&Effect::Report(Step::Attempt { number: 1 })));
}

#[test]
fn a_read_older_than_an_event_does_not_bring_a_gone_party_back() {
    // The GET goes out; meanwhile an event shows agent a2 gone (only the customer and the
    // target are left). The GET's answer, made before a2 left, arrives after the event.
    let mut m = machine();
    assert_eq!(
        m.handle(MachineInput::Start, ms(0), 0.5),
        vec![Effect::Read]
    );
    let mut newer = call(ParticipantState::Connected);
    newer.participants[2].state = ParticipantState::Disconnected;
    assert!(m.handle(MachineInput::Event(newer), ms(5), 0.5).is_empty());
    let older = call(ParticipantState::Connected);
    let effects = m.handle(MachineInput::ReadOk(older), ms(10), 0.5);
    assert!(
        patches(&effects).is_empty(),
        "removing t now leaves the customer alone: {effects:?}"
    );
    assert_eq!(finished(&effects).unwrap().outcome, OutcomeKind::Refused);
}

fn timed_out() -> ApiError {
    ApiError::new(
        FailureKind::Unavailable,
        "PATCH /x",
        "timed out: operation timed out",
    )
}

#[test]
fn a_patch_that_timed_out_may_have_worked_so_a_later_gone_leg_is_verified_not_already_gone() {
    let mut m = patch_sent();
    // No answer: the PATCH may or may not have reached the platform.
    m.handle(MachineInput::PatchFailed(timed_out()), ms(15_000), 0.5);
    // Before another PATCH, a wait for the platform to apply it, then a read.
    assert!(m.wake_at().unwrap() >= ms(15_000) + policy::LOST_ANSWER_CHECK);
    // The event shows the target gone (our PATCH did land) and the others still there.
    let effects = m.handle(
        MachineInput::Event(call(ParticipantState::Disconnected)),
        ms(15_010),
        0.5,
    );
    assert!(patches(&effects).is_empty());
    let outcome = finished(&effects).expect("done");
    assert_eq!(outcome.outcome, OutcomeKind::Removed, "{outcome:?}");
    assert_eq!(outcome.attempts, 1, "one PATCH");
    assert!(
        outcome.message.contains("attempt 1 got no answer"),
        "the record says the answer was lost: {}",
        outcome.message
    );
}

#[test]
fn after_a_timed_out_patch_call_disconnected_is_verified_before_success_or_already_gone() {
    let mut m = patch_sent();
    m.handle(MachineInput::PatchFailed(timed_out()), ms(15_000), 0.5);
    let at = m.wake_at().unwrap();
    assert_eq!(m.handle(MachineInput::Timer, at, 0.5), vec![Effect::Read]);
    // The read finds the leg still there: the PATCH is tried again.
    let effects = m.handle(
        MachineInput::ReadOk(call(ParticipantState::Connected)),
        at + ms(5),
        0.5,
    );
    assert_eq!(patches(&effects).len(), 1, "the PATCH is tried again");
    let effects = m.handle(
        MachineInput::PatchFailed(api(400, Some("conversation.error.call.disconnected"), None)),
        ms(15_200),
        0.5,
    );
    assert!(finished(&effects).is_none(), "not done on the answer alone");
    assert!(effects.contains(&Effect::Read), "{effects:?}");
    // The read shows the target gone and everyone else gone too: the call ended.
    let mut ended = call(ParticipantState::Disconnected);
    for leg in &mut ended.participants {
        leg.state = ParticipantState::Disconnected;
    }
    let effects = m.handle(MachineInput::ReadOk(ended), ms(15_300), 0.5);
    assert_eq!(finished(&effects).unwrap().outcome, OutcomeKind::Failed);
}

#[test]
fn a_user_with_two_live_legs_is_not_guessed() {
    // The user is on the call twice, both legs live: which one to drop is not ours to guess.
    let mut conversation = call(ParticipantState::Connected);
    conversation
        .participants
        .push(leg("t2", "agent", ParticipantState::Alerting, Some("u1")));
    for force in [false, true] {
        let config = MachineConfig {
            force,
            ..MachineConfig::default()
        };
        let mut m = KickMachine::new("c1", Wanted::User("u1".into()), config);
        let effects = first_read(&mut m, conversation.clone(), ms(10));
        assert!(patches(&effects).is_empty(), "{effects:?}");
        let outcome = finished(&effects).expect("done");
        assert_eq!(outcome.outcome, OutcomeKind::Refused);
        assert!(outcome.message.contains('t') && outcome.message.contains("t2"));
    }
}

// ---- property tests ----

/// What the simulated platform does next.
#[derive(Clone, Debug)]
enum Move {
    /// Answer the pending request (the u8 picks which answer).
    Answer(u8),
    /// An event: the target's leg changes (the u8 picks the state).
    Event(u8),
    /// Let time pass to the machine's wake time.
    Timer,
    /// A little time passes.
    Pass(u16),
    /// The socket reconnected: events may have been lost.
    Lost,
}

fn moves() -> impl Strategy<Value = Vec<Move>> {
    prop::collection::vec(
        prop_oneof![
            4 => any::<u8>().prop_map(Move::Answer),
            2 => any::<u8>().prop_map(Move::Event),
            2 => Just(Move::Timer),
            1 => (0u16..3000).prop_map(Move::Pass),
            1 => Just(Move::Lost),
        ],
        1..120,
    )
}

fn state_from(n: u8) -> ParticipantState {
    match n % 6 {
        0 => ParticipantState::Alerting,
        1 => ParticipantState::Contacting,
        2 => ParticipantState::Converting,
        _ => ParticipantState::Connected,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn invariants_hold_for_any_sequence(
        moves in moves(),
        jitters in prop::collection::vec(0.0f64..1.0, 120),
        initial in any::<u8>(),
        by_user in any::<bool>(),
        target_customer in any::<bool>(),
        force in any::<bool>(),
        settled_first in any::<bool>(),
        live in any::<bool>(),
    ) {
        let strategy = if settled_first { KickStrategy::Settled } else { KickStrategy::Eager };
        let config = MachineConfig { force, strategy, ..MachineConfig::default() };
        let mut conflicts = 0u32;
        let target_id = if target_customer { "cust" } else { "t" };
        let wanted = if by_user && !target_customer {
            Wanted::User("u1".into())
        } else {
            Wanted::Participant(target_id.into())
        };
        let mut m = KickMachine::new("c1", wanted, config.clone());
        m.set_live(live);
        // The world: an old terminated leg of the same user comes first.
        let mut world = call(state_from(initial));
        world.participants.insert(0, leg("t-old", "agent", ParticipantState::Terminated, Some("u1")));
        let set_target = |world: &mut CallConversation, state: ParticipantState| {
            if let Some(p) = world.participants.iter_mut().find(|p| p.id == target_id) {
                p.state = state;
            }
        };
        let target_state = |world: &CallConversation| world.participant(target_id).map(|p| p.state.clone());

        let mut now = Duration::ZERO;
        let mut pending: Option<Effect> = None;
        let mut seen: Option<CallConversation> = None; // the machine's latest view
        let mut not_before = Duration::ZERO;
        let mut accepted = false;
        let mut effects = m.handle(MachineInput::Start, now, 0.5);

        for (i, mv) in moves.iter().enumerate() {
            // Check the effects just produced.
            for e in &effects {
                match e {
                    Effect::Patch { participant_id, .. } => {
                        prop_assert_eq!(participant_id.as_str(), target_id, "only the target is PATCHed");
                        prop_assert!(now >= not_before, "no request before Retry-After ends");
                        let view = seen.as_ref().and_then(|c| c.participant(target_id)).map(|p| p.state.clone());
                        if settled_first || conflicts > 0 {
                            prop_assert_eq!(view, Some(ParticipantState::Connected), "after a 409 (or settled first) never PATCH an unsettled leg");
                        }
                        prop_assert!(force || !target_customer, "a customer is never PATCHed unforced");
                        prop_assert!(conflicts < config.max_attempts, "refusals by the lock are bounded");
                        prop_assert!(now < m.patch_leave_by(), "no PATCH starts in the deadline's reserve");
                        pending = Some(e.clone());
                    }
                    Effect::Read => {
                        prop_assert!(now >= not_before, "no request before Retry-After ends");
                        pending = Some(e.clone());
                    }
                    Effect::Report(Step::Finished(outcome)) => {
                        if outcome.outcome == OutcomeKind::Removed {
                            prop_assert!(accepted, "success only after a 202");
                            let view = seen.as_ref().and_then(|c| c.participant(target_id)).map(|p| p.state.is_gone());
                            prop_assert_eq!(view, Some(true), "success only when seen gone");
                        }
                    }
                    Effect::Report(_) => {}
                }
            }
            if m.is_done() {
                break;
            }
            prop_assert!(pending.is_some() || m.wake_at().is_some(), "the machine never stalls");
            let jitter = jitters[i];
            effects = match mv {
                Move::Answer(n) if pending.is_some() => {
                    now += ms(5);
                    match pending.take() {
                        Some(Effect::Read) => match n % 5 {
                            0 => m.handle(MachineInput::ReadFailed(api(503, None, None)), now, jitter),
                            1 => {
                                not_before = not_before.max(now + ms(1000));
                                m.handle(MachineInput::ReadFailed(api(429, None, Some(ms(1000)))), now, jitter)
                            }
                            _ => {
                                seen = Some(world.clone());
                                m.handle(MachineInput::ReadOk(world.clone()), now, jitter)
                            }
                        },
                        _ => match n % 8 {
                            0 => {
                                conflicts += 1;
                                m.handle(MachineInput::PatchFailed(api(409, None, None)), now, jitter)
                            }
                            1 => {
                                not_before = not_before.max(now + ms(2000));
                                m.handle(MachineInput::PatchFailed(api(429, None, Some(ms(2000)))), now, jitter)
                            }
                            2 => m.handle(MachineInput::PatchFailed(api(504, None, None)), now, jitter),
                            3 => m.handle(MachineInput::PatchFailed(api(400, Some("not.a.user"), None)), now, jitter),
                            _ => {
                                accepted = true;
                                if n % 3 == 0 {
                                    set_target(&mut world, ParticipantState::Disconnected);
                                }
                                m.handle(MachineInput::PatchAccepted(None), now, jitter)
                            }
                        },
                    }
                }
                Move::Answer(_) => Vec::new(),
                Move::Event(n) => {
                    now += ms(10);
                    if accepted && n % 2 == 0 {
                        set_target(&mut world, ParticipantState::Disconnected);
                    } else if target_state(&world).is_some_and(|s| !s.is_gone()) {
                        set_target(&mut world, state_from(*n));
                    }
                    // An event can overtake an answer in flight; the machine keeps it as its view.
                    seen = Some(world.clone());
                    m.handle(MachineInput::Event(world.clone()), now, jitter)
                }
                Move::Timer => match (m.wake_at(), &pending) {
                    (Some(at), None) => {
                        now = now.max(at);
                        m.handle(MachineInput::Timer, now, jitter)
                    }
                    _ => Vec::new(),
                },
                Move::Lost => m.handle(MachineInput::EventsLost, now, jitter),
                Move::Pass(d) => {
                    now += ms(u64::from(*d));
                    if pending.is_none() { m.handle(MachineInput::Timer, now, jitter) } else { Vec::new() }
                }
            };
        }
    }
}

/// The official SDKs honour Retry-After on a 503: it is a floor under our own backoff.
#[test]
fn a_server_error_with_retry_after_waits_at_least_that_long() {
    let mut m = patch_sent();
    let effects = m.handle(
        MachineInput::PatchFailed(api(503, None, Some(Duration::from_secs(2)))),
        ms(20),
        0.5,
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Report(Step::Backoff { delay_ms: 2000, .. }))),
        "{effects:?}"
    );
    assert_eq!(m.wake_at(), Some(ms(2020)));
    assert!(m.handle(MachineInput::Timer, ms(2019), 0.5).is_empty());
    assert_eq!(
        patches(&m.handle(MachineInput::Timer, ms(2020), 0.5)).len(),
        1
    );
    // A failed read (502) waits its Retry-After too.
    let effects = m.handle(
        MachineInput::PatchFailed(api(409, None, None)),
        ms(2030),
        0.5,
    );
    assert!(!effects.is_empty());
    let read_at = m.wake_at().unwrap();
    assert_eq!(
        m.handle(MachineInput::Timer, read_at, 0.5),
        vec![Effect::Read]
    );
    m.handle(
        MachineInput::ReadFailed(api(502, None, Some(Duration::from_secs(1)))),
        read_at,
        0.5,
    );
    assert_eq!(m.wake_at(), Some(read_at + Duration::from_secs(1)));
}

#[test]
fn a_server_error_retry_after_shorter_than_the_backoff_keeps_the_backoff() {
    let mut m = patch_sent();
    m.handle(
        MachineInput::PatchFailed(api(503, None, Some(ms(1)))),
        ms(20),
        0.99,
    );
    assert_eq!(m.wake_at(), Some(ms(20) + policy::TROUBLE.delay(0, 0.99)));
}

/// A Retry-After past the job's deadline: the job ends at its deadline, not later.
#[test]
fn a_server_error_retry_after_is_bounded_by_the_deadline() {
    let mut m = patch_sent();
    m.handle(
        MachineInput::PatchFailed(api(503, None, Some(Duration::from_secs(600)))),
        ms(20),
        0.5,
    );
    let deadline = MachineConfig::default().deadline;
    assert_eq!(m.wake_at(), Some(deadline));
    assert!(patches(&m.handle(MachineInput::Timer, deadline - ms(1), 0.5)).is_empty());
    m.handle(MachineInput::Timer, deadline, 0.5);
    assert_eq!(m.outcome().unwrap().outcome, OutcomeKind::TimedOut);
}

// ---- the eager kick, the lock and the deadline ----

fn live_machine(plan: Option<LockPlan>) -> KickMachine {
    let mut m = for_t(MachineConfig {
        lock_plan: plan,
        ..MachineConfig::default()
    });
    m.set_live(true);
    m
}

fn locked_step(effects: &[Effect]) -> Option<(u64, bool)> {
    effects.iter().find_map(|e| match e {
        Effect::Report(Step::Locked {
            retry_in_ms,
            learned,
        }) => Some((*retry_in_ms, *learned)),
        _ => None,
    })
}

#[test]
fn lock_plan_from_history() {
    let s = |refused: Option<u64>, accepted: u64| LockSample {
        refused_ms: refused,
        accepted_ms: accepted,
    };
    // (history, expected (first, fallback) in ms)
    type SamplesAndPlan = (Vec<LockSample>, Option<(u64, u64)>);
    let table: Vec<SamplesAndPlan> = vec![
        (vec![], None),
        // A wide bracket: its middle first, the known-good acceptance as fallback.
        (vec![s(Some(210), 410)], Some((310, 410))),
        // Narrow: the longest refusal plus the margin.
        (vec![s(Some(395), 410)], Some((403, 411))),
        (vec![s(Some(210), 700), s(Some(395), 402)], Some((403, 411))),
        // Never refused after a settle: probe below the shortest acceptance.
        (vec![s(None, 500)], Some((250, 500))),
        // A refusal after an acceptance (the lock grew): trust the refusal.
        (vec![s(None, 300), s(Some(450), 460)], Some((458, 466))),
        // Bounded by 2 s.
        (vec![s(Some(5000), 6000)], Some((2000, 2000))),
        // Implausible samples (hostile file) are ignored.
        (vec![s(Some(900_000), 1), s(None, u64::MAX)], None),
        // Five or more: one odd kick (a slow platform's refusal at 1.9 s, an acceptance at
        // 50 ms) is left out.
        (
            vec![
                s(Some(395), 410),
                s(Some(1900), 1950),
                s(Some(390), 405),
                s(None, 50),
                s(Some(396), 412),
                s(Some(397), 409),
            ],
            Some((405, 413)),
        ),
        // A lock that varies from call to call (refused at 700 ms, accepted at 250 ms in
        // other kicks): no one learned time; the schedule without history.
        (
            vec![
                s(Some(588), 823),
                s(None, 300),
                s(Some(420), 588),
                s(Some(300), 420),
                s(Some(700), 823),
                s(None, 250),
            ],
            None,
        ),
    ];
    for (history, want) in table {
        let got = crate::kick::lock::plan(&history)
            .map(|p| (p.first.as_millis() as u64, p.fallback.as_millis() as u64));
        assert_eq!(got, want, "history {history:?}");
    }
}

#[test]
fn lock_history_is_kept_per_org_and_bounded_in_orgs() {
    use crate::kick::lock::LockHistory;
    use crate::kick::policy::HISTORY_ORGS;
    let mut h = LockHistory::default();
    let sample = |accepted_ms| LockSample {
        refused_ms: Some(accepted_ms - 10),
        accepted_ms,
    };
    h.push("org a", sample(410));
    h.push("org b", sample(1510));
    assert_eq!(h.plan("org a").unwrap().first, ms(408));
    assert_eq!(h.plan("org b").unwrap().first, ms(1508));
    assert_eq!(h.plan("org c"), None, "no history of its own: no plan");
    for n in 0..HISTORY_ORGS {
        h.push(&format!("other {n}"), sample(500));
    }
    assert_eq!(
        h.plan("org a"),
        None,
        "the org used least recently is forgotten"
    );
}

#[test]
fn lock_history_is_bounded_and_survives_a_corrupt_file() {
    use crate::kick::lock::{HISTORY_LEN, LockHistory};
    let mut h = LockHistory::default();
    for i in 0..40 {
        h.push(
            "org a",
            LockSample {
                refused_ms: None,
                accepted_ms: i,
            },
        );
    }
    assert_eq!(h.samples().len(), HISTORY_LEN);
    assert_eq!(h.samples()[0].accepted_ms, 40 - HISTORY_LEN as u64);
    let dir = std::env::temp_dir().join(format!("confwatch-lock-{}", uuid::Uuid::new_v4()));
    let path = dir.join("lock-history.json");
    h.save(&path).unwrap();
    assert_eq!(LockHistory::load(&path), h);
    for junk in [
        &b"{not json"[..],
        br#"{"samples":[{"refusedMs":-1,"acceptedMs":"x"}]}"#,
        br#"{"samples":[{"refusedMs":18446744073709551615,"acceptedMs":18446744073709551615}]}"#,
    ] {
        std::fs::write(&path, junk).unwrap();
        assert_eq!(LockHistory::load(&path).samples(), vec![]);
    }
    std::fs::write(&path, vec![b' '; 200_000]).unwrap();
    assert_eq!(LockHistory::load(&path), LockHistory::default());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn eager_patches_a_ringing_leg_at_once() {
    let mut m = live_machine(None);
    let effects = first_read(&mut m, call(ParticipantState::Alerting), ms(40));
    assert_eq!(patches(&effects).len(), 1, "no wait for the leg to settle");
}

/// (lock plan, refusals after the settle, jitter) → the retry delays after the settle, and
/// whether each was learned. A 409 on a ringing leg first: the machine waits for the settle.
#[test]
fn after_a_409_the_retry_waits_for_the_settle_then_the_lock() {
    let plan = |first, fallback| {
        Some(LockPlan {
            first: ms(first),
            fallback: ms(fallback),
        })
    };
    type PlanJitterAttempts = (Option<LockPlan>, f64, Vec<(u64, bool)>);
    let table: Vec<PlanJitterAttempts> = vec![
        // No history: the schedule anchored on the settle (300, 420, 588 ms after it), never
        // two PATCHes closer than the floor; jitter plays no part.
        (None, 0.5, vec![(300, false), (115, false), (163, false)]),
        // Learned: the plan's first time, then halving the gap to its fallback, then the fallback.
        (
            plan(400, 430),
            0.5,
            vec![(400, true), (10, true), (10, true)],
        ),
        (
            plan(380, 380),
            0.25,
            // Refused at the learned time: the lock is longer now; on to the schedule.
            vec![(380, true), (203, false), (230, false)],
        ),
    ];
    for (lock_plan, jitter, want) in table {
        let mut m = live_machine(lock_plan);
        m.handle(MachineInput::Start, ms(0), jitter);
        m.handle(
            MachineInput::ReadOk(call(ParticipantState::Alerting)),
            ms(10),
            jitter,
        );
        let effects = m.handle(
            MachineInput::PatchFailed(api(409, None, None)),
            ms(20),
            jitter,
        );
        assert!(
            !effects.contains(&Effect::Read),
            "no GET after a 409 while the feed is up"
        );
        assert!(patches(&effects).is_empty());
        assert_eq!(
            m.wake_at(),
            Some(ms(5010)),
            "only a re-read if no event comes for 5 s"
        );
        // The leg settles at 1200 (an event).
        let mut now = ms(1200);
        let mut effects = m.handle(
            MachineInput::Event(call(ParticipantState::Connected)),
            now,
            jitter,
        );
        let mut got = Vec::new();
        for i in 0..want.len() {
            let (delay, learned) = locked_step(&effects).expect("a locked step");
            got.push((delay, learned));
            let due = m.wake_at().unwrap();
            assert_eq!(due, now + ms(delay));
            assert!(
                m.handle(MachineInput::Timer, due - ms(1), jitter)
                    .is_empty()
            );
            let sent = m.handle(MachineInput::Timer, due, jitter);
            assert_eq!(patches(&sent).len(), 1);
            now = due + ms(5);
            if i + 1 < want.len() {
                effects = m.handle(MachineInput::PatchFailed(api(409, None, None)), now, jitter);
                assert!(!effects.contains(&Effect::Read));
            }
        }
        assert_eq!(got, want, "plan {lock_plan:?}");
    }
}

#[test]
fn a_kick_through_the_lock_learns_when_it_ended() {
    let mut m = live_machine(None);
    first_read(&mut m, call(ParticipantState::Alerting), ms(10));
    m.handle(MachineInput::PatchFailed(api(409, None, None)), ms(20), 0.5);
    m.handle(
        MachineInput::Event(call(ParticipantState::Connected)),
        ms(1000),
        0.5,
    );
    m.handle(MachineInput::Timer, ms(1300), 0.5);
    m.handle(
        MachineInput::PatchFailed(api(409, None, None)),
        ms(1305),
        0.5,
    );
    m.handle(MachineInput::Timer, ms(1420), 0.5);
    assert_eq!(m.lock_sample(), None, "nothing learned before a 202");
    m.handle(MachineInput::PatchAccepted(None), ms(1425), 0.5);
    assert_eq!(
        m.lock_sample(),
        Some(LockSample {
            refused_ms: Some(300),
            accepted_ms: 420
        })
    );
}

#[test]
fn without_live_events_a_409_backs_off_and_rereads() {
    let mut m = machine();
    first_read(&mut m, call(ParticipantState::Alerting), ms(10));
    m.handle(MachineInput::PatchFailed(api(409, None, None)), ms(20), 0.5);
    assert_eq!(
        m.handle(MachineInput::Timer, ms(70), 0.5),
        vec![Effect::Read]
    );
}

#[test]
fn a_request_without_an_answer_ends_at_the_deadline() {
    let config = MachineConfig {
        deadline: ms(3000),
        ..MachineConfig::default()
    };
    let mut m = for_t(config);
    assert_eq!(
        m.handle(MachineInput::Start, ms(0), 0.5),
        vec![Effect::Read]
    );
    assert_eq!(
        m.wake_at(),
        Some(ms(3000)),
        "a read is bounded by the deadline"
    );
    let effects = m.handle(MachineInput::Timer, ms(3000), 0.5);
    let outcome = finished(&effects).unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::TimedOut);
    assert!(
        outcome.message.contains("no removal was sent"),
        "{}",
        outcome.message
    );
}

#[test]
fn a_patch_without_an_answer_by_the_deadline_is_unknown_and_checked() {
    let config = MachineConfig {
        deadline: ms(4000),
        ..MachineConfig::default()
    };
    let mut m = for_t(config);
    first_read(&mut m, call(ParticipantState::Connected), ms(100));
    // The reserve is a quarter of the deadline (1 s): the answer is awaited until 3.5 s.
    assert_eq!(m.wake_at(), Some(ms(3500)));
    let effects = m.handle(MachineInput::Timer, ms(3500), 0.5);
    assert!(
        effects.contains(&Effect::Read),
        "a verification read: {effects:?}"
    );
    // The read shows the leg still there; the deadline comes.
    m.handle(
        MachineInput::ReadOk(call(ParticipantState::Connected)),
        ms(3600),
        0.5,
    );
    assert_eq!(m.wake_at(), Some(ms(4000)));
    let effects = m.handle(MachineInput::Timer, ms(4000), 0.5);
    let outcome = finished(&effects).unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::Unknown);
    assert!(
        outcome.message.starts_with("the removal may have happened")
            && outcome.message.contains("showed the leg connected"),
        "{}",
        outcome.message
    );
    // The same, but the read sees it gone: removed.
    let config = MachineConfig {
        deadline: ms(4000),
        ..MachineConfig::default()
    };
    let mut m = for_t(config);
    first_read(&mut m, call(ParticipantState::Connected), ms(100));
    m.handle(MachineInput::Timer, ms(3500), 0.5);
    let effects = m.handle(
        MachineInput::ReadOk(call(ParticipantState::Disconnected)),
        ms(3600),
        0.5,
    );
    assert_eq!(finished(&effects).unwrap().outcome, OutcomeKind::Removed);
}

#[test]
fn no_patch_starts_in_the_deadline_reserve() {
    let config = MachineConfig {
        deadline: ms(4000),
        ..MachineConfig::default()
    };
    let mut m = for_t(config);
    let effects = first_read(&mut m, call(ParticipantState::Connected), ms(3100));
    assert!(patches(&effects).is_empty());
    assert_eq!(finished(&effects).unwrap().outcome, OutcomeKind::TimedOut);
}

#[test]
fn interrupt_and_audit_failure_end_the_job_saying_what_was_sent() {
    let mut m = patch_sent();
    let effects = m.handle(
        MachineInput::Interrupt("interrupted by SIGTERM".into()),
        ms(20),
        0.5,
    );
    let outcome = finished(&effects).unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::Interrupted);
    assert!(
        outcome.message.contains("may have taken effect"),
        "{}",
        outcome.message
    );

    let mut m = machine();
    let effects = m.handle(
        MachineInput::AuditFailed("the audit record could not be written".into()),
        ms(0),
        0.5,
    );
    let outcome = finished(&effects).unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert!(outcome.message.contains("no removal was sent"));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Read | Effect::Patch { .. }))
    );
}

/// Any call and any live target: the machine refuses an unforced kick exactly when the safety
/// rule names a risk, the same rule the console's dialog asks a second time for.
fn any_call() -> impl Strategy<Value = (CallConversation, usize)> {
    let purposes = prop_oneof![
        Just("agent"),
        Just("user"),
        Just("customer"),
        Just("external"),
        Just("acd"),
    ];
    let states = prop_oneof![
        Just(ParticipantState::Connected),
        Just(ParticipantState::Alerting),
        Just(ParticipantState::Disconnected),
        Just(ParticipantState::Terminated),
        Just(ParticipantState::Dialing),
    ];
    prop::collection::vec((purposes, states), 1..6).prop_flat_map(|legs| {
        let n = legs.len();
        let call = CallConversation {
            id: "c1".into(),
            participants: legs
                .into_iter()
                .enumerate()
                .map(|(i, (purpose, state))| leg(&format!("p{i}"), purpose, state, None))
                .collect(),
            ..Default::default()
        };
        (Just(call), 0..n)
    })
}

proptest! {
    #[test]
    fn the_machine_refuses_exactly_what_the_safety_rule_flags((call, index) in any_call()) {
        let target = call.participants[index].clone();
        prop_assume!(!target.state.is_gone());
        let risk = crate::kick::safety::assess(&call, &target, &[]).risk;
        let mut m = KickMachine::new(
            "c1",
            Wanted::Participant(target.id.clone()),
            MachineConfig::default(),
        );
        let effects = first_read(&mut m, call.clone(), ms(10));
        let refused = finished(&effects).is_some_and(|o| o.outcome == OutcomeKind::Refused);
        prop_assert_eq!(refused, risk.is_some(), "{:?}", effects);
        prop_assert_eq!(patches(&effects).is_empty(), risk.is_some());
    }
}

/// An external party known only by its number is named by that number in the kick's progress
/// (and so in the audit), as on the console's rows.
#[test]
fn an_external_number_is_the_name_in_progress() {
    let mut call = call(ParticipantState::Connected);
    let mut external = CallMediaParticipant::new("ext", "external", ParticipantState::Connected);
    external.address = Some("+1 555 0100".into());
    call.participants.push(external);
    let config = MachineConfig {
        force: true,
        ..MachineConfig::default()
    };
    let mut m = KickMachine::new("c1", Wanted::Participant("ext".into()), config);
    let effects = first_read(&mut m, call, ms(10));
    let named = effects.iter().any(|e| {
        matches!(e, Effect::Report(Step::Started { name: Some(name), .. }) if name == "+1 555 0100")
    });
    assert!(named, "{effects:?}");
}

// ---- a platform in trouble ----

#[test]
fn verification_under_failing_reads_retries_each_at_once_on_the_short_schedule() {
    let mut m = patch_sent();
    m.handle(MachineInput::PatchAccepted(None), ms(20), 0.5);
    let mut now = m.wake_at().unwrap();
    // Six 503s in a row: each read is retried on the short schedule, not at the next slot.
    for failure in 0..6 {
        assert_eq!(m.handle(MachineInput::Timer, now, 0.5), vec![Effect::Read]);
        let effects = m.handle(MachineInput::ReadFailed(api(503, None, None)), now, 0.5);
        assert!(finished(&effects).is_none());
        let next = m.wake_at().unwrap();
        assert!(
            next - now <= policy::VERIFY_RETRY.ceiling(failure),
            "failure {failure}: next read {:?} later",
            next - now
        );
        now = next;
    }
    assert_eq!(m.handle(MachineInput::Timer, now, 0.5), vec![Effect::Read]);
    let effects = m.handle(
        MachineInput::ReadOk(call(ParticipantState::Disconnected)),
        now,
        0.5,
    );
    assert_eq!(finished(&effects).unwrap().outcome, OutcomeKind::Removed);
    assert!(now < ms(5000), "confirmed within seconds: {now:?}");
}

#[test]
fn a_kick_that_gives_up_under_5xx_names_what_the_platform_answered() {
    let config = MachineConfig {
        deadline: ms(8000),
        ..MachineConfig::default()
    };
    let mut m = for_t(config);
    let mut effects = first_read(&mut m, call(ParticipantState::Connected), ms(10));
    let mut now = ms(10);
    let mut patches_sent = 0;
    while !m.is_done() {
        if !patches(&effects).is_empty() {
            patches_sent += 1;
            now += ms(5);
            effects = m.handle(MachineInput::PatchFailed(api(503, None, None)), now, 0.5);
            continue;
        }
        now = m.wake_at().unwrap();
        effects = m.handle(MachineInput::Timer, now, 0.5);
    }
    let outcome = m.outcome().unwrap();
    assert!(
        patches_sent > 8,
        "the deadline, not a count, ends it: {patches_sent}"
    );
    assert_eq!(outcome.outcome, OutcomeKind::TimedOut);
    assert_eq!(outcome.status, Some(503));
    assert!(
        outcome
            .message
            .contains(&format!("{patches_sent} × 503 Service Unavailable in ")),
        "{}",
        outcome.message
    );
    assert!(!outcome.message.contains("refus"), "{}", outcome.message);
}

#[test]
fn a_patch_whose_token_could_not_be_had_was_not_sent_and_is_retried() {
    let mut m = patch_sent();
    assert_eq!(m.attempts(), 1);
    let token = ApiError::from_status("POST /oauth/token", 503, None, None, None);
    let effects = m.handle(MachineInput::PatchNotSent(Some(token)), ms(20), 0.5);
    assert!(patches(&effects).is_empty());
    assert_eq!(m.attempts(), 0, "nothing left: the attempt is taken back");
    let effects = m.handle(MachineInput::Timer, m.wake_at().unwrap(), 0.5);
    assert_eq!(patches(&effects).len(), 1);
    assert_eq!(m.attempts(), 1);
    // Too late to leave: the job ends without saying a removal may have happened.
    let effects = m.handle(MachineInput::PatchNotSent(None), ms(59_000), 0.5);
    let outcome = finished(&effects).unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::TimedOut, "{outcome:?}");
}

fn settled_with_a_plan(first: u64, fallback: u64) -> KickMachine {
    let mut m = for_t(MachineConfig {
        strategy: KickStrategy::Settled,
        lock_plan: Some(LockPlan {
            first: ms(first),
            fallback: ms(fallback),
        }),
        ..MachineConfig::default()
    });
    m.set_live(true);
    m
}

#[test]
fn settled_with_a_learned_lock_sends_no_patch_into_it() {
    let mut m = settled_with_a_plan(408, 420);
    first_read(&mut m, call(ParticipantState::Alerting), ms(10));
    // Settles at 1200: earlier kicks learned that the lock holds 408 ms after a settle, so no
    // PATCH leaves into it; the wait is reported.
    let effects = m.handle(
        MachineInput::Event(call(ParticipantState::Connected)),
        ms(1200),
        0.5,
    );
    assert!(patches(&effects).is_empty(), "{effects:?}");
    assert!(
        effects.contains(&Effect::Report(Step::LockAhead { wait_ms: 408 })),
        "{effects:?}"
    );
    assert_eq!(
        m.wake_at(),
        Some(ms(1608)),
        "the learned end after the settle"
    );
    assert!(patches(&m.handle(MachineInput::Timer, ms(1607), 0.5)).is_empty());
    assert_eq!(
        patches(&m.handle(MachineInput::Timer, ms(1608), 0.5)).len(),
        1
    );
    // Accepted: what the kick saw is learned (no refusal after the settle, accepted at 408 ms).
    m.handle(MachineInput::PatchAccepted(None), ms(1612), 0.5);
    assert_eq!(
        m.lock_sample(),
        Some(LockSample {
            refused_ms: None,
            accepted_ms: 408
        })
    );
}

#[test]
fn settled_refused_at_the_learned_end_retries_at_the_fallback_not_bisecting_from_the_settle() {
    let mut m = settled_with_a_plan(408, 420);
    first_read(&mut m, call(ParticipantState::Alerting), ms(10));
    m.handle(
        MachineInput::Event(call(ParticipantState::Connected)),
        ms(1200),
        0.5,
    );
    assert_eq!(
        patches(&m.handle(MachineInput::Timer, ms(1608), 0.5)).len(),
        1
    );
    // The lock is longer today: the plan's fallback (known to pass), 12 ms after the refusal.
    let effects = m.handle(
        MachineInput::PatchFailed(api(409, None, None)),
        ms(1613),
        0.5,
    );
    assert_eq!(locked_step(&effects), Some((7, true)));
    assert_eq!(m.wake_at(), Some(ms(1620)));
}

#[test]
fn settled_patches_at_the_settle_while_the_lock_is_still_being_learned() {
    // A wide bracket (refused at 210 ms, accepted at 410 ms): waiting for its middle would
    // never show a lock that ends sooner, so the PATCH goes at the settle as without history.
    let mut m = settled_with_a_plan(310, 410);
    first_read(&mut m, call(ParticipantState::Alerting), ms(10));
    let effects = m.handle(
        MachineInput::Event(call(ParticipantState::Connected)),
        ms(1200),
        0.5,
    );
    assert_eq!(patches(&effects).len(), 1, "{effects:?}");
}

#[test]
fn settled_patches_at_once_a_leg_that_had_settled_before_the_kick() {
    // The settle was not seen (the leg was connected at the first read): the lock is likely
    // over, and the plan does not hold the PATCH back.
    let mut m = settled_with_a_plan(408, 420);
    let effects = first_read(&mut m, call(ParticipantState::Connected), ms(10));
    assert_eq!(patches(&effects).len(), 1, "{effects:?}");
}

/// Another kick on the call (a claim, `kick::claims`) begins after this one's first PATCH was
/// refused: the safety rule is checked again before the next PATCH, with that party leaving.
#[test]
fn another_kick_on_the_call_is_counted_before_the_next_patch() {
    let mut m = machine();
    let effects = first_read(&mut m, call(ParticipantState::Connected), ms(10));
    assert_eq!(patches(&effects).len(), 1, "{effects:?}");
    let mut effects = m.handle(MachineInput::PatchFailed(api(409, None, None)), ms(20), 0.5);
    // The other agent's kick (named by user id) is now running.
    m.set_leaving(vec!["u2".into()]);
    let mut outcome = None;
    for step in 1..200u64 {
        let input = if effects.iter().any(|e| matches!(e, Effect::Read)) {
            MachineInput::ReadOk(call(ParticipantState::Connected))
        } else {
            MachineInput::Timer
        };
        effects = m.handle(input, ms(20 + step * 100), 0.5);
        assert!(patches(&effects).is_empty(), "PATCHed: {effects:?}");
        if let Some(done) = finished(&effects) {
            outcome = Some(done.clone());
            break;
        }
    }
    let outcome = outcome.expect("an outcome");
    assert_eq!(outcome.outcome, OutcomeKind::Refused, "{outcome:?}");
    assert!(
        outcome.message.contains("another kick on this call"),
        "{}",
        outcome.message
    );
}

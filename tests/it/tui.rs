//! The console through ratatui's TestBackend: snapshots of the main screens at 120x40 and 80x24,
//! and key-driven tests of the reducer. Synthetic feed events and progress; no network, no clock.

use crate::common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use confwatch::feed::{AuthProblem, ConnectionState, FeedEvent, RateFigures};
use confwatch::kick::{Outcome, OutcomeKind, Progress, Step, Target};
use confwatch::live::Update;
use confwatch::tui::{Action, App, Input, Pane, View};
use confwatch::tui::{Keymap, Theme, draw};
use confwatch::wire::{
    CallConversation, CallMediaParticipant, EntityRef, ParticipantState as S, Queue, Timestamp,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZES: [(u16, u16); 2] = [(120, 40), (80, 24)];

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 7, 0, 0).unwrap()
}

fn at(ms: i64) -> DateTime<Utc> {
    t0() + Duration::milliseconds(ms)
}

fn queue(id: &str, name: &str) -> Queue {
    Queue {
        id: id.into(),
        name: Some(name.into()),
        ..Default::default()
    }
}

/// A leg that started `ago` seconds before t0 and entered its state `in_state` seconds before t0.
fn leg(
    id: &str,
    name: &str,
    purpose: &str,
    state: S,
    ago: i64,
    in_state: i64,
) -> CallMediaParticipant {
    let mut leg = CallMediaParticipant::new(id, purpose, state.clone());
    leg.name = Some(name.into());
    leg.start_time = Some(Timestamp(t0() - Duration::seconds(ago)));
    let since = Some(Timestamp(t0() - Duration::seconds(in_state)));
    match state {
        S::Connected => leg.connected_time = since,
        S::Alerting => leg.start_alerting_time = since,
        _ => {}
    }
    if purpose == "agent" {
        leg.user = Some(EntityRef {
            id: Some(format!("user-{id}")),
            name: Some(name.into()),
            self_uri: None,
        });
    }
    leg
}

fn in_queue(mut legs: Vec<CallMediaParticipant>, queue_id: &str) -> Vec<CallMediaParticipant> {
    for leg in &mut legs {
        if leg.purpose() == "acd" || leg.purpose() == "agent" {
            leg.queue = Some(EntityRef {
                id: Some(queue_id.into()),
                name: None,
                self_uri: None,
            });
        }
    }
    legs
}

fn call(id: &str, queue_id: &str, legs: Vec<CallMediaParticipant>) -> CallConversation {
    CallConversation {
        id: id.into(),
        participants: in_queue(legs, queue_id),
        ..Default::default()
    }
}

/// The conference the kick tests act on: a customer, two connected agents and one ringing.
fn sales_call() -> CallConversation {
    call(
        "conv-sales-1",
        "q-sales",
        vec![
            leg("p-cust", "Alex Moreno", "customer", S::Connected, 400, 380),
            leg("p-ana", "Ana Lima", "agent", S::Connected, 380, 380),
            leg("p-ben", "Ben Okafor", "agent", S::Connected, 200, 200),
            leg("p-dana", "Dana Smith", "agent", S::Alerting, 3, 3),
        ],
    )
}

fn world() -> Vec<CallConversation> {
    let mut held = leg("p-kim", "Kim Park", "agent", S::Connected, 900, 60);
    held.held = Some(true);
    held.start_hold_time = Some(Timestamp(t0() - Duration::seconds(60)));
    let mut muted = leg("p-lee", "Lee Chen", "agent", S::Connected, 500, 500);
    muted.muted = Some(true);
    vec![
        sales_call(),
        call(
            "conv-support-1",
            "q-support",
            vec![
                leg("p-c2", "Maria Rossi", "customer", S::Connected, 1000, 990),
                held,
                leg("p-sam", "Sam Diaz", "agent", S::Connected, 300, 290),
            ],
        ),
        call(
            "conv-billing-1",
            "q-billing",
            vec![
                leg("p-c3", "+1 555 0142", "customer", S::Connected, 95, 95),
                muted,
                leg("p-ola", "Ola Nord", "agent", S::Connected, 40, 38),
                leg("p-ivr", "IVR", "ivr", S::Disconnected, 95, 90),
            ],
        ),
        call(
            "conv-support-2",
            "q-support",
            vec![
                leg("p-c4", "Jon Berg", "customer", S::Connected, 3700, 3690),
                leg("p-tom", "Tom Vega", "agent", S::Connected, 3690, 3690),
                leg("p-uma", "Uma Roy", "agent", S::Connected, 1200, 1200),
            ],
        ),
        // Two parties only: a call, not a conference; it must not be listed.
        call(
            "conv-plain",
            "q-sales",
            vec![
                leg("p-c5", "Eve Stone", "customer", S::Connected, 60, 60),
                leg("p-zed", "Zed Ali", "agent", S::Connected, 60, 60),
            ],
        ),
    ]
}

fn key(code: KeyCode) -> Input {
    Input::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Input {
    key(KeyCode::Char(c))
}

fn press(app: &mut App, keys: &str, now: DateTime<Utc>) -> Vec<Action> {
    keys.chars()
        .flat_map(|c| {
            let input = match c {
                '\n' => key(KeyCode::Enter),
                '\x1b' => key(KeyCode::Esc),
                '\t' => key(KeyCode::Tab),
                c => ch(c),
            };
            app.update(input, now)
        })
        .collect()
}

/// The demo-like console at t0: live, with a rate budget, on the built-in mock.
fn demo_app() -> App {
    let mut app = App::new(Keymap::default(), t0());
    app.demo = Some("built-in mock, scenario demo".into());
    let feed = [
        FeedEvent::Model(Update::Queues(vec![
            queue("q-sales", "Sales"),
            queue("q-support", "Support"),
            queue("q-billing", "Billing"),
        ])),
        FeedEvent::Connection(ConnectionState::Live),
        FeedEvent::Model(Update::Snapshot(world())),
        FeedEvent::RateBudget(RateFigures {
            count: 12,
            allowed: 300,
            reset_secs: 41,
        }),
    ];
    for event in feed {
        app.update(Input::Feed(event), t0());
    }
    app
}

fn sales_target(participant: &str) -> Target {
    Target {
        conversation_id: "conv-sales-1".into(),
        participant_id: participant.into(),
    }
}

/// Opens the sales conference (the oldest-first order puts Support's hour-long call first) and
/// moves the cursor to `name`.
fn open_sales_on(app: &mut App, name: &str) {
    app.update(ch('/'), t0());
    press(app, "sales\n", t0());
    press(app, "\n", t0());
    assert_eq!(app.conference.id.as_deref(), Some("conv-sales-1"));
    press(app, "\x1b", t0());
    // Leave the filter so the overview stays complete; the cursor stays on the sales call by id.
    press(app, "\x1b", t0());
    assert!(app.filter.text.is_empty());
    press(app, "\n", t0());
    for _ in 0..10 {
        let rows = app.model.participants("conv-sales-1", t0());
        let current = rows
            .iter()
            .find(|r| Some(&r.participant_id) == app.participant.id.as_ref());
        if current.is_some_and(|r| r.name == name) {
            return;
        }
        press(app, "j", t0());
    }
    panic!("{name} not found in the sales conference");
}

fn render(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    draw(&mut terminal, app, Theme::plain()).unwrap();
    terminal.backend().to_string()
}

fn snapshot(name: &str, mut app: App) {
    for (width, height) in SIZES {
        let screen = render(&mut app, width, height);
        insta::assert_snapshot!(format!("{name}_{width}x{height}"), screen);
    }
}

fn progress(participant: &str, at_ms: u64, step: Step) -> Input {
    Input::Progress(Progress {
        target: sales_target(participant),
        at_ms,
        step,
    })
}

fn started() -> Step {
    Step::Started {
        name: Some("Dana Smith".into()),
        purpose: Some("agent".into()),
        joined: false,
    }
}

/// The sales conference open on Dana, her kick confirmed at t0.
fn kicking_dana() -> App {
    let mut app = demo_app();
    open_sales_on(&mut app, "Dana Smith");
    let actions = press(&mut app, "dy", t0());
    assert_eq!(
        actions,
        vec![Action::Kick {
            target: sales_target("p-dana"),
            force: false
        }]
    );
    app.update(progress("p-dana", 0, started()), t0());
    app
}

#[test]
fn snapshot_demo_overview() {
    snapshot("overview", demo_app());
}

#[test]
fn snapshot_conference_opened() {
    let mut app = demo_app();
    open_sales_on(&mut app, "Dana Smith");
    snapshot("conference_opened", app);
}

#[test]
fn snapshot_confirm_dialog() {
    let mut app = demo_app();
    open_sales_on(&mut app, "Dana Smith");
    press(&mut app, "d", t0());
    snapshot("confirm", app);
}

#[test]
fn snapshot_customer_second_confirmation() {
    let mut app = demo_app();
    open_sales_on(&mut app, "Alex Moreno");
    assert!(press(&mut app, "dy", t0()).is_empty());
    snapshot("confirm_customer_again", app);
}

#[test]
fn snapshot_kick_waiting() {
    let mut app = kicking_dana();
    let waiting = Step::Waiting { state: S::Alerting };
    app.update(progress("p-dana", 100, waiting.clone()), at(100));
    app.update(progress("p-dana", 900, waiting), at(900));
    app.update(Input::Tick, at(1500));
    snapshot("kick_waiting", app);
}

#[test]
fn snapshot_kick_retrying() {
    let mut app = kicking_dana();
    app.update(
        progress("p-dana", 1200, Step::Attempt { number: 2 }),
        at(1200),
    );
    let answer = Step::Answer {
        number: 2,
        status: 409,
        code: Some("conversation.participant.transition.lock".into()),
        message: None,
        correlation_id: None,
    };
    app.update(progress("p-dana", 1250, answer), at(1250));
    let backoff = Step::Backoff {
        delay_ms: 400,
        reason: "leg still changing state".into(),
        trouble: None,
    };
    app.update(progress("p-dana", 1260, backoff), at(1260));
    app.update(Input::Tick, at(1340));
    snapshot("kick_retrying", app);
}

#[test]
fn snapshot_kick_rate_limited() {
    let mut app = kicking_dana();
    app.update(
        Input::Feed(FeedEvent::RateBudget(RateFigures {
            count: 300,
            allowed: 300,
            reset_secs: 3,
        })),
        at(500),
    );
    app.update(
        progress(
            "p-dana",
            500,
            Step::RateLimited {
                retry_after_ms: 3000,
            },
        ),
        at(500),
    );
    app.update(Input::Tick, at(700));
    snapshot("kick_rate_limited", app);
}

#[test]
fn snapshot_kick_done() {
    let mut app = kicking_dana();
    let mut after = sales_call();
    after.participants[3].state = S::Disconnected;
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(after))),
        at(600),
    );
    let removed = Outcome {
        outcome: OutcomeKind::Removed,
        attempts: 2,
        requests: 4,
        elapsed_ms: 640,
        message: String::new(),
        status: None,
        audit_incomplete: false,
    };
    app.update(progress("p-dana", 640, Step::Finished(removed)), at(640));
    app.update(Input::Tick, at(1000));
    snapshot("kick_done", app);
}

#[test]
fn snapshot_kick_failed() {
    let mut app = kicking_dana();
    let failed = Outcome {
        outcome: OutcomeKind::Failed,
        attempts: 1,
        requests: 2,
        elapsed_ms: 210,
        message: "missing permission conversation:communication:disconnect".into(),
        status: Some(403),
        audit_incomplete: false,
    };
    app.update(progress("p-dana", 210, Step::Finished(failed)), at(210));
    snapshot("kick_failed", app);
}

#[test]
fn snapshot_jobs_and_log_views() {
    let mut app = kicking_dana();
    app.update(
        Input::Feed(FeedEvent::Warning(
            "socket closed by the platform; reconnecting".into(),
        )),
        at(100),
    );
    app.update(
        progress("p-dana", 100, Step::Waiting { state: S::Alerting }),
        at(100),
    );
    press(&mut app, "J", at(300));
    assert_eq!(app.view, View::Jobs);
    insta::assert_snapshot!("jobs_120x40", render(&mut app, 120, 40));
    press(&mut app, "L", at(300));
    assert_eq!(app.view, View::Log);
    insta::assert_snapshot!("log_120x40", render(&mut app, 120, 40));
}

#[test]
fn snapshot_help() {
    let mut app = demo_app();
    press(&mut app, "?", t0());
    snapshot("help", app);
}

#[test]
fn snapshot_filter() {
    let mut app = demo_app();
    press(&mut app, "/supp", t0());
    snapshot("filter", app);
}

#[test]
fn snapshot_tiny_terminal() {
    let mut app = demo_app();
    insta::assert_snapshot!("tiny_40x10", render(&mut app, 40, 10));
}

#[test]
fn selection_follows_the_id_while_rows_move() {
    let mut app = demo_app();
    open_sales_on(&mut app, "Ben Okafor");
    // A new, older conference sorts before the selected one; the cursor stays on the same call.
    let older = call(
        "conv-older",
        "q-billing",
        vec![
            leg("p-o1", "Old Customer", "customer", S::Connected, 9000, 9000),
            leg("p-o2", "Old Agent", "agent", S::Connected, 9000, 9000),
            leg("p-o3", "Old Agent 2", "agent", S::Connected, 9000, 9000),
        ],
    );
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(older))),
        t0(),
    );
    app.refresh();
    assert_eq!(app.conference.id.as_deref(), Some("conv-sales-1"));
    assert_eq!(app.participant.id.as_deref(), Some("p-ben"));
    // The dialog captures Ben; a new participant joining ahead of him changes nothing.
    press(&mut app, "d", t0());
    let mut grown = sales_call();
    grown.participants.insert(
        1,
        leg("p-aaa", "Aaron First", "agent", S::Connected, 500, 500),
    );
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(grown))),
        t0(),
    );
    let actions = press(&mut app, "y", t0());
    assert_eq!(
        actions,
        vec![Action::Kick {
            target: sales_target("p-ben"),
            force: false
        }]
    );
}

#[test]
fn the_dialog_defaults_to_cancel() {
    let mut app = demo_app();
    open_sales_on(&mut app, "Dana Smith");
    press(&mut app, "d", t0());
    assert!(app.confirm.is_some());
    assert!(press(&mut app, "\n", t0()).is_empty());
    assert!(app.confirm.is_none());
    assert!(app.jobs.is_empty());
    // Moving to Remove and pressing Enter does send it.
    press(&mut app, "d", t0());
    let actions = app
        .update(key(KeyCode::Right), t0())
        .into_iter()
        .chain(app.update(key(KeyCode::Enter), t0()))
        .collect::<Vec<_>>();
    assert_eq!(actions.len(), 1);
}

#[test]
fn kick_needs_the_participants_pane() {
    let mut app = demo_app();
    assert_eq!(app.focus, Pane::Conferences);
    assert!(press(&mut app, "d", t0()).is_empty());
    assert!(app.confirm.is_none());
    assert!(app.flash.as_deref().unwrap().contains("open a conference"));
    assert!(press(&mut app, "y", t0()).is_empty());
}

#[test]
fn customer_needs_a_second_confirmation_then_forces() {
    let mut app = demo_app();
    open_sales_on(&mut app, "Alex Moreno");
    assert!(press(&mut app, "dy", t0()).is_empty());
    let confirm = app.confirm.as_ref().unwrap();
    assert!(confirm.second_stage);
    // The second question defaults to Cancel again.
    assert!(press(&mut app, "\n", t0()).is_empty());
    assert!(app.confirm.is_none());
    // A held or double-tapped `y` cannot answer both questions: the second takes `Y`.
    assert!(press(&mut app, "dyy", t0()).is_empty());
    assert!(app.confirm.as_ref().unwrap().second_stage);
    let actions = press(&mut app, "Y", t0());
    assert_eq!(
        actions,
        vec![Action::Kick {
            target: sales_target("p-cust"),
            force: true
        }]
    );
}

#[test]
fn a_held_key_never_answers_the_dialog() {
    use crossterm::event::KeyEventKind;
    let mut app = demo_app();
    open_sales_on(&mut app, "Alex Moreno");
    press(&mut app, "d", t0());
    let repeat = |c: char| {
        let mut event = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        event.kind = KeyEventKind::Repeat;
        Input::Key(event)
    };
    assert!(app.update(repeat('y'), t0()).is_empty());
    assert!(!app.confirm.as_ref().unwrap().second_stage);
    press(&mut app, "y", t0());
    assert!(app.update(repeat('Y'), t0()).is_empty());
    // Chords are not answers either.
    for modifiers in [KeyModifiers::CONTROL, KeyModifiers::ALT] {
        let chord = Input::Key(KeyEvent::new(KeyCode::Char('Y'), modifiers));
        assert!(app.update(chord, t0()).is_empty());
    }
    // Twenty autorepeated `y` presses (reported as plain presses by most terminals).
    assert!(press(&mut app, &"y".repeat(20), t0()).is_empty());
    assert!(app.jobs.is_empty());
}

/// Sales with some legs disconnected (marked a conference, so it stays listed with two legs).
fn sales_without(gone: &[&str]) -> Input {
    let mut call = sales_call();
    call.max_participants = Some(10);
    for leg in &mut call.participants {
        if gone.contains(&leg.id.as_str()) {
            leg.state = S::Disconnected;
        }
    }
    Input::Feed(FeedEvent::Model(Update::Conversation(call)))
}

#[test]
fn the_dialog_closes_when_its_target_leaves() {
    let mut app = demo_app();
    open_sales_on(&mut app, "Ben Okafor");
    press(&mut app, "d", t0());
    app.update(sales_without(&["p-ben"]), at(100));
    assert!(app.confirm.is_none());
    assert!(app.flash.as_deref().unwrap().contains("nothing sent"));
    assert!(press(&mut app, "y", at(200)).is_empty());
    assert!(app.jobs.is_empty());
}

#[test]
fn the_dialog_follows_a_risk_that_appears_while_it_is_open() {
    let mut app = demo_app();
    open_sales_on(&mut app, "Ben Okafor");
    press(&mut app, "dl", t0());
    assert_eq!(app.confirm.as_ref().unwrap().risk, None);
    // Ana and Dana leave: removing Ben would now leave the customer alone.
    app.update(sales_without(&["p-ana", "p-dana"]), at(100));
    let confirm = app.confirm.as_ref().unwrap();
    assert_eq!(confirm.risk, Some(confwatch::kick::Risk::LastOtherParty));
    assert_eq!(confirm.others_remaining, 1);
    assert_eq!(confirm.choice, confwatch::tui::Choice::Cancel);
    // A plain confirmation is no longer enough (the engine would refuse it unforced).
    assert!(press(&mut app, "y", at(200)).is_empty());
    assert_eq!(
        press(&mut app, "Y", at(300)),
        vec![Action::Kick {
            target: sales_target("p-ben"),
            force: true
        }]
    );
}

#[test]
fn a_risk_that_goes_away_is_not_forced() {
    let mut app = demo_app();
    open_sales_on(&mut app, "Ben Okafor");
    app.update(sales_without(&["p-ana", "p-dana"]), t0());
    press(&mut app, "dy", t0());
    assert!(app.confirm.as_ref().unwrap().second_stage);
    // Ana and Dana are back: Ben's removal no longer ends the call, so nothing is forced.
    app.update(sales_without(&[]), at(100));
    assert_eq!(app.confirm.as_ref().unwrap().risk, None);
    assert!(!app.confirm.as_ref().unwrap().second_stage);
    assert_eq!(
        press(&mut app, "y", at(200)),
        vec![Action::Kick {
            target: sales_target("p-ben"),
            force: false
        }]
    );
}

#[test]
fn last_other_party_needs_a_second_confirmation() {
    let mut app = demo_app();
    let mut pair = call(
        "conv-pair",
        "q-sales",
        vec![
            leg("p-x1", "Cal Customer", "customer", S::Connected, 5, 5),
            leg("p-x2", "Pat Agent", "agent", S::Connected, 5, 5),
        ],
    );
    // The platform marks conferences with maxParticipants, even when only two legs remain.
    pair.max_participants = Some(10);
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(pair))),
        t0(),
    );
    press(&mut app, "/pat\n\n", t0());
    assert_eq!(app.conference.id.as_deref(), Some("conv-pair"));
    press(&mut app, "j", t0());
    assert_eq!(app.participant.id.as_deref(), Some("p-x2"));
    assert!(press(&mut app, "dy", t0()).is_empty());
    assert!(press(&mut app, "y", t0()).is_empty());
    let actions = press(&mut app, "Y", t0());
    assert_eq!(
        actions,
        vec![Action::Kick {
            target: Target {
                conversation_id: "conv-pair".into(),
                participant_id: "p-x2".into()
            },
            force: true
        }]
    );
}

#[test]
fn second_press_joins_the_running_job() {
    let mut app = kicking_dana();
    assert!(press(&mut app, "d", t0()).is_empty());
    assert!(app.confirm.is_none(), "no second dialog for a running job");
    assert!(app.flash.as_deref().unwrap().contains("already running"));
    // The engine reporting a joined request keeps one job.
    let joined = Step::Started {
        name: Some("Dana Smith".into()),
        purpose: Some("agent".into()),
        joined: true,
    };
    app.update(progress("p-dana", 50, joined), at(50));
    assert_eq!(app.jobs.len(), 1);
}

#[test]
fn cancel_from_the_row_and_from_the_jobs_view() {
    let mut app = kicking_dana();
    assert_eq!(
        press(&mut app, "c", t0()),
        vec![Action::Cancel(sales_target("p-dana"))]
    );
    press(&mut app, "J", t0());
    assert_eq!(
        press(&mut app, "c", t0()),
        vec![Action::Cancel(sales_target("p-dana"))]
    );
    let cancelled = Outcome {
        outcome: OutcomeKind::Cancelled,
        attempts: 0,
        requests: 1,
        elapsed_ms: 300,
        message: String::new(),
        status: None,
        audit_incomplete: false,
    };
    app.update(progress("p-dana", 300, Step::Finished(cancelled)), at(300));
    assert!(
        press(&mut app, "c", t0()).is_empty(),
        "a finished job cannot be cancelled"
    );
    // Once finished, the participant can be kicked again.
    press(&mut app, "\x1b", t0());
    press(&mut app, "d", t0());
    assert!(app.confirm.is_some());
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let mut app = demo_app();
    press(&mut app, "/ab", t0());
    assert!(app.filter.editing);
    let actions = app.update(
        Input::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        t0(),
    );
    assert_eq!(actions, vec![Action::Quit]);
    assert!(app.should_quit);
}

#[test]
fn filter_matches_names_queues_and_states() {
    let mut app = demo_app();
    app.refresh();
    assert_eq!(app.rows().len(), 4);
    press(&mut app, "/alerting", t0());
    assert_eq!(app.rows().len(), 1);
    press(&mut app, "\x1b/kim park", t0());
    assert_eq!(app.rows()[0].conversation_id, "conv-support-1");
    assert_eq!(app.rows().len(), 1);
    press(&mut app, "\x1b/billing", t0());
    assert_eq!(app.rows()[0].conversation_id, "conv-billing-1");
}

#[test]
fn keymap_overrides_drive_the_app() {
    // Keys add to the defaults; `unbind` drops one, so this moves the kick from d to x.
    let table: toml::Table = toml::from_str("unbind = [\"d\"]\nkick = \"x\"").unwrap();
    let mut app = demo_app();
    app.keymap = Keymap::with_overrides(&table).unwrap();
    open_sales_on(&mut app, "Dana Smith");
    press(&mut app, "d", t0());
    assert!(app.confirm.is_none());
    press(&mut app, "x", t0());
    assert!(app.confirm.is_some());
    // Hints and help follow the table.
    press(&mut app, "\x1b", t0());
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("x kick"), "{screen}");
}

#[test]
fn no_color_draws_without_colour() {
    let mut app = kicking_dana();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    draw(&mut terminal, &mut app, Theme::plain()).unwrap();
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .all(|cell| cell.fg == ratatui::style::Color::Reset
                && cell.bg == ratatui::style::Color::Reset)
    );
    // The coloured theme does colour the states.
    draw(&mut terminal, &mut app, Theme { color: true }).unwrap();
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .any(|cell| cell.fg == ratatui::style::Color::Green)
    );
}

/// A kick engine that records what the loop asked of it.
#[derive(Clone, Default)]
struct RecordingKicker {
    calls: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    changed: std::sync::Arc<tokio::sync::Notify>,
}

impl RecordingKicker {
    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
        self.changed.notify_one();
    }

    async fn wait_for(&self, prefix: &str) {
        loop {
            let notified = self.changed.notified();
            if self
                .calls
                .lock()
                .unwrap()
                .iter()
                .any(|c| c.starts_with(prefix))
            {
                return;
            }
            notified.await;
        }
    }
}

impl confwatch::tui::Kicker for RecordingKicker {
    fn kick(&mut self, target: Target, force: bool) {
        self.record(format!("kick {} {force}", target.participant_id));
    }
    fn cancel(&mut self, target: &Target) {
        self.record(format!("cancel {}", target.participant_id));
    }
    fn observe(&mut self, conversation: &CallConversation) {
        self.record(format!("observe {}", conversation.id));
    }
    fn events_lost(&mut self) {
        self.record("events lost".to_string());
    }
}

#[tokio::test]
async fn the_loop_feeds_the_app_and_performs_its_actions() {
    use confwatch::tui::{LoopChannels, run};
    use crossterm::event::Event;

    let (feed_tx, feed) = tokio::sync::mpsc::channel(16);
    let (progress_tx, progress) = tokio::sync::mpsc::unbounded_channel();
    let (keys_tx, keys) = futures::channel::mpsc::unbounded::<std::io::Result<Event>>();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut app = App::new(Keymap::default(), Utc::now());
    let mut kicker = RecordingKicker::default();
    let probe = kicker.clone();
    let send_keys = |text: &str| {
        for c in text.chars() {
            let code = if c == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            };
            keys_tx
                .unbounded_send(Ok(Event::Key(KeyEvent::new(code, KeyModifiers::NONE))))
                .unwrap();
        }
    };
    let driver = async {
        feed_tx
            .send(FeedEvent::Model(Update::Snapshot(vec![sales_call()])))
            .await
            .unwrap();
        probe.wait_for("observe conv-sales-1").await;
        // Open the conference, go to Dana (last row), kick, confirm.
        send_keys("\nGdy");
        probe.wait_for("kick p-dana false").await;
        progress_tx
            .send(Progress {
                target: sales_target("p-dana"),
                at_ms: 0,
                step: Step::Waiting { state: S::Alerting },
            })
            .unwrap();
        send_keys("c");
        probe.wait_for("cancel p-dana").await;
        feed_tx
            .send(FeedEvent::Connection(ConnectionState::Reconnecting {
                attempt: 1,
            }))
            .await
            .unwrap();
        probe.wait_for("events lost").await;
        // The copy key hands Dana's id to the clipboard.
        send_keys("Y");
        probe.wait_for("copy p-dana").await;
        // Dana's kick is still running (its cancel not yet reported): quit takes a second q.
        send_keys("qq");
    };
    let copies = kicker.clone();
    let channels = LoopChannels {
        feed,
        progress,
        rate_budget: None,
        clipboard: Some(Box::new(move |text: &str| {
            copies.record(format!("copy {text}"))
        })),
    };
    let (result, ()) = tokio::join!(
        run(
            &mut terminal,
            &mut app,
            Theme::plain(),
            channels,
            &mut kicker,
            keys
        ),
        driver
    );
    result.unwrap();
    assert!(app.should_quit);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("waiting: alerting"), "{screen}");
    assert!(screen.contains("Dana Smith"), "{screen}");
}

#[test]
fn queue_picker_hides_and_shows_queues() {
    let mut app = demo_app();
    app.refresh();
    assert_eq!(app.rows().len(), 4);
    // Queues are listed by name: Billing, Sales, Support.
    press(&mut app, "Qj ", t0());
    insta::assert_snapshot!("queues_120x40", render(&mut app, 120, 40));
    press(&mut app, "\n", t0());
    assert!(app.queues.open.is_none());
    assert_eq!(app.rows().len(), 3);
    assert!(
        app.rows()
            .iter()
            .all(|r| r.queue_id.as_deref() != Some("q-sales"))
    );
    press(&mut app, "Qa\n", t0());
    assert_eq!(app.rows().len(), 4);
}

proptest::proptest! {
    /// Moving single rows on each update (an event, or an analytics page of a re-sync) gives
    /// exactly the rows a full rebuild gives.
    #[test]
    fn incremental_rows_match_a_full_rebuild(
        ops in proptest::collection::vec((0usize..6, 0u8..5, 0usize..3, proptest::bool::ANY), 1..40)
    ) {
        let mut app = demo_app();
        let sorts = ["", "s", "ss"];
        for (index, op, sort, as_page) in ops {
            let mut conversation = world().into_iter().nth(index % 5).unwrap();
            if index == 5 {
                conversation = sales_call();
                conversation.id = "conv-new".into();
                // Participant ids are unique on the platform (a row's time in state is its
                // legs', seen by id).
                for p in &mut conversation.participants {
                    p.id = format!("{}-new", p.id);
                }
            }
            match op {
                // Ends: every leg gone.
                0 => conversation.participants.iter_mut().for_each(|p| p.state = S::Disconnected),
                // Shrinks to a two-party call.
                1 => conversation.participants.truncate(2),
                // Grows: one more party.
                2 => conversation.participants.push(leg(
                    &format!("p-extra-{index}"),
                    "Extra Agent",
                    "agent",
                    S::Alerting,
                    1,
                    1,
                )),
                // Starts earlier (moves in the age order).
                3 => conversation.participants.iter_mut().for_each(|p| {
                    p.start_time = Some(Timestamp(t0() - Duration::seconds(5000)));
                }),
                _ => {}
            }
            // Sort first: a new sort rebuilds everything, the update after it must not.
            press(&mut app, sorts[sort], t0());
            app.refresh();
            let update = if as_page {
                // With an unchanged call beside it, as a page carries many.
                Update::ResyncPage(vec![conversation, world().into_iter().nth((index + 1) % 5).unwrap()])
            } else {
                Update::Conversation(conversation)
            };
            app.update(Input::Feed(FeedEvent::Model(update)), t0());
            app.refresh();
            let incremental = app.rows().to_vec();
            app.invalidate_rows();
            app.refresh();
            proptest::prop_assert_eq!(incremental, app.rows().to_vec());
        }
    }
}

#[test]
fn clearing_the_filter_keeps_the_participant_cursor() {
    let mut app = demo_app();
    press(&mut app, "/alerting\n\nG", t0());
    assert_eq!(app.participant.id.as_deref(), Some("p-dana"));
    press(&mut app, "/\x1b", t0());
    assert!(app.filter.text.is_empty());
    assert_eq!(app.conference.id.as_deref(), Some("conv-sales-1"));
    assert_eq!(app.participant.id.as_deref(), Some("p-dana"));
}

#[test]
fn an_open_conference_stays_open_when_filtered_out_and_closes_when_it_ends() {
    let mut app = demo_app();
    press(&mut app, "/alerting\n\nG", t0());
    assert_eq!(app.participant.id.as_deref(), Some("p-dana"));
    // Dana answers: the conference no longer matches the filter, but it stays open on her.
    let mut answered = sales_call();
    answered.participants[3].state = S::Connected;
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(answered))),
        t0(),
    );
    app.refresh();
    assert_eq!(app.conference.id.as_deref(), Some("conv-sales-1"));
    assert_eq!(app.participant.id.as_deref(), Some("p-dana"));
    assert_eq!(app.focus, Pane::Participants);
    // The call ends: back to the list, with a notice, never into another conference's people.
    let mut ended = sales_call();
    ended
        .participants
        .iter_mut()
        .for_each(|p| p.state = S::Disconnected);
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(ended))),
        t0(),
    );
    app.refresh();
    assert_eq!(app.focus, Pane::Conferences);
    assert!(app.flash.as_deref().unwrap().contains("ended"));
    assert!(app.confirm.is_none());
    assert!(press(&mut app, "d", t0()).is_empty());
    assert!(app.confirm.is_none());
}

/// A kick that leaves two parties makes the call no conference any more: the list drops it, but
/// the supervisor who kicked stays on it and sees the outcome in the row, until the call ends.
#[test]
fn a_kick_that_ends_the_conference_keeps_its_outcome_on_screen() {
    let mut app = kicking_dana();
    // Dana is removed, and Ben leaves too: two parties remain, no longer a conference.
    let mut after = sales_call();
    after.participants[2].state = S::Disconnected;
    after.participants[3].state = S::Disconnected;
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(after))),
        at(600),
    );
    let removed = Outcome {
        outcome: OutcomeKind::Removed,
        attempts: 1,
        requests: 2,
        elapsed_ms: 640,
        message: String::new(),
        status: None,
        audit_incomplete: false,
    };
    app.update(progress("p-dana", 640, Step::Finished(removed)), at(640));
    let screen = render(&mut app, 120, 40);
    assert!(
        app.rows()
            .iter()
            .all(|r| r.conversation_id != "conv-sales-1")
    );
    assert_eq!(app.conference.id.as_deref(), Some("conv-sales-1"));
    assert_eq!(app.focus, Pane::Participants);
    assert!(app.flash.is_none(), "{:?}", app.flash);
    let dana = screen
        .lines()
        .find(|l| l.contains("Dana Smith"))
        .unwrap_or_default();
    assert!(dana.contains("removed in"), "{screen}");
    // The call ends: now the console goes back to the list and says so.
    let mut ended = sales_call();
    ended
        .participants
        .iter_mut()
        .for_each(|p| p.state = S::Disconnected);
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(ended))),
        at(700),
    );
    app.refresh();
    assert_eq!(app.focus, Pane::Conferences);
    assert!(app.flash.as_deref().unwrap().contains("ended"));
}

#[test]
fn the_jobs_cursor_stays_on_its_job_when_new_jobs_arrive() {
    let mut app = kicking_dana();
    press(&mut app, "J", t0());
    // Another kick starts (reported by the engine) and lists above Dana's.
    app.update(
        progress(
            "p-ben",
            0,
            Step::Waiting {
                state: S::Connected,
            },
        ),
        at(10),
    );
    assert_eq!(app.jobs.len(), 2);
    assert_eq!(app.job_index(), Some(1));
    assert_eq!(
        press(&mut app, "c", at(20)),
        vec![Action::Cancel(sales_target("p-dana"))]
    );
    press(&mut app, "k", at(20));
    assert_eq!(
        press(&mut app, "c", at(20)),
        vec![Action::Cancel(sales_target("p-ben"))]
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Any keys, interleaved with calls changing and kicks reporting, at any terminal size: the
    /// console never panics, and every kick is the one its open dialog captured.
    #[test]
    fn random_keys_and_events_never_panic(
        steps in proptest::collection::vec((0usize..32, 0usize..200), 1..40),
        width in 1u16..200,
        height in 1u16..60,
    ) {
        let keys = [
            'j', 'k', 'G', 'g', '\n', '\t', '\x1b', '/', 'a', 'd', 'y', 'c', 'J', 'L', '?', 's', 'Q',
            ' ', 'i', 'Y', 'S', 'p',
        ];
        let mut app = demo_app();
        for (i, (pick, call)) in steps.into_iter().enumerate() {
            let now = at(i as i64 * 100);
            let dialog_target = app.confirm.as_ref().map(|c| c.target.clone());
            let actions = if pick < keys.len() {
                press(&mut app, &keys[pick].to_string(), now)
            } else if pick < keys.len() + 5 {
                let mut conversation = world().into_iter().nth(call % 5).unwrap();
                let leg = pick % conversation.participants.len();
                conversation.participants[leg].state = S::Disconnected;
                let event = FeedEvent::Model(Update::Conversation(conversation));
                app.update(Input::Feed(event), now)
            } else if pick < keys.len() + 8 {
                use crossterm::event::{MouseButton, MouseEventKind as M};
                let kind = [M::Down(MouseButton::Left), M::ScrollDown, M::ScrollUp][pick % 3];
                let (column, row) = ((call * 37) as u16 % width, (call * 13) as u16 % height);
                app.update(mouse(kind, column, row), now)
            } else {
                let attempt = Step::Attempt { number: i as u32 };
                app.update(progress("p-dana", i as u64 * 100, attempt), now)
            };
            for action in actions {
                if let Action::Kick { target, .. } = action {
                    // A kick only ever comes from a dialog, for the target it captured.
                    proptest::prop_assert_eq!(Some(target), dialog_target.clone());
                }
            }
            render(&mut app, width, height);
        }
    }
}

#[test]
fn unread_warnings_are_marked_until_the_log_view_is_opened() {
    snapshot("unread_warnings", demo_with_warnings());
    let mut app = demo_with_warnings();
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("⚠ 2 warnings · L"), "{screen}");
    // Opening the log view marks them seen; back on the main screen the marker is gone.
    press(&mut app, "L", at(200));
    // A line logged while the log view is open is seen as it arrives.
    app.update(
        Input::Feed(FeedEvent::Warning("another one".into())),
        at(250),
    );
    press(&mut app, "\x1b", at(300));
    assert_eq!(app.view, View::Main);
    assert!(!render(&mut app, 120, 40).contains('⚠'));
    // An error after that is counted again, and named as an error.
    app.update(
        Input::Feed(FeedEvent::Connection(ConnectionState::Offline {
            reason: "token refused".into(),
        })),
        at(400),
    );
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("⚠ 1 error · L"), "{screen}");
}

/// The demo console with two warnings not yet seen.
fn demo_with_warnings() -> App {
    let mut app = demo_app();
    app.push_log(
        confwatch::tui::Level::Warn,
        "the audit file could not be opened: kicks will not be audited".into(),
    );
    app.update(
        Input::Feed(FeedEvent::Warning("socket closed; reconnecting".into())),
        at(100),
    );
    app
}

/// The sales conference with odd names: a customer's very long one, wide characters, an emoji.
fn odd_names_app() -> App {
    let mut app = demo_app();
    let mut odd = sales_call();
    odd.participants[0].name = Some(format!(
        "Alexandra {}",
        "Montgomery-Featherstonehaugh ".repeat(6)
    ));
    odd.participants[1].name = Some("山田太郎山田太郎山田太郎".into());
    odd.participants[2].name = Some("Ben 🎧 Okafor".into());
    odd.participants[3].name = Some(String::new());
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(odd))),
        t0(),
    );
    app
}

#[test]
fn the_dialog_keeps_its_warning_and_buttons_with_a_very_long_name() {
    let mut app = odd_names_app();
    press(&mut app, "/sales\n\n\x1b\x1b\n", t0());
    assert_eq!(app.participant.id.as_deref(), Some("p-cust"));
    press(&mut app, "d", t0());
    for (width, height) in SIZES {
        let screen = render(&mut app, width, height);
        for needed in [
            "CUSTOMER",
            "second confirmation",
            "[ Cancel ]",
            "[ Remove ]",
        ] {
            assert!(
                screen.contains(needed),
                "{needed} missing at {width}x{height}:\n{screen}"
            );
        }
    }
}

#[test]
fn wide_and_empty_names_keep_the_columns_aligned() {
    use unicode_width::UnicodeWidthStr;
    let mut app = odd_names_app();
    press(&mut app, "/sales\n\n\x1b\x1b\n", t0());
    for (width, height) in SIZES {
        let screen = render(&mut app, width, height);
        // The column where each participant's purpose starts, in terminal cells.
        let columns: Vec<usize> = screen
            .lines()
            .filter(|line| line.contains("● ") || line.contains("◌ "))
            .filter_map(|line| {
                let at = line.find(" customer ").or_else(|| line.find(" agent "))?;
                Some(line[..at].width())
            })
            .collect();
        assert_eq!(columns.len(), 4, "{screen}");
        assert!(
            columns.windows(2).all(|w| w[0] == w[1]),
            "{columns:?}\n{screen}"
        );
    }
}

#[test]
fn keys_do_nothing_on_a_screen_too_small_to_show_them() {
    let mut app = demo_app();
    open_sales_on(&mut app, "Dana Smith");
    press(&mut app, "d", t0());
    // The terminal shrinks: the dialog is no longer visible, so `y` must not answer it.
    let screen = render(&mut app, 40, 10);
    assert!(screen.contains("too small"), "{screen}");
    assert!(press(&mut app, "y", t0()).is_empty());
    assert!(app.confirm.is_some());
    // Back to a real size, the dialog answers again; and `q` always quits.
    render(&mut app, 120, 40);
    assert_eq!(press(&mut app, "y", t0()).len(), 1);
    render(&mut app, 40, 10);
    // (Dana's kick now runs, so quitting takes a second press, on this screen too.)
    assert_eq!(press(&mut app, "qq", t0()), vec![Action::Quit]);
}

#[test]
fn help_scrolls_to_every_key_at_80x24_and_60x12() {
    for (width, height) in [(80, 24), (60, 12)] {
        let mut app = demo_app();
        press(&mut app, "?", t0());
        let screen = render(&mut app, width, height);
        assert!(screen.contains("move down"), "{screen}");
        assert!(!screen.contains("quit, from anywhere"), "{screen}");
        assert!(screen.contains(" of 25 "), "{screen}");
        press(&mut app, "G", t0());
        let screen = render(&mut app, width, height);
        assert!(screen.contains("quit, from anywhere"), "{screen}");
        assert!(screen.contains("click selects"), "{screen}");
        press(&mut app, "g", t0());
        let screen = render(&mut app, width, height);
        assert!(screen.contains("move down"), "{screen}");
    }
}

#[test]
fn quitting_with_a_kick_running_asks_for_a_second_press() {
    let mut app = kicking_dana();
    assert!(press(&mut app, "q", t0()).is_empty());
    assert!(!app.should_quit);
    assert!(
        app.flash
            .as_deref()
            .unwrap()
            .contains("1 kick running: q again stops it (recorded as interrupted)")
    );
    // Another key in between disarms it.
    assert!(press(&mut app, "jq", t0()).is_empty());
    assert_eq!(press(&mut app, "q", t0()), vec![Action::Quit]);
    // Ctrl-C never asks.
    let mut app = kicking_dana();
    let ctrl_c = Input::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(app.update(ctrl_c, t0()), vec![Action::Quit]);
    // With nothing running, q quits at once.
    let mut app = demo_app();
    assert_eq!(press(&mut app, "q", t0()), vec![Action::Quit]);
}

/// A signed-in supervisor whose roles lack the disconnect permission: the header says who and
/// READ-ONLY, the status line says why, and `d` explains instead of opening the dialog.
#[test]
fn snapshot_read_only_console() {
    let mut app = demo_app();
    app.demo = None;
    app.source = "https://api.mypurecloud.ie".into();
    app.signed_in = confwatch::tui::SignedIn {
        profile: Some("dublin".into()),
        user: Some("Rita Readonly <rita.readonly@example.com>".into()),
        read_only: Some(
            "your roles lack conversation:communication:disconnect, so kicks are off".into(),
        ),
    };
    open_sales_on(&mut app, "Dana Smith");
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("read-only: your roles lack"), "{screen}");
    let actions = press(&mut app, "d", t0());
    assert!(actions.is_empty());
    assert!(app.confirm.is_none(), "the dialog must not open");
    assert!(
        app.flash
            .as_deref()
            .is_some_and(|f| f.starts_with("read-only:") && f.ends_with("nothing sent"))
    );
    snapshot("read_only", app);
}

/// The sign-in ended and cannot be refreshed: the status line says "sign in again" and every
/// job record stays (the exact message comes from the client: tests/it/signin.rs).
#[test]
fn a_sign_in_that_ended_says_sign_in_again_and_keeps_the_jobs() {
    let mut app = kicking_dana();
    let jobs_before = app.jobs.all().len();
    assert_eq!(jobs_before, 1);
    app.update(
        Input::Feed(FeedEvent::Connection(ConnectionState::Offline {
            reason: format!(
                "reading queues: GET /api/v2/routing/queues: {}",
                confwatch::platform::SIGN_IN_AGAIN
            ),
        })),
        at(1_000),
    );
    let screen = render(&mut app, 200, 40);
    assert!(screen.contains("sign in again"), "{screen}");
    assert_eq!(app.jobs.all().len(), jobs_before);
    assert!(app.log.iter().any(|l| l.text.contains("sign in again")));
}

/// When the platform stops or replaces the feed's channel, the status line says so (not only
/// the log view), in the notice's own words.
#[test]
fn a_channel_notice_shows_in_the_status_line_and_the_log() {
    let mut app = demo_app();
    let notice = "notifications: the platform stopped channel ch-1: no_longer_subscribed (another_channel_subscribed); opening a new channel and re-reading the calls";
    app.update(
        Input::Feed(FeedEvent::ChannelNotice(notice.into())),
        at(100),
    );
    let screen = render(&mut app, 200, 40);
    assert!(
        screen.contains("the platform stopped channel ch-1"),
        "{screen}"
    );
    press(&mut app, "L", at(200));
    let log = render(&mut app, 200, 40);
    assert!(log.contains("no_longer_subscribed"), "{log}");
    // An ordinary warning does not take the status line.
    let mut quiet = demo_app();
    quiet.update(
        Input::Feed(FeedEvent::Warning("socket closed; reconnecting".into())),
        at(100),
    );
    assert_eq!(quiet.flash, None);
}

/// The new views' sizes: the smallest usual terminal and a big one.
const DEPTH_SIZES: [(u16, u16); 2] = [(80, 24), (200, 60)];

fn snapshot_depth(name: &str, mut app: App) {
    for (width, height) in DEPTH_SIZES {
        let screen = render(&mut app, width, height);
        insta::assert_snapshot!(format!("{name}_{width}x{height}"), screen);
    }
}

/// The sales call after t0: Dana answers at +2 s, Ben is held at +3 s and muted at +4 s.
fn sales_call_changing(app: &mut App) {
    let mut answered = sales_call();
    answered.participants[3].state = S::Connected;
    answered.participants[3].connected_time = Some(Timestamp(at(2000)));
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(answered.clone()))),
        at(2000),
    );
    let mut held = answered;
    held.participants[2].held = Some(true);
    held.participants[2].start_hold_time = Some(Timestamp(at(3000)));
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(held.clone()))),
        at(3000),
    );
    let mut muted = held;
    muted.participants[2].muted = Some(true);
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(muted))),
        at(4000),
    );
}

/// Dana's kick: a 409 (with its correlation id), the lock's wait, then a 202 and the removal.
fn dana_kicked_after_a_lock(app: &mut App) {
    let steps = [
        (100, Step::Attempt { number: 1 }),
        (
            150,
            Step::Answer {
                number: 1,
                status: 409,
                code: Some("conversation.participant.transition.lock".into()),
                message: Some("The participant is changing state; try again shortly".into()),
                correlation_id: Some("0f3c9a52-7d41-4d6e-9a0b-5b8e2f1c7a11".into()),
            },
        ),
        (
            160,
            Step::Locked {
                retry_in_ms: 380,
                learned: true,
            },
        ),
        (540, Step::Attempt { number: 2 }),
        (
            590,
            Step::Answer {
                number: 2,
                status: 202,
                code: None,
                message: None,
                correlation_id: None,
            },
        ),
        (595, Step::Verifying),
        (
            900,
            Step::Finished(Outcome {
                outcome: OutcomeKind::Removed,
                attempts: 2,
                requests: 4,
                elapsed_ms: 900,
                message: "Dana Smith disconnected; Alex Moreno (customer), Ana Lima and Ben Okafor stay connected".into(),
                status: None,
                audit_incomplete: false,
            }),
        ),
    ];
    for (at_ms, step) in steps {
        app.update(progress("p-dana", at_ms, step), at(at_ms as i64));
    }
}

#[test]
fn snapshot_call_view() {
    let mut app = kicking_dana();
    sales_call_changing(&mut app);
    dana_kicked_after_a_lock(&mut app);
    app.update(Input::Tick, at(5000));
    // Enter on a participant opens the call view, its cursor on that participant's id.
    press(&mut app, "\n", at(5000));
    assert_eq!(app.view, View::Call);
    let screen = render(&mut app, 200, 60);
    assert!(screen.contains("conversation  conv-sales-1"), "{screen}");
    assert!(screen.contains("07:00:02  Dana Smith (agent)"), "{screen}");
    assert!(screen.contains("alerting → connected"), "{screen}");
    assert!(screen.contains("connected → connected, held"), "{screen}");
    assert!(
        screen.contains("connected, held → connected, held, muted"),
        "{screen}"
    );
    assert!(
        screen.contains("removed in 900 ms after 2 attempts"),
        "{screen}"
    );
    snapshot_depth("call_view", app);
}

#[test]
fn the_call_view_copies_the_id_under_its_cursor() {
    let mut app = demo_app();
    open_sales_on(&mut app, "Ben Okafor");
    press(&mut app, "i", t0());
    assert_eq!(app.view, View::Call);
    // The cursor starts on Ben's line: his id is copied, and shown to select by hand.
    assert_eq!(
        press(&mut app, "Y", t0()),
        vec![Action::Copy("p-ben".into())]
    );
    assert!(app.flash.as_deref().unwrap().contains("p-ben"));
    press(&mut app, "g", t0());
    assert_eq!(
        press(&mut app, "Y", t0()),
        vec![Action::Copy("conv-sales-1".into())]
    );
    // Shown whole at 80 columns too, to select by hand where OSC 52 is ignored.
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("copied conv-sales-1"), "{screen}");
    // A line without an id copies nothing and says so.
    press(&mut app, "j", t0());
    assert!(press(&mut app, "Y", t0()).is_empty());
    assert!(app.flash.as_deref().unwrap().contains("no id"));
    press(&mut app, "\x1b", t0());
    assert_eq!(app.view, View::Main);
    // From the panes: the selected row's id.
    assert_eq!(
        press(&mut app, "Y", t0()),
        vec![Action::Copy("p-ben".into())]
    );
}

#[test]
fn snapshot_job_view() {
    let mut app = kicking_dana();
    dana_kicked_after_a_lock(&mut app);
    press(&mut app, "J", at(1000));
    press(&mut app, "\n", at(1000));
    assert_eq!(app.view, View::Job);
    let screen = render(&mut app, 200, 60);
    for wanted in [
        "attempt 1: PATCH state=disconnected",
        "attempt 1: 409 conversation.participant.transition.lock",
        "correlation id 0f3c9a52-7d41-4d6e-9a0b-5b8e2f1c7a11",
        "locked by the platform, retry in 380 ms (learned)",
        "attempt 2: 202",
        "removed in 900 ms after 2 attempts",
        "Alex Moreno (customer), Ana Lima and Ben Okafor stay connected",
    ] {
        assert!(screen.contains(wanted), "{wanted}:\n{screen}");
    }
    // The correlation id is its line's id: moving down to it, the copy key takes it.
    let wanted = vec![Action::Copy("0f3c9a52-7d41-4d6e-9a0b-5b8e2f1c7a11".into())];
    let mut found = false;
    for _ in 0..20 {
        if press(&mut app, "Y", at(1000)) == wanted {
            found = true;
            break;
        }
        press(&mut app, "j", at(1000));
    }
    assert!(found, "no line copies the correlation id");
    press(&mut app, "g", at(1000));
    snapshot_depth("job_view", app);
}

#[test]
fn sort_by_column_reverse_and_pause_are_in_the_header() {
    let mut app = demo_app();
    app.refresh();
    let order = |app: &App| -> Vec<String> {
        app.rows()
            .iter()
            .map(|r| r.conversation_id.clone())
            .collect()
    };
    // Oldest first: Support's hour-long call leads.
    assert_eq!(order(&app)[0], "conv-support-2");
    press(&mut app, "S", t0());
    assert_eq!(order(&app)[0], "conv-sales-1", "newest first, reversed");
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("sort age reversed"), "{screen}");
    press(&mut app, "S", t0());
    press(&mut app, "s", t0());
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("sort in state"), "{screen}");
    assert_eq!(
        order(&app),
        [
            "conv-support-1",
            "conv-sales-1",
            "conv-support-2",
            "conv-billing-1"
        ],
        "Kim held 60 s, Dana ringing 3 s, then calls where everyone is connected"
    );
    press(&mut app, "s", t0());
    assert!(render(&mut app, 120, 40).contains("sort queue "));
    press(&mut app, "s", t0());
    assert!(render(&mut app, 120, 40).contains("sort customer"));
    press(&mut app, "s", t0());
    assert!(render(&mut app, 120, 40).contains("sort parties"));
    press(&mut app, "s", t0());
    assert!(render(&mut app, 120, 40).contains("sort age"));

    // Paused: a new, older conference goes last, not first; states still update in place.
    press(&mut app, "p", t0());
    let before = order(&app);
    for (width, height) in [(120, 40), (80, 24)] {
        let screen = render(&mut app, width, height);
        assert!(screen.contains("PAUSED"), "{screen}");
    }
    let old = call(
        "conv-old",
        "q-sales",
        vec![
            leg("p-o1", "Old Customer", "customer", S::Connected, 9000, 9000),
            leg("p-o2", "Old Agent", "agent", S::Connected, 9000, 9000),
            leg("p-o3", "Old Second", "agent", S::Connected, 9000, 9000),
        ],
    );
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(old.clone()))),
        at(100),
    );
    let mut billing_held = world()[2].clone();
    billing_held.participants[1].held = Some(true);
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(billing_held))),
        at(200),
    );
    app.refresh();
    let paused = order(&app);
    assert_eq!(
        &paused[..before.len()],
        &before[..],
        "rows kept their places"
    );
    assert_eq!(paused.last().map(String::as_str), Some("conv-old"));
    let billing = app.model.participants("conv-billing-1", at(200));
    assert!(
        billing
            .iter()
            .any(|p| p.name == "Lee Chen" && format!("{p:?}").contains("held: true")),
        "updated in place"
    );
    // Unpaused, the next change re-sorts: the old call leads.
    press(&mut app, "p", at(300));
    app.update(
        Input::Feed(FeedEvent::Model(Update::Conversation(old))),
        at(300),
    );
    app.refresh();
    assert_eq!(order(&app)[0], "conv-old");
    assert!(!render(&mut app, 120, 40).contains("PAUSED"));
}

/// The conversation ids the list shows, in id order.
fn sorted_ids(app: &App) -> Vec<String> {
    let mut ids: Vec<String> = app
        .rows()
        .iter()
        .map(|r| r.conversation_id.clone())
        .collect();
    ids.sort();
    ids
}

#[test]
fn filter_finds_held_muted_ringing_and_purpose() {
    let mut app = demo_app();
    let found = |app: &mut App, text: &str| -> Vec<String> {
        app.filter.text = text.into();
        app.refresh();
        sorted_ids(app)
    };
    assert_eq!(found(&mut app, "held"), vec!["conv-support-1"]);
    assert_eq!(found(&mut app, "muted"), vec!["conv-billing-1"]);
    assert_eq!(found(&mut app, "ringing"), vec!["conv-sales-1"]);
    assert_eq!(found(&mut app, "ivr"), vec!["conv-billing-1"]);
}

fn mouse(kind: crossterm::event::MouseEventKind, column: u16, row: u16) -> Input {
    Input::Mouse(crossterm::event::MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

/// Where `text` is drawn on a rendered screen: (column, row).
fn spot(screen: &str, text: &str) -> (u16, u16) {
    for (row, line) in screen.lines().enumerate() {
        if let Some(byte) = line.find(text) {
            let column = line[..byte].chars().count() - 1; // the snapshot's opening quote
            return (column as u16, row as u16);
        }
    }
    panic!("{text} not on screen:\n{screen}");
}

#[test]
fn a_click_selects_and_the_wheel_scrolls_never_kicks() {
    use crossterm::event::{MouseButton, MouseEventKind as M};
    let mut app = demo_app();
    let screen = render(&mut app, 120, 40);
    // Click the sales conference: selected, the conferences pane focused.
    let (column, row) = spot(&screen, "Alex Moreno");
    assert!(
        app.update(mouse(M::Down(MouseButton::Left), column, row), t0())
            .is_empty()
    );
    assert_eq!(app.conference.id.as_deref(), Some("conv-sales-1"));
    // Click Dana in the participants pane.
    let screen = render(&mut app, 120, 40);
    let (column, row) = spot(&screen, "Dana Smith");
    assert!(
        app.update(mouse(M::Down(MouseButton::Left), column, row), t0())
            .is_empty()
    );
    assert_eq!(app.focus, Pane::Participants);
    assert_eq!(app.participant.id.as_deref(), Some("p-dana"));
    // The wheel over the conferences pane moves its cursor; the keys stay on the participants.
    let screen = render(&mut app, 120, 40);
    let (column, row) = spot(&screen, "Maria Rossi");
    let before = app.conference.id.clone();
    // (Sales is the last row, oldest first: the wheel scrolls up.)
    app.update(mouse(M::ScrollUp, column, row), t0());
    assert_ne!(app.conference.id, before);
    assert_eq!(app.focus, Pane::Participants);
    // With the dialog open, clicks and the wheel do nothing: it needs keys.
    app.conference.id = before;
    app.refresh();
    render(&mut app, 120, 40);
    press(&mut app, "d", t0());
    assert!(app.confirm.is_some());
    let screen = render(&mut app, 120, 40);
    let (column, row) = spot(&screen, "Remove");
    assert!(
        app.update(mouse(M::Down(MouseButton::Left), column, row), t0())
            .is_empty()
    );
    assert!(
        app.update(mouse(M::ScrollDown, column, row), t0())
            .is_empty()
    );
    assert!(app.confirm.is_some());
}

#[test]
fn the_log_view_wraps_long_lines() {
    let mut app = demo_app();
    let long = format!(
        "cannot log in: {} end-of-reason",
        "the platform said no ".repeat(8)
    );
    app.push_log(confwatch::tui::Level::Error, long);
    press(&mut app, "L", t0());
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("end-of-reason"), "{screen}");
    snapshot_depth("log_wrapped", app);
}

#[test]
fn the_jobs_view_wraps_a_long_outcome() {
    let mut app = kicking_dana();
    let failed = Outcome {
        outcome: OutcomeKind::Failed,
        attempts: 1,
        requests: 2,
        elapsed_ms: 210,
        message: "missing permission conversation:communication:disconnect; ask an admin to add it to one of your roles, then sign in again (end)".into(),
        status: Some(403),
        audit_incomplete: false,
    };
    app.update(progress("p-dana", 210, Step::Finished(failed)), at(210));
    press(&mut app, "J", at(300));
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("(end)"), "{screen}");
    snapshot_depth("jobs_wrapped", app);
}

#[test]
fn the_call_view_of_a_call_known_from_analytics_reads_it_exactly() {
    let mut app = App::new(Keymap::default(), t0());
    for update in [Update::ResyncStarted, Update::ResyncPage(world())] {
        app.update(Input::Feed(FeedEvent::Model(update)), t0());
    }
    app.refresh();
    let id = app.conference.id.clone().expect("a conference selected");
    assert_eq!(press(&mut app, "i", t0()), vec![Action::ReadCall(id)]);
    assert_eq!(app.view, View::Call);
    assert!(render(&mut app, 120, 40).contains("known from analytics only"));
}

/// A signed-in user's token refused with a kick running: the header keeps the kick, the
/// blocking state and the counts; a banner says why and what to run; the status line says
/// `signed out`, never `live`; `d` explains instead of opening the dialog.
#[test]
fn snapshot_signed_out_banner() {
    let mut app = kicking_dana();
    app.demo = None;
    app.signed_in = confwatch::tui::SignedIn {
        profile: Some("dublin".into()),
        user: Some("Sam Supervisor <sam.supervisor@example.com>".into()),
        read_only: None,
    };
    app.update(
        Input::Feed(FeedEvent::Connection(ConnectionState::Live)),
        at(500),
    );
    app.update(
        Input::Feed(FeedEvent::Auth(Some(AuthProblem::SignInEnded))),
        at(1_000),
    );
    let screen = render(&mut app, 80, 24);
    let top = screen.lines().next().unwrap_or_default().to_string();
    let at_ = |what: &str| {
        top.find(what)
            .unwrap_or_else(|| panic!("{what:?} not in {top:?}"))
    };
    assert!(at_("1 kick running") < at_("SIGNED OUT"), "{top}");
    assert!(at_("SIGNED OUT") < at_("conferences"), "{top}");
    assert!(
        screen.contains("confwatch login --profile dublin"),
        "{screen}"
    );
    assert!(screen.contains("signed out"), "{screen}");
    assert!(!screen.contains("● live"), "{screen}");
    press(&mut app, "j", at(1_100));
    press(&mut app, "d", at(1_200));
    assert!(app.confirm.is_none(), "the dialog must not open");
    snapshot("signed_out", app);
}

/// Narrower than 80 columns the header drops the least important parts first: the running
/// kick and the filter stay, then the counts; the sort and the source go.
#[test]
fn a_narrow_header_drops_the_least_important_first() {
    let mut app = kicking_dana();
    app.filter.text = "sales".into();
    app.refresh();
    let top = |app: &mut App, width| {
        render(app, width, 24)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let wide = top(&mut app, 120);
    assert!(wide.contains("sort age"), "{wide}");
    let narrow = top(&mut app, 60);
    assert!(narrow.contains("1 kick running"), "{narrow}");
    assert!(narrow.contains("filter \"sales\""), "{narrow}");
    assert!(!narrow.contains("sort"), "{narrow}");
    assert!(!narrow.contains("built-in mock"), "{narrow}");
    let kick = narrow.find("1 kick running").unwrap();
    let filter = narrow.find("filter").unwrap();
    assert!(kick < filter, "{narrow}");
}

#[test]
fn sorted_by_time_in_state_the_waiting_legs_lead() {
    let mut app = demo_app();
    press(&mut app, "s", t0());
    // Kim held for a minute leads; her call's participants put her first too.
    press(&mut app, "g\n", t0());
    assert_eq!(app.conference.id.as_deref(), Some("conv-support-1"));
    let screen = render(&mut app, 200, 60);
    assert!(screen.contains("sort in state"), "{screen}");
    assert!(screen.contains("in state"), "{screen}");
    // The conferences pane (left of `││`): each row with the leg that sorts it.
    let conferences = common::pane_lines(&screen, false);
    let row = |name: &str| {
        conferences
            .iter()
            .position(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{screen}"))
    };
    assert!(
        conferences[row("Maria Rossi")].contains("‖ held 1m 00s"),
        "{screen}"
    );
    assert!(
        conferences[row("Alex Moreno")].contains("◌ alerting 3.0 s"),
        "{screen}"
    );
    assert!(
        conferences[row("Jon Berg")].contains("● connected 1h 01m"),
        "{screen}"
    );
    assert!(row("Maria Rossi") < row("Alex Moreno"), "{screen}");
    assert!(row("Alex Moreno") < row("Jon Berg"), "{screen}");
    assert!(row("Jon Berg") < row("+1 555 0142"), "{screen}");
    // The participants pane: held Kim, then Maria (16m 30s), then Sam (4m 50s).
    let pane = common::pane_lines(&screen, true);
    let at = |name: &str| pane.iter().position(|l| l.contains(name)).unwrap();
    assert!(at("Kim Park") < at("Maria Rossi"), "{screen}");
    assert!(at("Maria Rossi") < at("Sam Diaz"), "{screen}");
    // Paused, the participants keep their join order (the time-in-state order moves).
    press(&mut app, "p", t0());
    let paused = render(&mut app, 200, 60);
    let pane = common::pane_lines(&paused, true);
    let at = |name: &str| pane.iter().position(|l| l.contains(name)).unwrap();
    assert!(at("Maria Rossi") < at("Kim Park"), "{paused}");
    press(&mut app, "p", t0());
    // At 120 columns the pane is narrow: the glyph and the time, the customer still readable.
    let narrow = render(&mut app, 120, 40);
    let maria = narrow.lines().nth(3).unwrap_or_default();
    assert!(
        maria.contains("Maria Rossi") && maria.contains("‖ 1m 00s"),
        "{narrow}"
    );
    snapshot_depth("in_state_sort", app);
}

#[test]
fn filter_terms_all_match_and_a_dash_excludes() {
    let mut app = demo_app();
    let shown = |app: &mut App, filter: &str| -> Vec<String> {
        press(app, "\x1b\x1b/", t0());
        press(app, filter, t0());
        press(app, "\n", t0());
        sorted_ids(app)
    };
    assert_eq!(
        shown(&mut app, "support"),
        ["conv-support-1", "conv-support-2"]
    );
    assert_eq!(shown(&mut app, "support -held"), ["conv-support-2"]);
    assert_eq!(
        shown(&mut app, "-HELD -ringing"),
        ["conv-billing-1", "conv-support-2"]
    );
    // A phrase is one term; its words apart match anyone.
    assert_eq!(shown(&mut app, "\"kim park\""), ["conv-support-1"]);
    assert_eq!(shown(&mut app, "\"kim sam\""), Vec::<String>::new());
    assert_eq!(shown(&mut app, "kim sam"), ["conv-support-1"]);
    assert_eq!(
        shown(&mut app, "-\"jon berg\" customer"),
        ["conv-billing-1", "conv-sales-1", "conv-support-1"]
    );
    // Blank, or only empty terms: everything.
    assert_eq!(shown(&mut app, "  - \"\" ").len(), 4);
    assert_eq!(shown(&mut app, "support -held").len(), 1);
    let screen = render(&mut app, 80, 24);
    assert!(
        screen.contains("filter \"support\" not \"held\""),
        "{screen}"
    );
    snapshot_depth("filter_terms", app);
}

#[test]
fn a_hostile_filter_is_cleaned_and_bounded() {
    let mut app = demo_app();
    press(&mut app, "/", t0());
    // Escape codes typed as characters, a reordering mark, then ten thousand characters.
    for c in "\u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m\u{202e}held ".chars() {
        app.update(ch(c), t0());
    }
    for _ in 0..10_000 {
        app.update(ch('x'), t0());
    }
    assert_eq!(app.filter.text.chars().count(), 200);
    assert!(
        app.filter.text.starts_with("[2J]0;owned31mheld x"),
        "{:?}",
        app.filter.text
    );
    assert_eq!(
        app.flash.as_deref(),
        Some("the filter holds at most 200 characters")
    );
    for (width, height) in DEPTH_SIZES {
        let screen = render(&mut app, width, height);
        let lines: Vec<&str> = screen.lines().collect();
        assert_eq!(lines.len(), usize::from(height), "{screen}");
        assert!(lines[0].starts_with("\" confwatch │"), "{screen}");
        assert!(
            screen.contains("no conference matches the filter"),
            "{screen}"
        );
        assert!(
            !screen.contains('\u{202e}') && !screen.contains('\u{1b}'),
            "{screen}"
        );
        // The bar shows where typing goes on: the end of the text, cut at its start.
        let bar = lines[lines.len() - 1];
        assert!(bar.contains(" / …xxx") && bar.contains("x▏"), "{screen}");
    }
    // Enter keeps it: the header shows the terms, cut.
    press(&mut app, "\n", t0());
    let screen = render(&mut app, 200, 60);
    assert!(
        screen.contains("filter \"[2J]0;owned31mheld\" \"xxxx"),
        "{screen}"
    );
    assert!(app.rows().is_empty());
    press(&mut app, "\x1b", t0());
    assert_eq!(app.rows().len(), 4);
}

#[test]
fn the_jobs_list_says_when_a_row_is_cut() {
    let mut app = kicking_dana();
    let words: Vec<String> = (1..=150).map(|i| format!("word{i:03}")).collect();
    let failed = Outcome {
        outcome: OutcomeKind::Failed,
        attempts: 1,
        requests: 2,
        elapsed_ms: 210,
        message: format!("{} (end)", words.join(" ")),
        status: Some(403),
        audit_incomplete: false,
    };
    app.update(progress("p-dana", 210, Step::Finished(failed)), at(210));
    press(&mut app, "J", at(300));
    for (width, height) in DEPTH_SIZES {
        let screen = render(&mut app, width, height);
        assert!(!screen.contains("(end)"), "{screen}");
        assert!(screen.contains("more lines"), "{screen}");
        // The row stays six lines high: the header row, then six, then the blank line after.
        let first = screen
            .lines()
            .position(|l| l.contains("Dana Smith"))
            .unwrap();
        let blank = screen
            .lines()
            .skip(first)
            .position(|l| {
                l.trim_matches(|c| c == '"' || c == '│' || c == ' ')
                    .is_empty()
            })
            .unwrap();
        assert_eq!(blank, 6, "{screen}");
    }
    let screen = render(&mut app, 200, 60);
    assert!(
        screen.contains("more lines: enter for the whole job"),
        "{screen}"
    );
    // The job view has the whole message.
    press(&mut app, "\n", at(300));
    assert_eq!(app.view, View::Job);
    let screen = render(&mut app, 200, 60);
    assert!(screen.contains("(end)"), "{screen}");
    press(&mut app, "\x1b", at(300));
    assert_eq!(app.view, View::Jobs);
    snapshot_depth("jobs_cut", app);
}

/// A kick whose audit record lost a line after the 202: the header says AUDIT INCOMPLETE at 80
/// columns, the banner names who was removed from which call and the log file, and both stay
/// (other keys, ticks, other views) until the dismiss key; the log keeps it after.
#[test]
fn an_incomplete_audit_is_a_banner_until_dismissed() {
    let mut app = kicking_dana();
    app.log_file = Some("/home/sam/.local/state/confwatch/confwatch.log".into());
    let removed = Outcome {
        outcome: OutcomeKind::Removed,
        attempts: 1,
        requests: 3,
        elapsed_ms: 640,
        message:
            "Dana Smith disconnected; the audit record is incomplete (a line could not be written)"
                .into(),
        status: None,
        audit_incomplete: true,
    };
    app.update(progress("p-dana", 640, Step::Finished(removed)), at(640));
    let screen = render(&mut app, 80, 24);
    insta::assert_snapshot!("audit_incomplete_80x24", screen);
    let top = screen.lines().next().unwrap_or_default();
    assert!(top.contains("AUDIT INCOMPLETE"), "{top}");
    // The screen's lines as one text (the rendering quotes each line).
    let banner: String = screen
        .lines()
        .map(|l| l.trim_matches('"').trim())
        .collect::<Vec<_>>()
        .join(" ");
    for words in [
        "Dana Smith",
        "Sales",
        "conv-sales-1",
        "ended removed",
        "could not be written",
        "X dismisses",
    ] {
        assert!(banner.contains(words), "{words:?} not in {screen}");
    }
    let unspaced: String = banner.split_whitespace().collect();
    assert!(
        unspaced.contains("/home/sam/.local/state/confwatch/confwatch.log"),
        "{screen}"
    );
    // Other keys, time and views leave it up.
    press(&mut app, "jJ", at(1_000));
    app.update(Input::Tick, at(60_000));
    press(&mut app, "\x1b", at(61_000));
    assert!(render(&mut app, 80, 24).contains("AUDIT INCOMPLETE"));
    press(&mut app, "X", at(62_000));
    let after = render(&mut app, 80, 24);
    assert!(!after.contains("AUDIT INCOMPLETE"), "{after}");
    assert!(
        app.log
            .iter()
            .any(|l| l.text.contains("audit record incomplete") && l.text.contains("Dana Smith")),
        "the log keeps it"
    );
}

/// A kick whose call could not be claimed (`kick::claims`): the status line says so, the log
/// keeps it as a warning, and the job view's story lists it.
#[test]
fn an_unprotected_kick_is_said_on_screen() {
    let mut app = kicking_dana();
    let reason = "cannot claim the call in /home/sam/.local/state/confwatch/claims (Not a directory (os error 20))";
    app.update(
        progress(
            "p-dana",
            1,
            Step::Unprotected {
                reason: reason.into(),
            },
        ),
        at(1),
    );
    let screen = render(&mut app, 120, 40);
    assert!(
        screen.contains("not protected against another confwatch"),
        "{screen}"
    );
    assert!(
        app.log
            .iter()
            .any(|l| l.text.contains("not protected") && l.text.contains("Not a directory")),
        "the log keeps it"
    );
    press(&mut app, "J\n", at(100));
    let story = render(&mut app, 120, 40);
    assert!(
        story.contains("not protected against another confwatch kicking on this call"),
        "{story}"
    );
}

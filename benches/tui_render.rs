//! Console rendering at scale: 10,000 conferences, a 200x60 terminal.
//!
//! Prints, from one run: the frame build time of the console (cached rows, only visible rows
//! built) against two baselines measured in the same run (rows rebuilt every frame; a naive
//! table of every row), the time from a feed event arriving to the frame that shows it, and the
//! process's resident memory. Targets: frame ≤ 4 ms median, event-to-frame ≤ 20 ms, ≤ 150 MB.

// A benchmark: a failed unwrap or expect stops it with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use confwatch::feed::FeedEvent;
use confwatch::kick::{Progress, Step, Target};
use confwatch::live::Update;
use confwatch::tui::{App, Input};
use confwatch::tui::{Keymap, Theme, draw};
use confwatch::wire::{
    CallConversation, CallMediaParticipant, EntityRef, ParticipantState, Queue, Timestamp,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Constraint;
use ratatui::widgets::{Block, Borders, Row, Table};

const CONVERSATIONS: usize = 10_000;
const FRAMES: usize = 200;
const EVENTS: usize = 200;
const WIDTH: u16 = 200;
const HEIGHT: u16 = 60;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 7, 0, 0).unwrap()
}

fn leg(
    id: String,
    name: String,
    purpose: &str,
    state: ParticipantState,
    ago: i64,
) -> CallMediaParticipant {
    let mut leg = CallMediaParticipant::new(id, purpose, state);
    leg.name = Some(name);
    leg.start_time = Some(Timestamp(t0() - Duration::seconds(ago)));
    leg
}

fn conversation(i: usize, agent_state: ParticipantState) -> CallConversation {
    let ago = (i % 3600) as i64 + 5;
    let queue = EntityRef {
        id: Some(format!("q-{}", i % 20)),
        name: None,
        self_uri: None,
    };
    let mut legs = vec![
        leg(
            format!("c-{i}"),
            format!("Customer {i}"),
            "customer",
            ParticipantState::Connected,
            ago,
        ),
        leg(
            format!("a-{i}"),
            format!("Agent {i}"),
            "agent",
            ParticipantState::Connected,
            ago,
        ),
        leg(
            format!("b-{i}"),
            format!("Second {i}"),
            "agent",
            agent_state,
            ago / 2,
        ),
    ];
    for leg in legs.iter_mut().skip(1) {
        leg.queue = Some(queue.clone());
    }
    CallConversation {
        id: format!("conv-{i:05}"),
        participants: legs,
        ..Default::default()
    }
}

fn loaded_app() -> App {
    let mut app = App::new(Keymap::default(), t0());
    let queues = (0..20)
        .map(|q| Queue {
            id: format!("q-{q}"),
            name: Some(format!("Queue {q}")),
            ..Default::default()
        })
        .collect();
    app.update(Input::Feed(FeedEvent::Model(Update::Queues(queues))), t0());
    let calls = (0..CONVERSATIONS)
        .map(|i| conversation(i, ParticipantState::Alerting))
        .collect();
    app.update(Input::Feed(FeedEvent::Model(Update::Snapshot(calls))), t0());
    // A conference open with a kick running in it, as a supervisor would have it.
    app.update(
        Input::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        t0(),
    );
    let target = Target {
        conversation_id: app.conference.id.clone().unwrap_or_default(),
        participant_id: app.participant.id.clone().unwrap_or_default(),
    };
    app.update(
        Input::Progress(Progress {
            target,
            at_ms: 0,
            step: Step::Waiting {
                state: ParticipantState::Alerting,
            },
        }),
        t0(),
    );
    app
}

fn median(mut samples: Vec<StdDuration>) -> StdDuration {
    samples.sort();
    samples[samples.len() / 2]
}

fn p99(mut samples: Vec<StdDuration>) -> StdDuration {
    samples.sort();
    samples[(samples.len() * 99 / 100).min(samples.len() - 1)]
}

fn ms(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn frames(app: &mut App, terminal: &mut Terminal<TestBackend>, rebuild: bool) -> Vec<StdDuration> {
    (0..FRAMES)
        .map(|i| {
            let now = t0() + Duration::milliseconds(250 * i as i64);
            let start = Instant::now();
            app.update(Input::Tick, now);
            if rebuild {
                app.invalidate_rows();
            }
            draw(terminal, app, Theme::from_env()).expect("draw");
            start.elapsed()
        })
        .collect()
}

/// What a naive console does: every conference made into a table row, every frame.
fn naive_frames(app: &mut App, terminal: &mut Terminal<TestBackend>) -> Vec<StdDuration> {
    (0..FRAMES / 4)
        .map(|i| {
            let now = t0() + Duration::milliseconds(250 * i as i64);
            let start = Instant::now();
            app.update(Input::Tick, now);
            let mut conferences = app.model.conferences();
            conferences.sort_by_key(|c| c.started);
            let rows: Vec<Row> = conferences
                .iter()
                .map(|c| {
                    Row::new(vec![
                        c.queue_name.clone().unwrap_or_default(),
                        c.customer.clone().unwrap_or_default(),
                        c.live_parties.to_string(),
                        c.started
                            .map(|s| (now - s).num_seconds().to_string())
                            .unwrap_or_default(),
                    ])
                })
                .collect();
            terminal
                .draw(|frame| {
                    let table = Table::new(rows, [Constraint::Fill(1); 4])
                        .block(Block::default().borders(Borders::ALL));
                    frame.render_widget(table, frame.area());
                })
                .expect("draw");
            start.elapsed()
        })
        .collect()
}

fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let rss_before = rss_mb();
    let build = Instant::now();
    let mut app = loaded_app();
    let build_time = build.elapsed();
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    // Warm up (first build of the rows).
    draw(&mut terminal, &mut app, Theme::from_env()).expect("draw");
    println!(
        "tui_render: {CONVERSATIONS} conferences, {WIDTH}x{HEIGHT}, model loaded in {:.1} ms",
        ms(build_time)
    );

    let cached = median(frames(&mut app, &mut terminal, false));
    let rebuilt = median(frames(&mut app, &mut terminal, true));
    let naive = median(naive_frames(&mut app, &mut terminal));
    println!(
        "frame build (median of {FRAMES}): console {:.3} ms | rows rebuilt every frame {:.3} ms | naive all-rows table {:.3} ms | naive/console {:.1}x (target ≤ 4 ms)",
        ms(cached),
        ms(rebuilt),
        ms(naive),
        naive.as_secs_f64() / cached.as_secs_f64()
    );

    // Event to frame: one conversation changes (a ringing agent answers), then the frame that
    // shows it is drawn.
    let mut event_to_frame = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let now = t0() + Duration::milliseconds(60_000 + 5 * i as i64);
        let update = conversation(i * 37 % CONVERSATIONS, ParticipantState::Connected);
        let start = Instant::now();
        app.update(
            Input::Feed(FeedEvent::Model(Update::Conversation(update))),
            now,
        );
        draw(&mut terminal, &mut app, Theme::from_env()).expect("draw");
        event_to_frame.push(start.elapsed());
    }
    // A second's worth of events at 200/s drained as one batch, then one frame; and the same
    // events applied to the live model alone, to show where the batch's time goes.
    let batch_updates = |state: ParticipantState| {
        (0..200)
            .map(|i| conversation((i * 53 + 11) % CONVERSATIONS, state.clone()))
            .collect::<Vec<_>>()
    };
    let mut model_only = confwatch::live::LiveModel::new();
    model_only.apply(
        Update::Snapshot(
            (0..CONVERSATIONS)
                .map(|i| conversation(i, ParticipantState::Alerting))
                .collect(),
        ),
        t0(),
    );
    let model_start = Instant::now();
    for update in batch_updates(ParticipantState::Connected) {
        model_only.apply(Update::Conversation(update), t0());
    }
    let model_batch = model_start.elapsed();
    black_box(&model_only);
    let batch_start = Instant::now();
    for (i, update) in batch_updates(ParticipantState::Alerting)
        .into_iter()
        .enumerate()
    {
        let now = t0() + Duration::milliseconds(120_000 + i as i64);
        app.update(
            Input::Feed(FeedEvent::Model(Update::Conversation(update))),
            now,
        );
    }
    draw(&mut terminal, &mut app, Theme::from_env()).expect("draw");
    let batch = batch_start.elapsed();
    println!(
        "event to frame (one event, then its frame; {EVENTS} samples): median {:.3} ms, p99 {:.3} ms (target ≤ 20 ms); 200 events as one batch + one frame {:.3} ms (the live model alone applies them in {:.3} ms)",
        ms(median(event_to_frame.clone())),
        ms(p99(event_to_frame)),
        ms(batch),
        ms(model_batch)
    );
    black_box(&app);

    // The first screen as it fills in from analytics: 50 pages of 200 calls, each applied and
    // its frame drawn (the console shows every page as it arrives).
    let mut filling = App::new(Keymap::default(), t0());
    let mut page_frames = Vec::new();
    filling.update(Input::Feed(FeedEvent::Model(Update::ResyncStarted)), t0());
    for page in 0..CONVERSATIONS.div_ceil(200) {
        let calls = (page * 200..((page + 1) * 200).min(CONVERSATIONS))
            .map(|i| conversation(i, ParticipantState::Connected))
            .collect();
        let start = Instant::now();
        filling.update(
            Input::Feed(FeedEvent::Model(Update::ResyncPage(calls))),
            t0(),
        );
        draw(&mut terminal, &mut filling, Theme::from_env()).expect("draw");
        page_frames.push(start.elapsed());
    }
    filling.update(Input::Feed(FeedEvent::Model(Update::ResyncDone)), t0());
    let total: std::time::Duration = page_frames.iter().sum();
    println!(
        "first screen from analytics pages ({} pages of 200): a page applied and drawn in median {:.3} ms, p99 {:.3} ms, all pages {:.1} ms",
        page_frames.len(),
        ms(median(page_frames.clone())),
        ms(p99(page_frames)),
        ms(total)
    );
    black_box(&filling);
    match (rss_before, rss_mb()) {
        (Some(before), Some(after)) => println!(
            "memory: VmRSS {after:.1} MB with {CONVERSATIONS} conversations (process start {before:.1} MB; target ≤ 150 MB)"
        ),
        _ => println!("memory: /proc/self/status not available"),
    }
}

use std::collections::{HashMap, HashSet};

use super::occupancy::{is_caller, wrap_up};
use super::*;
use crate::world::CallRecord;
use genesys_cloud_models::{DisconnectType, ParticipantState, Purpose};

/// The simulated clock's step (the server ticks every 10 ms; 250 ms keeps an hour fast).
const STEP: Duration = Duration::from_millis(250);

/// A scenario driven on a simulated clock, checking after every tick that no agent is on
/// two live calls, that agents get their wrap-up, and that live calls have different
/// callers; and counting what it sees.
struct Run {
    scenario: Scenario,
    state: State,
    now: DateTime<Utc>,
    instant: Instant,
    /// When each user is free again after a leg that ended.
    free_at: HashMap<String, Instant>,
    seen_legs: HashSet<String>,
    seen: TickStats,
}

#[derive(Debug, Default)]
struct TickStats {
    ticks: u64,
    conferences_min: usize,
    conferences_sum: usize,
    /// Ticks with an agent ringing in a conference (one to kick while it rings).
    ringing_agent_ticks: u64,
    /// The longest run of ticks without one, and the current run.
    no_ringing_max: u64,
    no_ringing_run: u64,
    busy_agents_max: usize,
    waiting_max: usize,
    ringing: usize,
    held: usize,
    left_conference: HashSet<String>,
    answered_from_queue: HashSet<String>,
    abandoned: HashSet<String>,
}

impl Run {
    fn start(scenario: Scenario, seed: u64) -> Run {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let instant = Instant::now();
        let state = initial_state_at(&scenario, seed, Auth::default(), now, instant);
        let mut run = Run {
            scenario,
            state,
            now,
            instant,
            free_at: HashMap::new(),
            seen_legs: HashSet::new(),
            seen: TickStats {
                conferences_min: usize::MAX,
                ..TickStats::default()
            },
        };
        run.check();
        run
    }

    fn demo(seed: u64) -> Run {
        Run::start(Scenario::named("demo").unwrap(), seed)
    }

    /// Runs for `secs` simulated seconds; counts conferences only after `warm_up` of them.
    fn run(&mut self, secs: u64, warm_up: u64) {
        let steps = secs * 1000 / STEP.as_millis() as u64;
        let warm_steps = warm_up * 1000 / STEP.as_millis() as u64;
        for n in 0..steps {
            self.now += STEP;
            self.instant += STEP;
            tick_at(&mut self.state, &self.scenario, self.now, self.instant);
            self.check();
            if n >= warm_steps {
                let conferences = self.live_calls().filter(|c| c.is_conference()).count();
                self.seen.ticks += 1;
                self.seen.conferences_min = self.seen.conferences_min.min(conferences);
                self.seen.conferences_sum += conferences;
                let ringing_agent = self.live_calls().filter(|c| c.is_conference()).any(|c| {
                    c.legs
                        .iter()
                        .any(|l| l.is_agent() && l.state == ParticipantState::Alerting)
                });
                self.seen.ringing_agent_ticks += ringing_agent as u64;
                self.seen.no_ringing_run = (self.seen.no_ringing_run + 1) * !ringing_agent as u64;
                self.seen.no_ringing_max = self.seen.no_ringing_max.max(self.seen.no_ringing_run);
            }
        }
    }

    fn live_calls(&self) -> impl Iterator<Item = &CallRecord> {
        self.state.world.calls().filter(|c| c.end_time.is_none())
    }

    fn check(&mut self) {
        let wrap_up = wrap_up(&self.scenario.calls);
        let mut on_call: HashMap<&str, &str> = HashMap::new();
        let mut callers: HashMap<&str, &str> = HashMap::new();
        let (mut ringing, mut held) = (0, 0);
        for call in self.state.world.calls().filter(|c| c.end_time.is_none()) {
            for leg in call.legs.iter().filter(|l| l.state.is_live()) {
                if let Some((user, name)) = &leg.user {
                    if let Some(other) = on_call.insert(user, &call.id) {
                        panic!("{name} is on two live calls: {other} and {}", call.id);
                    }
                } else if is_caller(leg) {
                    for key in [&leg.name, &leg.address] {
                        if let Some(other) = callers.insert(key, &call.id) {
                            panic!("{key} is on two live calls: {other} and {}", call.id);
                        }
                    }
                }
                ringing += leg.state.is_unsettled() as usize;
                held += leg.held as usize;
            }
        }
        self.seen.ringing += ringing;
        self.seen.held += held;
        self.seen.busy_agents_max = self.seen.busy_agents_max.max(on_call.len());
        self.seen.waiting_max = self
            .seen
            .waiting_max
            .max(self.state.simulation.waiting.len());
        // Ended legs first: when is each agent free again.
        for call in self.state.world.calls() {
            for leg in call.legs.iter().filter(|l| l.state.is_gone()) {
                if let Some((user, _)) = &leg.user {
                    let free = leg.changed_at + wrap_up;
                    let at = self.free_at.entry(user.clone()).or_insert(free);
                    *at = (*at).max(free);
                }
                match (&leg.disconnect_type, &leg.purpose) {
                    (Some(DisconnectType::TransferConsult), _) => {
                        self.seen.left_conference.insert(leg.id.clone());
                    }
                    (Some(DisconnectType::Transfer), Purpose::Acd) => {
                        self.seen.answered_from_queue.insert(call.id.clone());
                    }
                    (_, Purpose::Acd) => {
                        self.seen.abandoned.insert(call.id.clone());
                    }
                    _ => {}
                }
            }
        }
        // Then each new agent leg: its agent must have finished wrap-up.
        for call in self.state.world.calls() {
            for leg in &call.legs {
                if !self.seen_legs.insert(leg.id.clone()) {
                    continue;
                }
                if let Some((user, name)) = &leg.user
                    && leg.state.is_live()
                    && let Some(free) = self.free_at.get(user)
                {
                    assert!(
                        self.instant >= *free,
                        "{name} got a new call {:?} into wrap-up",
                        *free - self.instant
                    );
                }
            }
        }
    }

    fn figures(&self) -> String {
        let s = &self.seen;
        format!(
            "conferences min {} avg {:.1}; an agent ringing in a conference {:.0}% of the \
             time (longest without: {:?}); agents {} (at most {} busy); waiting at most {}; answered from queue {}, \
             abandoned {}; left a conference {}",
            s.conferences_min,
            s.conferences_sum as f64 / s.ticks.max(1) as f64,
            100.0 * s.ringing_agent_ticks as f64 / s.ticks.max(1) as f64,
            STEP * s.no_ringing_max as u32,
            self.state.world.agents.len(),
            s.busy_agents_max,
            s.waiting_max,
            s.answered_from_queue.len(),
            s.abandoned.len(),
            s.left_conference.len()
        )
    }
}

/// Everything a client sees of the world, without times.
fn snapshot(state: &State) -> Vec<String> {
    state
        .world
        .calls()
        .flat_map(|c| {
            c.legs.iter().map(|l| {
                format!(
                    "{} {} {} {} {} {:?} {:?} {}",
                    c.id, l.id, l.name, l.address, l.purpose, l.user, l.state, l.held
                )
            })
        })
        .collect()
}

#[test]
fn no_agent_is_on_two_live_calls_and_each_gets_a_wrap_up() {
    // `Run::check` asserts both after every tick of a simulated hour, for two seeds.
    for seed in [7, 3] {
        let mut run = Run::demo(seed);
        run.run(3600, 0);
        eprintln!("demo seed {seed}, one hour: {}", run.figures());
        assert!(run.seen.busy_agents_max >= 20, "{}", run.figures());
    }
}

#[test]
fn live_calls_have_different_callers() {
    // `Run::check` asserts it after every tick; here a center with few names to go round
    // would fail fast: 40 x 40 names and 10 million numbers, 30 minutes.
    let mut run = Run::demo(11);
    run.run(1800, 0);
    assert!(run.seen.ringing > 0);
}

#[test]
fn demo_keeps_eight_conferences_going_and_moving() {
    let mut run = Run::demo(7);
    run.run(3600, 30);
    eprintln!("demo seed 7, one hour after 30 s: {}", run.figures());
    let seen = &run.seen;
    assert!(seen.conferences_min >= 8, "{}", run.figures());
    assert!(seen.ringing > 0 && seen.held > 0, "{seen:?}");
    assert!(seen.left_conference.len() > 10, "{}", run.figures());
    // Most of the time there is an agent ringing to kick (the wait, the 409 retries).
    assert!(
        seen.ringing_agent_ticks * 2 > seen.ticks,
        "{}",
        run.figures()
    );
    assert!(STEP * seen.no_ringing_max as u32 <= Duration::from_secs(90));
    // Right at start too: the console has something to show at once.
    let start = Run::demo(7);
    let conferences = start.live_calls().filter(|c| c.is_conference()).count();
    assert!(conferences >= 8, "{conferences} at start");
}

#[test]
fn a_busy_center_queues_callers_instead_of_double_booking() {
    let mut scenario = Scenario::named("demo").unwrap();
    scenario.agents.truncate(4);
    scenario.calls.arrivals_per_minute = 30.0;
    scenario.calls.min_conferences = 3;
    let mut run = Run::start(scenario, 5);
    run.run(1200, 0);
    eprintln!("4 agents, 30 calls a minute: {}", run.figures());
    let seen = &run.seen;
    assert!(seen.busy_agents_max <= 4);
    assert!(seen.waiting_max >= 5, "{}", run.figures());
    assert!(!seen.answered_from_queue.is_empty(), "{}", run.figures());
    assert!(!seen.abandoned.is_empty(), "{}", run.figures());
    // Conferences are kept with outside parties when no agent is free.
    assert!(seen.conferences_min >= 1, "{}", run.figures());
}

#[test]
fn the_same_seed_gives_the_same_world() {
    let demo = Scenario::named("demo").unwrap();
    let (mut a, mut b, mut c) = (Run::demo(3), Run::demo(3), Run::demo(4));
    assert_eq!(snapshot(&a.state), snapshot(&b.state));
    assert_ne!(snapshot(&a.state), snapshot(&c.state));
    assert_eq!(a.state.world.call_count(), demo.calls.initial as usize);
    for run in [&mut a, &mut b, &mut c] {
        run.run(600, 0);
    }
    assert_eq!(snapshot(&a.state), snapshot(&b.state));
    assert_ne!(snapshot(&a.state), snapshot(&c.state));
}

#[test]
fn scale_has_an_agent_for_every_leg() {
    let scale = Scenario::named("scale").unwrap();
    let run = Run::start(scale, 42);
    let calls: Vec<&CallRecord> = run.live_calls().collect();
    assert_eq!(calls.len(), 10_000);
    assert!(
        calls
            .iter()
            .all(|c| !c.legs.iter().any(|l| l.purpose == Purpose::Acd)),
        "no call waits in a queue at scale"
    );
    let conferences = calls.iter().filter(|c| c.is_conference()).count();
    assert!(conferences > 2_000, "{conferences}");
}

#[test]
fn quiet_makes_nothing() {
    let quiet = Scenario::named("quiet").unwrap();
    let mut state = initial_state(&quiet, 1, Auth::default());
    for _ in 0..20 {
        tick(&mut state, &quiet);
    }
    assert_eq!(state.world.call_count(), 0);
}

#[test]
fn demo_transfers_some_calls_to_another_queue_each_leg_keeping_its_own() {
    let mut run = Run::demo(7);
    run.run(1800, 0);
    let moved: Vec<&CallRecord> = run
        .state
        .world
        .calls()
        .filter(|c| c.queue_ids().len() > 1)
        .collect();
    assert!(moved.len() >= 3, "{} transferred calls", moved.len());
    for call in moved {
        // The earlier queue's legs keep it; the current queue's `acd` leg is the newest one.
        let acd: Vec<&str> = call
            .legs
            .iter()
            .filter(|l| l.purpose == Purpose::Acd)
            .map(|l| call.queue_of(l).0)
            .collect();
        assert_eq!(acd.last(), Some(&call.queue_id.as_str()), "{acd:?}");
        // Each queue it was in is named by a leg that served it (an agent, or an `acd` leg).
        let served = |q: &str| {
            call.legs
                .iter()
                .any(|l| l.in_queue() && call.queue_of(l).0 == q)
        };
        assert!(call.queue_ids().into_iter().all(served));
        for leg in call.legs.iter().filter(|l| l.purpose == Purpose::Acd) {
            if leg.queue.is_some() || call.end_time.is_some() {
                assert!(leg.state.is_gone(), "an earlier queue's acd leg is live");
            }
        }
    }
}

//! The simulated contact center in motion: builds the world from a scenario and, on each tick,
//! lets calls arrive, wait in queue, ring, connect, become conferences, hold, lose a party and end.
//! Each platform behaviour simulated here has its source and certainty in `docs/platform.md`.
//!
//! Like a real center, an agent is on at most one live call (ringing, connected or held) and has
//! a short wrap-up after it before the next; a call that finds no free agent waits in its queue
//! (an `acd` leg) until one is free or the caller gives up; and the callers on live calls are
//! different people (names and numbers not already in use).

mod arrivals;
mod events;
mod occupancy;
pub(super) mod roster;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;

use self::arrivals::{Arrival, new_call, serve_queue};
use self::events::{apply, keep_conferences, toggle_random_hold};
use self::occupancy::Occupancy;
use self::roster::{Simulation, build_world};
use super::auth::Auth;
use super::ids::seeded;
use super::scenario::Scenario;
use super::state::State;

pub(super) use self::occupancy::phone_number;

/// The world, tokens-free state and RNG a scenario starts with.
pub(super) fn initial_state(scenario: &Scenario, seed: u64, auth: Auth) -> State {
    initial_state_at(scenario, seed, auth, Utc::now(), Instant::now())
}

/// `initial_state` on a given clock (tests drive the simulation with their own clock).
pub(super) fn initial_state_at(
    scenario: &Scenario,
    seed: u64,
    auth: Auth,
    now: DateTime<Utc>,
    instant: Instant,
) -> State {
    let mut rng = seeded(seed);
    let world = build_world(scenario, &mut rng);
    let simulation = Simulation::for_world(&world);
    let mut state = State {
        world,
        hub: Default::default(),
        auth,
        faults: scenario.faults.clone(),
        rng,
        simulation,
    };
    populate(&mut state, scenario, now, instant);
    state
}

/// Back to the scenario's start (same seed); tokens and channels are kept.
pub(super) fn reset(state: &mut State, scenario: &Scenario, seed: u64) {
    let mut rng = seeded(seed);
    state.world = build_world(scenario, &mut rng);
    state.rng = rng;
    state.faults = scenario.faults.clone();
    state.simulation = Simulation::for_world(&state.world);
    populate(state, scenario, Utc::now(), Instant::now());
    state.world.take_changed();
}

fn populate(state: &mut State, scenario: &Scenario, now: DateTime<Utc>, instant: Instant) {
    let mut occupancy = Occupancy::read(state, &scenario.calls, instant);
    for _ in 0..scenario.calls.initial {
        let ago = Duration::from_secs(state.rng.random_range(5..120));
        let conference = state.rng.random_bool(scenario.calls.conference_rate);
        let arrival = Arrival {
            ago,
            conference,
            fresh: false,
            may_wait: true,
        };
        new_call(state, scenario, &mut occupancy, arrival, now, instant);
    }
    state.world.take_changed();
}

/// One step of the world: due actions, the queue served, arrivals, conferences kept up, load
/// changes, clean-up.
pub(super) fn tick(state: &mut State, scenario: &Scenario) {
    tick_at(state, scenario, Utc::now(), Instant::now());
}

/// `tick` on a given clock (tests drive the simulation with their own clock).
pub(super) fn tick_at(
    state: &mut State,
    scenario: &Scenario,
    now: DateTime<Utc>,
    instant: Instant,
) {
    let settings = &scenario.calls;
    let elapsed = state
        .simulation
        .last_tick
        .map(|t| instant.saturating_duration_since(t).as_secs_f64())
        .unwrap_or(0.0);
    state.simulation.last_tick = Some(instant);

    while let Some(action) = state.world.pop_due(instant) {
        apply(state, scenario, action, now, instant);
    }

    // Read only when someone must be placed: at scale most ticks place no one.
    let mut occupancy: Option<Occupancy> = None;
    if !state.simulation.waiting.is_empty() {
        serve_queue(state, scenario, &mut occupancy, now, instant);
    }

    state.simulation.arrival_debt += elapsed * settings.arrivals_per_minute / 60.0;
    while state.simulation.arrival_debt >= 1.0 {
        state.simulation.arrival_debt -= 1.0;
        let arrival = Arrival {
            ago: Duration::ZERO,
            conference: state.rng.random_bool(settings.conference_rate),
            fresh: true,
            may_wait: true,
        };
        let occupancy = occupancy.get_or_insert_with(|| Occupancy::read(state, settings, instant));
        new_call(state, scenario, occupancy, arrival, now, instant);
    }

    if settings.min_conferences > 0 {
        keep_conferences(state, scenario, &mut occupancy, now, instant);
    }

    state.simulation.change_debt += elapsed * settings.changes_per_sec;
    while state.simulation.change_debt >= 1.0 {
        state.simulation.change_debt -= 1.0;
        toggle_random_hold(state, now, instant);
    }

    let forget_due = state
        .simulation
        .last_forget
        .is_none_or(|t| instant.saturating_duration_since(t) >= Duration::from_secs(1));
    if forget_due {
        state.simulation.last_forget = Some(instant);
        state
            .world
            .forget_ended(instant, Duration::from_secs(settings.retain_ended_secs));
    }
}

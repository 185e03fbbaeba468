//! The roster: the world's queues and agents built from a scenario, and the simulation's own
//! books kept in the shared state (roster indexes, the calls waiting in queue, running totals).
//! Data only: what moves the world is in `arrivals.rs` and `events.rs`.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use rand::rngs::StdRng;

use crate::ids::new_id;
use crate::scenario::Scenario;
use crate::world::{AgentInfo, QueueInfo, World};

/// The simulation's running totals (fractions of events carried to the next tick), the roster
/// indexes and the queue of calls waiting for an agent.
#[derive(Debug, Default)]
pub(crate) struct Simulation {
    pub(crate) arrival_debt: f64,
    pub(crate) change_debt: f64,
    pub(crate) last_tick: Option<Instant>,
    pub(crate) last_forget: Option<Instant>,
    /// Hold/unhold changes made for load (`changes_per_sec`).
    pub(crate) load_changes: u64,
    /// Agent indexes (into `World::agents`) by queue id; the roster does not change.
    pub(crate) members: HashMap<String, Vec<usize>>,
    /// Agent index by user id.
    pub(crate) agent_index: HashMap<String, usize>,
    /// Calls waiting in a queue for an agent, oldest first, with when the caller gives up.
    pub(crate) waiting: VecDeque<(String, Instant)>,
}

impl Simulation {
    pub(crate) fn for_world(world: &World) -> Simulation {
        let mut members: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, agent) in world.agents.iter().enumerate() {
            for queue in &agent.queue_ids {
                members.entry(queue.clone()).or_default().push(index);
            }
        }
        let agent_index = world
            .agents
            .iter()
            .enumerate()
            .map(|(index, agent)| (agent.id.clone(), index))
            .collect();
        Simulation {
            members,
            agent_index,
            ..Simulation::default()
        }
    }
}

pub(crate) fn build_world(scenario: &Scenario, rng: &mut StdRng) -> World {
    let mut queues: Vec<QueueInfo> = scenario
        .queues
        .iter()
        .map(|q| QueueInfo {
            id: q.id.clone().unwrap_or_else(|| new_id(rng)),
            name: q.name.clone(),
            member_count: 0,
        })
        .collect();
    for i in 0..scenario.generate.queues {
        queues.push(QueueInfo {
            id: new_id(rng),
            name: format!("Queue {:03}", i + 1),
            member_count: 0,
        });
    }
    let all_queue_ids: Vec<String> = queues.iter().map(|q| q.id.clone()).collect();
    let mut agents: Vec<AgentInfo> = scenario
        .agents
        .iter()
        .map(|a| AgentInfo {
            id: a.id.clone().unwrap_or_else(|| new_id(rng)),
            name: a.name.clone(),
            queue_ids: if a.queues.is_empty() {
                all_queue_ids.clone()
            } else {
                queues
                    .iter()
                    .filter(|q| a.queues.contains(&q.name))
                    .map(|q| q.id.clone())
                    .collect()
            },
        })
        .collect();
    for i in 0..scenario.generate.agents {
        let queue = all_queue_ids[i as usize % all_queue_ids.len()].clone();
        agents.push(AgentInfo {
            id: new_id(rng),
            name: format!("Agent {:04}", i + 1),
            queue_ids: vec![queue],
        });
    }
    for queue in &mut queues {
        queue.member_count = agents
            .iter()
            .filter(|a| a.queue_ids.contains(&queue.id))
            .count() as i64;
    }
    World::new(queues, agents)
}

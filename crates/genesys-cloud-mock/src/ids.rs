//! Ids and the seeded random generator: a seed gives the same world, ids included.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub(super) fn new_id(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

pub(super) fn seeded(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

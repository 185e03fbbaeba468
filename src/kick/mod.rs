//! The kick: remove one participant from a live call, safely and as fast as the platform allows.

pub mod machine;
pub mod progress;

pub use progress::{Outcome, OutcomeKind, Progress, Step, Target};

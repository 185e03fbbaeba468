//! The kick: remove one participant from a live call, safely and as fast as the platform allows.

pub mod audit;
pub mod driver;
pub mod lock;
pub mod machine;
pub mod manager;
pub mod progress;
pub mod safety;

pub use driver::KickOptions;
pub use manager::KickManager;
pub use progress::{Outcome, OutcomeKind, Progress, Step, Target};

//! The kick: remove one participant from a live call, safely and as fast as the platform allows.

pub(crate) mod audit;
pub(crate) mod claims;
pub(crate) mod driver;
pub(crate) mod lock;
pub(crate) mod machine;
pub(crate) mod manager;
pub(crate) mod policy;
pub(crate) mod progress;
pub(crate) mod safety;

// The facade: what the binary, the tests and the benches use; the rest is the crate's own.
pub use driver::{EventSource, KickOptions, KickRequest, run};
pub use lock::LockHistory;
pub use machine::Wanted;
pub use manager::KickManager;
pub use policy::lock_offset;
pub use progress::{Outcome, OutcomeKind, Progress, Step, Target};
pub use safety::{Assessment, Risk, assess};

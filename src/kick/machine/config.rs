//! A kick job's limits: the strategy, the lock plan learned, and the waits and deadlines.

use std::time::Duration;

use crate::config::Strategy;
use crate::kick::lock::LockPlan;
use crate::kick::policy::{self, Backoff};

/// Limits of one job.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineConfig {
    pub(crate) strategy: Strategy,
    /// When to retry after a 409 and a settle, learned from earlier kicks (None: the backoff).
    pub(crate) lock_plan: Option<LockPlan>,
    /// How long to wait for the target's leg to settle.
    pub(crate) wait_timeout: Duration,
    /// PATCHes the lock (409) may refuse before the job gives up; server errors and lost
    /// answers are bounded by the deadline instead.
    pub(crate) max_attempts: u32,
    /// The whole job gives up after this.
    pub(crate) deadline: Duration,
    /// A 409 without live events: back off, then re-read.
    pub(crate) backoff: Backoff,
    /// The retry rule for a platform in trouble (5xx, no answer): see `policy::TROUBLE`.
    pub(crate) trouble: Backoff,
    /// After a 202, how long to wait for the event that shows the leg gone before reading.
    pub(crate) verify_grace: Duration,
    /// While waiting, re-read only when no event about the call came for this long (events can
    /// be lost; this is not polling while events flow).
    pub(crate) quiet_reread: Duration,
    /// Skip the safety rules (customer/external, last other party).
    pub(crate) force: bool,
    /// The driver's: where per-call claims of other kicks are kept (`kick::claims`); None: none.
    pub(crate) claims_dir: Option<std::path::PathBuf>,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            strategy: Strategy::Eager,
            lock_plan: None,
            wait_timeout: policy::WAIT_TIMEOUT,
            max_attempts: policy::MAX_ATTEMPTS,
            deadline: policy::DEADLINE,
            backoff: policy::LOCK_BACKOFF,
            trouble: policy::TROUBLE,
            verify_grace: policy::VERIFY_GRACE,
            quiet_reread: policy::QUIET_REREAD,
            force: false,
            claims_dir: None,
        }
    }
}

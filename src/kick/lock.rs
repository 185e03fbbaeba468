//! The platform's transition lock (the 409 "Participant cannot be removed at this time" that
//! follows a leg's change), learned from 409 → 202 history: when, after a leg settled, the
//! platform still refused, and when it accepted. The console keeps the history in memory; the
//! `confwatch kick` command keeps it in the state directory so that separate runs learn too.
//! Kept per org (each may have its own lock), a few kicks each, read robustly: one odd sample
//! (a slow platform, a clock jump) does not move every later kick.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub(crate) use crate::kick::policy::HISTORY_LEN;
use crate::kick::policy::{
    HISTORY_ORGS, MARGIN, MAX_LEARNED, PLAUSIBLE, ROBUST_FROM, VARIES, VARIES_FROM,
};

const PLAUSIBLE_MS: u64 = PLAUSIBLE.as_millis() as u64;
/// The history file is tiny; a bigger one is not ours and is not read.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// One kick that met the lock: after the leg's last change (the settle), the latest PATCH the
/// platform refused (if any was sent after the settle) and the PATCH it accepted, as offsets from
/// the settle. The lock ended between the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockSample {
    pub(crate) refused_ms: Option<u64>,
    pub(crate) accepted_ms: u64,
}

impl LockSample {
    fn plausible(&self) -> bool {
        self.accepted_ms <= PLAUSIBLE_MS
            && self
                .refused_ms
                .is_none_or(|r| r <= PLAUSIBLE_MS && r <= self.accepted_ms)
    }
}

/// When to retry after a settle, learned: `first`, then (if refused) `fallback`, then the
/// exponential backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LockPlan {
    pub(crate) first: Duration,
    pub(crate) fallback: Duration,
}

impl LockPlan {
    /// The lock's end is known within a few ms (a steady lock, its bracket narrowed): worth
    /// waiting for before any PATCH. A wide bracket is still being learned, and a kick that
    /// waits for it would never see the lock end sooner (no refusal, no lesson).
    pub(crate) fn narrow(&self) -> bool {
        self.fallback <= self.first + 2 * MARGIN
    }
}

/// The plan from a history (oldest first); None without history. The lock ended after the
/// longest refusal `lo` and before the shortest acceptance `hi` seen: while that bracket is wide,
/// the first retry is its middle (each kick halves it, at the cost of at most one more PATCH,
/// retried at `hi` which is known to pass); once narrow, it is `lo` + a small margin. With
/// [`ROBUST_FROM`] samples or more, the most extreme one on each side is left out when it lies
/// far from the rest: one odd kick does not set the plan. A lock that varies (see
/// [`VARIES`]) has no plan: the schedule without history serves it.
pub(crate) fn plan(samples: &[LockSample]) -> Option<LockPlan> {
    let samples: Vec<&LockSample> = samples.iter().filter(|s| s.plausible()).collect();
    let mut accepted: Vec<u64> = samples.iter().map(|s| s.accepted_ms).collect();
    accepted.sort_unstable();
    let mut refused: Vec<u64> = samples.iter().filter_map(|s| s.refused_ms).collect();
    refused.sort_unstable_by(|a, b| b.cmp(a));
    // The most extreme sample is an outlier when far from the next one (a quarter of it, at
    // least 50 ms): then it is left out.
    let robust = |sorted: &[u64]| -> Option<u64> {
        let (first, next) = (*sorted.first()?, sorted.get(1).copied());
        match next {
            Some(next)
                if sorted.len() >= ROBUST_FROM && first.abs_diff(next) > (next / 4).max(50) =>
            {
                Some(next)
            }
            _ => Some(first),
        }
    };
    let hi = robust(&accepted)?;
    let lo = robust(&refused);
    let margin = MARGIN.as_millis() as u64;
    // A lock that varies from call to call: no one time to learn (fewer samples than that read
    // a late refusal as a lock that grew, below).
    if samples.len() >= VARIES_FROM && lo.is_some_and(|lo| lo > hi + VARIES.as_millis() as u64) {
        return None;
    }
    let first = match lo {
        // A refusal later than an acceptance: the lock varies; trust the refusal.
        Some(lo) if lo + margin >= hi => lo + margin,
        Some(lo) if hi - lo > 2 * margin => lo + (hi - lo) / 2,
        Some(lo) => lo + margin,
        // Never refused after a settle: probe below the shortest acceptance.
        None => hi / 2,
    };
    let cap = MAX_LEARNED.as_millis() as u64;
    let fallback = hi.max(first + margin);
    Some(LockPlan {
        first: Duration::from_millis(first.min(cap)),
        fallback: Duration::from_millis(fallback.min(cap)),
    })
}

/// The recent samples of each org (see `Client::lock_key`), newest last, at most
/// [`HISTORY_LEN`] each and [`HISTORY_ORGS`] orgs (the one used least recently goes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHistory {
    orgs: VecDeque<OrgLocks>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct OrgLocks {
    key: String,
    samples: VecDeque<LockSample>,
}

impl LockHistory {
    pub(crate) fn push(&mut self, key: &str, sample: LockSample) {
        if !sample.plausible() {
            return;
        }
        let index = match self.orgs.iter().position(|o| o.key == key) {
            Some(index) => index,
            None => {
                self.orgs.push_back(OrgLocks {
                    key: crate::text::clip(key, 200),
                    samples: VecDeque::new(),
                });
                self.orgs.len() - 1
            }
        };
        // The org used last goes to the back: the front is forgotten first.
        if let Some(mut org) = self.orgs.remove(index) {
            org.samples.push_back(sample);
            while org.samples.len() > HISTORY_LEN {
                org.samples.pop_front();
            }
            self.orgs.push_back(org);
        }
        while self.orgs.len() > HISTORY_ORGS {
            self.orgs.pop_front();
        }
    }

    /// The plan for the org `key`, from its own kicks only.
    pub(crate) fn plan(&self, key: &str) -> Option<LockPlan> {
        let org = self.orgs.iter().find(|o| o.key == key)?;
        let samples: Vec<LockSample> = org.samples.iter().copied().collect();
        plan(&samples)
    }

    /// Every org's samples, oldest org first.
    pub fn samples(&self) -> Vec<LockSample> {
        self.orgs
            .iter()
            .flat_map(|o| o.samples.iter().copied())
            .collect()
    }

    /// Reads a history file. Missing, too big, corrupt or hostile: an empty history (a warning
    /// in the log), never an error that stops a kick; implausible samples are dropped and only
    /// the newest [`HISTORY_LEN`] kept.
    pub fn load(path: &Path) -> LockHistory {
        // A FIFO, a device or a huge file is refused before it is read (a FIFO would block).
        let text = match untrusted_input::read_capped(path, MAX_FILE_BYTES) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return LockHistory::default(),
            Err(e) => {
                tracing::warn!("lock history: {e}; starting afresh");
                return LockHistory::default();
            }
        };
        match serde_json::from_str::<LockHistory>(&text) {
            Ok(loaded) => {
                let mut history = LockHistory::default();
                for org in loaded.orgs {
                    for sample in org.samples {
                        history.push(&org.key, sample);
                    }
                }
                history
            }
            Err(e) => {
                tracing::warn!("lock history {}: {e}; starting afresh", path.display());
                LockHistory::default()
            }
        }
    }

    /// Saves the history to `path` if it differs from `before` (what was loaded); a failure is a
    /// warning in the log, never a failed kick.
    pub(crate) fn save_if_changed(&self, before: &LockHistory, path: &Path) {
        if self != before
            && let Err(e) = self.save(path)
        {
            tracing::warn!("lock history {}: {e}", path.display());
        }
    }

    /// Writes the history (a temporary file renamed over the old one: never half written).
    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    }
}

/// The default history file: `confwatch/lock-history.json` in the user's state directory.
pub(crate) fn default_history_path() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("confwatch")
        .join("lock-history.json")
}

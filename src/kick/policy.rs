//! Every number of the kick, once: the flags' defaults, the machine's limits, the retry rule
//! for a platform in trouble, the transition lock's schedule and what its history may teach.
//! The one backoff (full jitter) they use is `platform::retry::Backoff`, shared with the feed
//! and the socket reconnects.

use std::time::Duration;

pub(crate) use crate::platform::retry::Backoff;

/// How long to wait for the target's leg to settle (`--wait-timeout`).
pub(crate) const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// PATCHes the platform may refuse for a reason of its own (the lock's 409) before the kick
/// gives up (`--max-attempts`). Server errors and lost answers do not count: the deadline
/// bounds them.
pub(crate) const MAX_ATTEMPTS: u32 = 8;
/// The whole job gives up after this (`--deadline`).
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);
/// The flags' defaults as clap reads them (kept beside the numbers they spell).
pub(crate) const WAIT_TIMEOUT_ARG: &str = "30s";
pub(crate) const DEADLINE_ARG: &str = "60s";

/// The end of the deadline kept to learn a PATCH's fate: no PATCH leaves inside it. A quarter
/// of the deadline, at most this.
pub(crate) const MAX_RESERVE: Duration = Duration::from_secs(2);

/// The one retry rule of a kick's requests (the token, reads, the PATCH, the channel): 5xx
/// other than 501, connection errors and timeouts are retried from this base, with full jitter,
/// up to the cap, a 5xx's `Retry-After` as a floor, until the kick's deadline. Short, because a
/// supervisor is waiting; capped low, because the deadline, not a count, ends it.
pub(crate) const TROUBLE: Backoff = Backoff {
    base: Duration::from_millis(150),
    cap: Duration::from_millis(1500),
};

/// A PATCH whose answer was lost may have been applied: the read that checks waits at least
/// this (the platform applies a PATCH after its 202; how long it takes is not documented, the
/// mock's 60-180 ms is a guess: see the mock's docs/platform.md).
pub(crate) const LOST_ANSWER_CHECK: Duration = Duration::from_millis(400);
/// A 409 without live events: back off from this, then re-read the leg.
pub(crate) const LOCK_BACKOFF: Backoff = Backoff {
    base: Duration::from_millis(100),
    cap: Duration::from_secs(5),
};
/// The notification channel of a kick, when it could not be opened: retried in the background
/// (never delaying the PATCH), slower than the kick's own requests so that an outage costs few.
pub(crate) const CHANNEL_RETRY: Backoff = Backoff {
    base: Duration::from_millis(400),
    cap: Duration::from_secs(4),
};

/// After an accepted PATCH, how long to wait for the event that shows the leg gone before a
/// read checks (with live events).
pub(crate) const VERIFY_GRACE: Duration = Duration::from_secs(1);
/// Verification reads without live events (no channel open): soon after the 202 and then
/// growing slowly (the platform applies a removal within a few hundred ms).
pub(crate) const VERIFY_UNHEARD: Backoff = Backoff {
    base: Duration::from_millis(250),
    cap: Duration::from_millis(1500),
};
/// A verification read that failed (5xx, no answer) is retried on this shorter schedule: a
/// GET is cheap, and the removal is likely done; a run of failures must not hold the outcome
/// for seconds.
pub(crate) const VERIFY_RETRY: Backoff = Backoff {
    base: Duration::from_millis(100),
    cap: Duration::from_millis(500),
};
/// With live events, verification reads back off from the grace up to this.
pub(crate) const VERIFY_CAP: Duration = Duration::from_secs(5);
/// While waiting on events, re-read only when no event about the call came for this long
/// (events can be lost; this is not polling while events flow).
pub(crate) const QUIET_REREAD: Duration = Duration::from_secs(5);

/// The transition lock without history: retries anchored on the leg's settle (its last change),
/// at `FIRST`, then each `RATIO` times later (a geometric schedule: the lock's length is unknown,
/// so each wait is a fixed share of the time already spent, and a long lock costs a few PATCHes,
/// not dozens). `FIRST` is the shipped prior: the field reports' lock is a few hundred ms.
pub(crate) const LOCK_FIRST: Duration = Duration::from_millis(300);
pub(crate) const LOCK_RATIO: f64 = 1.4;
/// Two PATCHes of one kick never leave closer than this (a schedule point already passed is
/// not a reason to fire again at once).
pub(crate) const LOCK_FLOOR: Duration = Duration::from_millis(60);
/// Retries at learned times after a settle, before the schedule without history takes over.
pub(crate) const LEARNED_TRIES: u32 = 4;

/// Kicks remembered per org (the newest win): a short memory follows a lock that changes.
pub(crate) const HISTORY_LEN: usize = 16;
/// Orgs remembered in the history file (the one used least recently is forgotten).
pub(crate) const HISTORY_ORGS: usize = 8;
/// From this many samples on, the plan leaves out the most extreme sample on each side when it
/// lies far from the others (an outlier).
pub(crate) const ROBUST_FROM: usize = 5;
/// With [`VARIES_FROM`] samples or more, a lock refused this much later than it was accepted in
/// other kicks (outliers left out from [`ROBUST_FROM`] on) varies from call to call: what is
/// learned is a range, not a time, and the schedule without history serves it better than any
/// one learned time (measured in `benches/kick_latency.rs`: about 70 ms beyond against 110-220
/// ms). Told early: a lock taken for varying costs what a first kick costs; a varying lock taken
/// for steady costs twice that.
pub(crate) const VARIES: Duration = Duration::from_millis(100);
pub(crate) const VARIES_FROM: usize = 3;
/// A learned wait is never longer than this; past it the kick follows the schedule.
pub(crate) const MAX_LEARNED: Duration = Duration::from_secs(2);
/// Beyond the longest refusal seen, the first retry waits this much more (timer and event
/// delivery vary by a few milliseconds).
pub(crate) const MARGIN: Duration = Duration::from_millis(8);
/// A sample beyond this is not a lock (a slow platform, a clock jump, a hostile file): ignored.
pub(crate) const PLAUSIBLE: Duration = Duration::from_secs(10);

/// The schedule without history, as an offset from the settle: retry number `k` (0 first).
pub fn lock_offset(k: u32) -> Duration {
    // Whole milliseconds: the schedule's points are plain numbers in the log and the tests.
    let ms = LOCK_FIRST.as_millis() as f64 * LOCK_RATIO.powi(k.min(30) as i32);
    Duration::from_millis(ms.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_grows_to_its_cap_and_jitters_below_it() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(4), Duration::from_secs(1));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(1));
        assert_eq!(b.delay(2, 0.5), Duration::from_millis(200));
        assert_eq!(
            b.delay(2, 7.0),
            Duration::from_millis(400),
            "jitter clamped"
        );
        assert_eq!(b.delay(2, 0.0), Duration::ZERO);
    }

    #[test]
    fn the_lock_schedule_grows_geometrically_from_the_settle() {
        let offsets: Vec<u64> = (0..5).map(|k| lock_offset(k).as_millis() as u64).collect();
        assert_eq!(offsets[0], 300);
        for pair in offsets.windows(2) {
            assert!(pair[1] > pair[0] && pair[1] - pair[0] >= LOCK_FLOOR.as_millis() as u64);
        }
        // A 1.5 s lock is passed within the first 7 retries; a 400 ms one by the second.
        assert!(lock_offset(1) >= Duration::from_millis(400));
        assert!(lock_offset(5) >= Duration::from_millis(1500));
        assert!(lock_offset(u32::MAX) < Duration::from_secs(86_400 * 365));
    }
}

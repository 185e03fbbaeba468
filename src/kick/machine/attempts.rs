//! The requests of one kick job: the PATCH attempts and how the platform answered them.

use crate::platform::conversations::PatchPath;

/// The job's tally of requests and PATCH attempts: how many went, how many the lock refused,
/// whether one was (or may have been) applied, and the endpoint they go to.
#[derive(Clone, Debug)]
pub(super) struct Attempts {
    /// The endpoint the next PATCH goes to (`/calls/` until the platform turns it down).
    pub(super) path: PatchPath,
    /// PATCHes sent (the number of the latest attempt).
    pub(super) count: u32,
    /// Requests of any kind sent (reads and PATCHes), for the outcome.
    pub(super) requests: u32,
    /// PATCHes the lock refused (409), against `max_attempts`.
    pub(super) refusals: u32,
    /// The platform accepted a removal (a 202): from then on it may have happened.
    pub(super) patched: bool,
    /// A PATCH got no answer (timeout, connection lost, 504): it may have worked. A leg then
    /// seen gone is verified as our removal, not reported as already gone.
    pub(super) maybe_patched: bool,
    /// The first attempt whose answer never came (it may have been applied).
    pub(super) lost_answer: Option<u32>,
}

impl Default for Attempts {
    fn default() -> Self {
        Attempts {
            path: PatchPath::Calls,
            count: 0,
            requests: 0,
            refusals: 0,
            patched: false,
            maybe_patched: false,
            lost_answer: None,
        }
    }
}

impl Attempts {
    /// A PATCH leaves: returns its number.
    pub(super) fn patch_sent(&mut self) -> u32 {
        self.count += 1;
        self.requests += 1;
        self.count
    }

    /// A PATCH that never left: the attempt is taken back, so nothing "may have happened".
    pub(super) fn take_back(&mut self) {
        self.count -= 1;
        self.requests -= 1;
    }

    /// The latest PATCH's answer never came: it may have been applied.
    pub(super) fn answer_lost(&mut self) {
        self.maybe_patched = true;
        self.lost_answer.get_or_insert(self.count);
    }

    /// Whether a PATCH was accepted or may have been applied.
    pub(super) fn may_have_worked(&self) -> bool {
        self.patched || self.maybe_patched
    }
}

//! Fault switches: set by a scenario, read and changed at run time through `/mock/faults`.
//! Each platform behaviour simulated here has its source and certainty in `docs/platform.md`.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Upper bounds of the fault numbers (a day, an hour of delay, two days of token).
const DAY_SECS: u64 = 86_400;
const MAX_DELAY_MS: u64 = 3_600_000;
const MAX_TOKEN_LIFETIME_SECS: u64 = 2 * DAY_SECS;

/// The 409 transition lock of the field reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TransitionLock {
    pub(crate) enabled: bool,
    /// Which legs the lock holds (the reports do not say; each shape is a guess).
    pub(crate) mode: LockMode,
    /// A leg that changed state less than this long ago cannot be removed yet.
    pub(crate) settle_ms: u64,
    /// When above `settle_ms`: each call's lock lasts a length drawn from `settle_ms` to this
    /// (fixed per call), a lock that varies; 0 = always `settle_ms`.
    pub(crate) settle_max_ms: u64,
}

/// The lock's shapes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LockMode {
    /// Ringing (unsettled) legs, and for `settleMs` after any change.
    #[default]
    Always,
    /// Only for `settleMs` after a change; never a ringing leg.
    AfterChange,
}

impl Default for TransitionLock {
    fn default() -> Self {
        TransitionLock {
            enabled: false,
            mode: LockMode::Always,
            settle_ms: 300,
            settle_max_ms: 0,
        }
    }
}

impl TransitionLock {
    /// Whether a disconnect of a leg of `call_id` is refused (409): `unsettled` (ringing and
    /// the like), its last change `since_change` ago.
    pub(crate) fn refuses(&self, call_id: &str, unsettled: bool, since_change: Duration) -> bool {
        if !self.enabled {
            return false;
        }
        let recent = since_change < self.settle_for(call_id);
        match self.mode {
            LockMode::Always => unsettled || recent,
            LockMode::AfterChange => !unsettled && recent,
        }
    }

    /// The lock's length for one call: fixed, or drawn once per call from the range.
    fn settle_for(&self, call_id: &str) -> Duration {
        use std::hash::{Hash, Hasher};
        if self.settle_max_ms <= self.settle_ms {
            return Duration::from_millis(self.settle_ms);
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        call_id.hash(&mut hasher);
        let span = self.settle_max_ms - self.settle_ms + 1;
        Duration::from_millis(self.settle_ms + hasher.finish() % span)
    }
}

/// A mark on a response whose connection is closed instead (`lostAnswerRate`): the request
/// was applied, its answer never arrives. The listener acts on it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LostAnswer;

/// The request was applied and the connection closed without an answer (`lostAnswerRate`).
#[derive(Debug)]
pub(crate) struct AnswerDropped;

impl std::fmt::Display for AnswerDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the answer was dropped (lostAnswerRate)")
    }
}

impl std::error::Error for AnswerDropped {}

/// What the generic participant PATCH answers for a leg that has already left: both codes are
/// in the path's documented error list, which one the platform uses for this case is a guess.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum GoneLegCode {
    /// 400 `conversation.error.participant.no.active.conversations`.
    #[default]
    NoActiveConversations,
    /// 400 `conversation.error.cannot.disconnect.call`.
    CannotDisconnectCall,
}

/// Every fault switch. `0` means off where that makes sense.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every API answer.
    pub(crate) latency_ms: u64,
    /// Up to this much more, at random, per request.
    pub(crate) jitter_ms: u64,
    /// Delay between a change and its WebSocket frame.
    pub(crate) event_latency_ms: u64,
    pub(crate) transition_lock: TransitionLock,
    /// Requests per token per rate window; 0 = unlimited. (The platform's window is a minute,
    /// hence the name.)
    pub rate_limit_per_minute: u32,
    /// Length of the fixed rate window, 1 to 3600 s: the platform's is 60; tests shorten it so a
    /// 429's `Retry-After` does not hold them up for a minute.
    pub(crate) rate_limit_window_secs: u64,
    /// Share of API requests (0.0 to 1.0) answered with `server_error_status`.
    pub(crate) server_error_rate: f64,
    /// 500, 502, 503 or 504.
    pub(crate) server_error_status: u16,
    /// An outage: for this long from when it is set (from the first request, in a scenario),
    /// every answer, the token endpoint's included, is `outage_status`; 0 = none.
    pub(crate) outage_for_ms: u64,
    /// 500, 502, 503 or 504.
    pub(crate) outage_status: u16,
    /// When the outage began (set with `outage_for_ms`).
    #[serde(skip)]
    pub(crate) outage_since: Option<Instant>,
    /// Share of participant PATCHes (0.0 to 1.0) applied and then left without an answer: the
    /// connection is closed.
    pub(crate) lost_answer_rate: f64,
    /// Close every socket this long after it connected; 0 = never.
    pub(crate) socket_drop_after_secs: u64,
    /// Send `v2.system.socket_closing` before a drop.
    pub(crate) socket_closing_notice: bool,
    /// This long after a socket connected, its channel gets the system message
    /// `no_longer_subscribed` (reason `another_channel_subscribed`) and delivers nothing more
    /// (heartbeats go on); 0 = never.
    pub(crate) no_longer_subscribed_after_secs: u64,
    /// This long after a socket connected, every token of its client is revoked, the socket
    /// gets `token_revoked` (reason `user_tokens_revoked`) and its channel is gone; 0 = never.
    pub(crate) token_revoked_after_secs: u64,
    /// `expires_in` of new tokens.
    pub(crate) token_lifetime_secs: u64,
    /// Interval of the `channel.metadata` heartbeats.
    pub(crate) heartbeat_secs: u64,
    /// The `/calls/` participant PATCH answers 400 `not.a.user` (as the 2018 spec documents for
    /// client credentials), so a client must fall back to the media-agnostic path.
    pub(crate) calls_path_not_a_user: bool,
    /// The analytics details query sees the world this many seconds late: a call shows there
    /// that long after it starts, and still shows as going that long after it ends.
    pub(crate) analytics_lag_secs: u64,
    /// The details query answers 400 `response.entity.too.large` ("The response is over the
    /// size limit. Reduce pageSize ...") when its answer would be longer than this many bytes;
    /// 0 = no limit. The platform's limit is not documented.
    pub(crate) analytics_response_limit_bytes: u64,
    /// The generic participant PATCH's answer for a leg that has left (an unconfirmed guess,
    /// so a test can run both ways).
    pub(crate) generic_gone_leg_code: GoneLegCode,
    /// How long a channel lives unless subscribed again (the platform's 24 h; shorter in tests).
    pub(crate) channel_lifetime_secs: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency_ms: 0,
            jitter_ms: 0,
            event_latency_ms: 0,
            transition_lock: TransitionLock::default(),
            rate_limit_per_minute: 300,
            rate_limit_window_secs: 60,
            server_error_rate: 0.0,
            server_error_status: 503,
            outage_for_ms: 0,
            outage_status: 503,
            outage_since: None,
            lost_answer_rate: 0.0,
            socket_drop_after_secs: 0,
            socket_closing_notice: true,
            no_longer_subscribed_after_secs: 0,
            token_revoked_after_secs: 0,
            token_lifetime_secs: 86_400,
            heartbeat_secs: 30,
            calls_path_not_a_user: false,
            analytics_lag_secs: 0,
            analytics_response_limit_bytes: 0,
            generic_gone_leg_code: GoneLegCode::default(),
            channel_lifetime_secs: DAY_SECS,
        }
    }
}

/// The body of `PUT /mock/faults`: only the fields it names change.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FaultsPatch {
    pub(crate) latency_ms: Option<u64>,
    pub(crate) jitter_ms: Option<u64>,
    pub(crate) event_latency_ms: Option<u64>,
    pub(crate) transition_lock: Option<TransitionLockPatch>,
    pub(crate) rate_limit_per_minute: Option<u32>,
    pub(crate) rate_limit_window_secs: Option<u64>,
    pub(crate) server_error_rate: Option<f64>,
    pub(crate) server_error_status: Option<u16>,
    pub(crate) outage_for_ms: Option<u64>,
    pub(crate) outage_status: Option<u16>,
    pub(crate) lost_answer_rate: Option<f64>,
    pub(crate) socket_drop_after_secs: Option<u64>,
    pub(crate) socket_closing_notice: Option<bool>,
    pub(crate) no_longer_subscribed_after_secs: Option<u64>,
    pub(crate) token_revoked_after_secs: Option<u64>,
    pub(crate) token_lifetime_secs: Option<u64>,
    pub(crate) heartbeat_secs: Option<u64>,
    pub(crate) calls_path_not_a_user: Option<bool>,
    pub(crate) analytics_lag_secs: Option<u64>,
    pub(crate) analytics_response_limit_bytes: Option<u64>,
    pub(crate) generic_gone_leg_code: Option<GoneLegCode>,
    pub(crate) channel_lifetime_secs: Option<u64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TransitionLockPatch {
    pub(crate) enabled: Option<bool>,
    pub(crate) mode: Option<LockMode>,
    pub(crate) settle_ms: Option<u64>,
    pub(crate) settle_max_ms: Option<u64>,
}

impl Faults {
    /// Checks values a client could get wrong; the message names the field.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.server_error_rate) {
            return Err("serverErrorRate must be between 0.0 and 1.0".into());
        }
        if !matches!(self.server_error_status, 500 | 502 | 503 | 504) {
            return Err("serverErrorStatus must be 500, 502, 503 or 504".into());
        }
        if !matches!(self.outage_status, 500 | 502 | 503 | 504) {
            return Err("outageStatus must be 500, 502, 503 or 504".into());
        }
        if !(0.0..=1.0).contains(&self.lost_answer_rate) {
            return Err("lostAnswerRate must be between 0.0 and 1.0".into());
        }
        if !(1..=3600).contains(&self.rate_limit_window_secs) {
            return Err("rateLimitWindowSecs must be between 1 and 3600".into());
        }
        if !(1..=DAY_SECS).contains(&self.channel_lifetime_secs) {
            return Err(format!(
                "channelLifetimeSecs must be between 1 and {DAY_SECS}"
            ));
        }
        if self.analytics_lag_secs > 60 {
            return Err("analyticsLagSecs must be at most 60".into());
        }
        if !(1..=MAX_TOKEN_LIFETIME_SECS).contains(&self.token_lifetime_secs) {
            return Err(format!(
                "tokenLifetimeSecs must be between 1 and {MAX_TOKEN_LIFETIME_SECS}"
            ));
        }
        // Every number becomes a `Duration` added to an `Instant`: bounded so none can overflow.
        for (name, value, max) in [
            ("latencyMs", self.latency_ms, MAX_DELAY_MS),
            ("jitterMs", self.jitter_ms, MAX_DELAY_MS),
            ("eventLatencyMs", self.event_latency_ms, MAX_DELAY_MS),
            (
                "transitionLock.settleMs",
                self.transition_lock.settle_ms,
                MAX_DELAY_MS,
            ),
            (
                "transitionLock.settleMaxMs",
                self.transition_lock.settle_max_ms,
                MAX_DELAY_MS,
            ),
            ("outageForMs", self.outage_for_ms, MAX_DELAY_MS),
            ("socketDropAfterSecs", self.socket_drop_after_secs, DAY_SECS),
            (
                "noLongerSubscribedAfterSecs",
                self.no_longer_subscribed_after_secs,
                DAY_SECS,
            ),
            (
                "tokenRevokedAfterSecs",
                self.token_revoked_after_secs,
                DAY_SECS,
            ),
            ("heartbeatSecs", self.heartbeat_secs, 3_600),
        ] {
            if value > max {
                return Err(format!("{name} must be at most {max}, got {value}"));
            }
        }
        Ok(())
    }

    /// The outage's status if one is running at `now` (a scenario's starts at the first request).
    pub(crate) fn outage_at(&mut self, now: Instant) -> Option<u16> {
        if self.outage_for_ms == 0 {
            return None;
        }
        let since = *self.outage_since.get_or_insert(now);
        (now.saturating_duration_since(since) < Duration::from_millis(self.outage_for_ms))
            .then_some(self.outage_status)
    }

    /// The faults after `patch`, or why the result would be invalid.
    pub(crate) fn patched(&self, patch: FaultsPatch) -> Result<Faults, String> {
        let mut next = self.clone();
        macro_rules! take {
            ($($field:ident),*) => { $(if let Some(v) = patch.$field { next.$field = v; })* };
        }
        take!(
            latency_ms,
            jitter_ms,
            event_latency_ms,
            rate_limit_per_minute,
            rate_limit_window_secs,
            server_error_rate,
            server_error_status,
            outage_for_ms,
            outage_status,
            lost_answer_rate,
            socket_drop_after_secs,
            socket_closing_notice,
            no_longer_subscribed_after_secs,
            token_revoked_after_secs,
            token_lifetime_secs,
            heartbeat_secs,
            calls_path_not_a_user,
            analytics_lag_secs,
            analytics_response_limit_bytes,
            generic_gone_leg_code,
            channel_lifetime_secs
        );
        if let Some(lock) = patch.transition_lock {
            if let Some(enabled) = lock.enabled {
                next.transition_lock.enabled = enabled;
            }
            if let Some(settle_ms) = lock.settle_ms {
                next.transition_lock.settle_ms = settle_ms;
            }
            if let Some(mode) = lock.mode {
                next.transition_lock.mode = mode;
            }
            if let Some(settle_max_ms) = lock.settle_max_ms {
                next.transition_lock.settle_max_ms = settle_max_ms;
            }
        }
        if patch.outage_for_ms.is_some() {
            // The outage runs from now.
            next.outage_since = Some(Instant::now());
        }
        next.validate()?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_changes_only_named_fields() {
        let patch: FaultsPatch =
            serde_json::from_str(r#"{"rateLimitPerMinute":5,"transitionLock":{"enabled":true}}"#)
                .unwrap();
        let next = Faults::default().patched(patch).unwrap();
        assert_eq!(next.rate_limit_per_minute, 5);
        assert!(next.transition_lock.enabled);
        assert_eq!(next.transition_lock.settle_ms, 300);
        assert_eq!(next.latency_ms, 0);
    }

    #[test]
    fn invalid_values_are_refused() {
        let patch: FaultsPatch = serde_json::from_str(r#"{"serverErrorRate":2.0}"#).unwrap();
        assert!(Faults::default().patched(patch).is_err());
        assert!(serde_json::from_str::<FaultsPatch>(r#"{"bogus":1}"#).is_err());
        for window in [0, 3601] {
            let patch: FaultsPatch =
                serde_json::from_str(&format!(r#"{{"rateLimitWindowSecs":{window}}}"#)).unwrap();
            let refused = Faults::default().patched(patch).unwrap_err();
            assert!(refused.contains("rateLimitWindowSecs"), "{refused}");
        }
    }

    #[test]
    fn huge_numbers_are_refused_naming_the_field() {
        for field in [
            "latencyMs",
            "jitterMs",
            "eventLatencyMs",
            "socketDropAfterSecs",
            "noLongerSubscribedAfterSecs",
            "tokenRevokedAfterSecs",
            "tokenLifetimeSecs",
            "heartbeatSecs",
        ] {
            let patch: FaultsPatch =
                serde_json::from_str(&format!(r#"{{"{field}":{}}}"#, u64::MAX)).unwrap();
            let refused = Faults::default().patched(patch).unwrap_err();
            assert!(refused.contains(field), "{refused}");
        }
        let patch: FaultsPatch = serde_json::from_str(&format!(
            r#"{{"transitionLock":{{"settleMs":{}}}}}"#,
            u64::MAX
        ))
        .unwrap();
        assert!(Faults::default().patched(patch).is_err());
    }

    #[test]
    fn an_outage_runs_from_when_it_is_set_for_its_length() {
        let patch: FaultsPatch =
            serde_json::from_str(r#"{"outageForMs":500,"outageStatus":502}"#).unwrap();
        let mut faults = Faults::default().patched(patch).unwrap();
        let since = faults.outage_since.expect("set now");
        assert_eq!(faults.outage_at(since), Some(502));
        assert_eq!(
            faults.outage_at(since + Duration::from_millis(499)),
            Some(502)
        );
        assert_eq!(faults.outage_at(since + Duration::from_millis(500)), None);
        for bad in [
            r#"{"outageStatus":501}"#,
            r#"{"lostAnswerRate":1.5}"#,
            r#"{"outageForMs":18446744073709551615}"#,
        ] {
            let patch: FaultsPatch = serde_json::from_str(bad).unwrap();
            assert!(Faults::default().patched(patch).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_lock_has_shapes_and_a_length_per_call() {
        let lock = |json: &str| {
            let patch: FaultsPatch = serde_json::from_str(json).unwrap();
            Faults::default().patched(patch).unwrap().transition_lock
        };
        let ms = Duration::from_millis;
        let always = lock(r#"{"transitionLock":{"enabled":true,"settleMs":400}}"#);
        assert!(always.refuses("c", true, ms(5000)), "ringing");
        assert!(always.refuses("c", false, ms(399)));
        assert!(!always.refuses("c", false, ms(400)));
        let after = lock(r#"{"transitionLock":{"enabled":true,"mode":"after_change"}}"#);
        assert!(!after.refuses("c", true, ms(0)), "never a ringing leg");
        assert!(after.refuses("c", false, ms(299)));
        let off = lock(r#"{"transitionLock":{"enabled":false}}"#);
        assert!(!off.refuses("c", true, ms(0)));
        let varying =
            lock(r#"{"transitionLock":{"enabled":true,"settleMs":200,"settleMaxMs":800}}"#);
        let lengths: Vec<Duration> = (0..40)
            .map(|n| varying.settle_for(&format!("call-{n}")))
            .collect();
        assert!(lengths.iter().all(|l| *l >= ms(200) && *l <= ms(800)));
        assert!(
            lengths.iter().any(|l| *l != lengths[0]),
            "it varies by call"
        );
        assert_eq!(varying.settle_for("call-1"), varying.settle_for("call-1"));
    }

    #[test]
    fn rate_window_defaults_to_a_minute_and_can_be_shortened() {
        assert_eq!(Faults::default().rate_limit_window_secs, 60);
        for window in [1, 2, 3600] {
            let patch: FaultsPatch =
                serde_json::from_str(&format!(r#"{{"rateLimitWindowSecs":{window}}}"#)).unwrap();
            let next = Faults::default().patched(patch).unwrap();
            assert_eq!(next.rate_limit_window_secs, window);
            assert_eq!(next.rate_limit_per_minute, 300, "the limit itself stays");
        }
        let shown = serde_json::to_value(Faults::default()).unwrap();
        assert_eq!(shown["rateLimitWindowSecs"], 60);
    }
}

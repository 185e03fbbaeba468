//! Scenario files (TOML): the world the mock starts with, how it moves, and its faults.
//! The format is documented in README.md ("The mock platform").
//! Each platform behaviour simulated here has its source and certainty in `docs/platform.md`.

use genesys_cloud_models::Secret;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use serde::Deserialize;

use super::faults::Faults;

/// A parsed scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub(crate) name: String,
    /// Seed of the world's random choices (`--seed` wins).
    #[serde(default)]
    pub(crate) seed: u64,
    #[serde(default)]
    pub(crate) queues: Vec<QueueSpec>,
    #[serde(default)]
    pub(crate) agents: Vec<AgentSpec>,
    /// OAuth clients; the first one is the main client (printed by `confwatch mock`).
    pub clients: Vec<ClientSpec>,
    /// Extra queues and agents made up from the seed (for large worlds).
    #[serde(default)]
    pub generate: Generate,
    #[serde(default)]
    pub calls: CallSettings,
    #[serde(default)]
    pub faults: Faults,
    /// People who sign in (authorization code with PKCE), listed on the mock's authorize page.
    #[serde(default)]
    pub(crate) users: Vec<super::users::User>,
    #[serde(default)]
    pub signin: SigninSettings,
}

/// The sign-in settings of the mock's login service.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigninSettings {
    /// How long an authorization code can be exchanged (RFC 6749 §4.1.2 advises at most 10 min).
    pub code_lifetime_ms: u64,
    /// The organization's name in `GET /api/v2/users/me?expand=organization`.
    pub(crate) org_name: String,
}

impl Default for SigninSettings {
    fn default() -> Self {
        SigninSettings {
            code_lifetime_ms: 60_000,
            org_name: "Mock Contact Center".to_string(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueSpec {
    pub(crate) name: String,
    /// Made from the seed when absent.
    pub(crate) id: Option<String>,
    /// The division the queue belongs to ([`HOME_DIVISION`] when absent).
    pub(crate) division: Option<String>,
}

/// Every org's default division (where a queue is unless its scenario says otherwise).
pub(crate) const HOME_DIVISION: &str = "Home";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentSpec {
    pub(crate) name: String,
    pub(crate) id: Option<String>,
    /// Queue names; all queues when empty.
    #[serde(default)]
    pub(crate) queues: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    pub(crate) id: String,
    /// Made at random at start-up when absent.
    pub(crate) secret: Option<Secret>,
    /// Permission strings; `"*"` grants all.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Redirect URIs registered for the authorization-code grant (PKCE); none: not allowed.
    #[serde(default)]
    pub(crate) redirect_uris: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    #[serde(default)]
    pub(crate) queues: u32,
    #[serde(default)]
    pub agents: u32,
}

/// How calls arrive and move. Ranges are `[min, max]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallSettings {
    /// Calls already going at start (in varied states).
    pub initial: u32,
    /// New calls per minute (0 = none).
    pub(crate) arrivals_per_minute: f64,
    /// Keep at least this many conferences (three or more live legs) going.
    pub(crate) min_conferences: u32,
    /// Chance that a call gains a third party (consult, supervisor or external).
    pub(crate) conference_rate: f64,
    /// Chance, per party that joins, that it is an external number rather than an agent.
    pub(crate) external_rate: f64,
    /// Time a leg rings (alerting/dialing) before it connects.
    pub(crate) ring_ms: [u64; 2],
    /// Length of a call.
    pub(crate) call_secs: [u64; 2],
    /// Holds per call per minute.
    pub(crate) holds_per_minute: f64,
    /// Length of a hold.
    pub(crate) hold_secs: [u64; 2],
    /// Chance that an agent leaves a conference before the call ends (a transfer or a consult done).
    pub(crate) leave_rate: f64,
    /// Chance, per agent that joins, that it comes from another queue: the call is transferred
    /// there (a consult to a queue: the first agent stays until the call's next leave).
    pub(crate) queue_transfer_rate: f64,
    /// Extra hold/unhold changes per second across random calls (load for benchmarks).
    pub changes_per_sec: f64,
    /// How long an ended call can still be read.
    pub(crate) retain_ended_secs: u64,
    /// Delay between an accepted PATCH and the change it asks for.
    pub(crate) apply_ms: [u64; 2],
}

impl Default for CallSettings {
    fn default() -> Self {
        CallSettings {
            initial: 0,
            arrivals_per_minute: 0.0,
            min_conferences: 0,
            conference_rate: 0.0,
            external_rate: 0.2,
            ring_ms: [2_000, 6_000],
            call_secs: [60, 240],
            holds_per_minute: 0.0,
            hold_secs: [5, 20],
            leave_rate: 0.0,
            queue_transfer_rate: 0.0,
            changes_per_sec: 0.0,
            retain_ended_secs: 120,
            apply_ms: [60, 180],
        }
    }
}

/// Bounds of a scenario's numbers: well above what `scale` needs (10,000 calls, 14,000 agents),
/// well below what would exhaust memory or stall the clock.
const MAX_QUEUES: u64 = 10_000;
const MAX_AGENTS: u64 = 100_000;
const MAX_CLIENTS: u64 = 1_000;
const MAX_CALLS: u64 = 100_000;
/// Conferences kept up at once: the scale the console is measured at (`scale`: about 3,000 of
/// its 10,000 calls). Each needs a call of its own, so also at most one per agent.
const MAX_CONFERENCES: u64 = 10_000;
const DAY_SECS: u64 = 86_400;
const WEEK_SECS: u64 = 7 * DAY_SECS;
/// Ringing and apply delays: at most an hour.
const MAX_STEP_MS: u64 = 3_600_000;
/// Scenario files larger than this are refused unread.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

const BUILT_IN: &[(&str, &str)] = &[
    ("demo", include_str!("../scenarios/demo.toml")),
    ("quiet", include_str!("../scenarios/quiet.toml")),
    ("scale", include_str!("../scenarios/scale.toml")),
];

impl Scenario {
    /// A built-in scenario: `demo`, `quiet` or `scale`.
    pub fn named(name: &str) -> Result<Scenario> {
        let (_, text) = BUILT_IN.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            eyre!("no built-in scenario {name:?} (there are: demo, quiet, scale)")
        })?;
        Scenario::parse(text).wrap_err_with(|| format!("built-in scenario {name}"))
    }

    /// A scenario file (TOML).
    pub(crate) fn from_path(path: &Path) -> Result<Scenario> {
        let text = untrusted_input::read_capped(path, MAX_FILE_BYTES)
            .wrap_err_with(|| format!("cannot read scenario {}", path.display()))?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed = if json {
            Scenario::parse_json(&text)
        } else {
            Scenario::parse(&text)
        };
        parsed.wrap_err_with(|| format!("scenario {}", path.display()))
    }

    /// A built-in name, or else a path.
    pub(crate) fn named_or_path(name_or_path: &str) -> Result<Scenario> {
        let path = Path::new(name_or_path);
        if BUILT_IN.iter().any(|(n, _)| *n == name_or_path) {
            Scenario::named(name_or_path)
        } else if path.exists() {
            Scenario::from_path(path)
        } else {
            let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
            bail!(
                "no built-in scenario and no file named {:?}; the built-in ones are {}",
                untrusted_input::clip(name_or_path, 100),
                names.join(", ")
            )
        }
    }

    /// The same format written as JSON (for files ending in `.json`).
    pub(crate) fn parse_json(text: &str) -> Result<Scenario> {
        let scenario: Scenario = serde_json::from_str(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// A scenario in TOML.
    pub(crate) fn parse(text: &str) -> Result<Scenario> {
        let scenario: Scenario = toml::from_str(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Checks what the mock relies on (also for scenarios built or changed in code), before a
    /// world is built: every count and time is bounded, so none can exhaust memory, overflow
    /// an `Instant` or keep the clock from ever catching up.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.clients.is_empty() {
            bail!("a scenario needs at least one OAuth client");
        }
        let calls = &self.calls;
        let counts = [
            ("queues", self.queues.len() as u64, MAX_QUEUES),
            ("agents", self.agents.len() as u64, MAX_AGENTS),
            ("clients", self.clients.len() as u64, MAX_CLIENTS),
            (
                "generate.queues",
                u64::from(self.generate.queues),
                MAX_QUEUES,
            ),
            (
                "generate.agents",
                u64::from(self.generate.agents),
                MAX_AGENTS,
            ),
            ("calls.initial", u64::from(calls.initial), MAX_CALLS),
            (
                "calls.min_conferences",
                u64::from(calls.min_conferences),
                MAX_CONFERENCES,
            ),
            (
                "calls.retain_ended_secs",
                calls.retain_ended_secs,
                WEEK_SECS,
            ),
            (
                "signin.code_lifetime_ms",
                self.signin.code_lifetime_ms,
                MAX_STEP_MS,
            ),
        ];
        let ranges = [
            ("calls.ring_ms", calls.ring_ms, MAX_STEP_MS),
            ("calls.call_secs", calls.call_secs, DAY_SECS),
            ("calls.hold_secs", calls.hold_secs, DAY_SECS),
            ("calls.apply_ms", calls.apply_ms, MAX_STEP_MS),
        ];
        for (name, value, max) in counts
            .into_iter()
            .chain(ranges.iter().map(|(name, r, max)| (*name, r[1], *max)))
        {
            if value > max {
                bail!("{name} must be at most {max}, got {value}");
            }
        }
        for (name, value, max) in [
            (
                "calls.arrivals_per_minute",
                calls.arrivals_per_minute,
                60_000.0,
            ),
            ("calls.holds_per_minute", calls.holds_per_minute, 600.0),
            ("calls.changes_per_sec", calls.changes_per_sec, 10_000.0),
        ] {
            if !(0.0..=max).contains(&value) {
                bail!("{name} must be between 0 and {max}, got {value}");
            }
        }
        if self.queues.is_empty() && self.generate.queues == 0 {
            bail!("a scenario needs at least one queue");
        }
        let agents = self.agents.len() as u64 + u64::from(self.generate.agents);
        if u64::from(calls.min_conferences) > agents {
            bail!(
                "calls.min_conferences ({}) needs an agent per conference; the scenario has {agents}",
                calls.min_conferences
            );
        }
        for range in [
            self.calls.ring_ms,
            self.calls.call_secs,
            self.calls.hold_secs,
            self.calls.apply_ms,
        ] {
            if range[0] > range[1] {
                bail!("a range [min, max] has min > max: {range:?}");
            }
        }
        for rate in [
            self.calls.conference_rate,
            self.calls.external_rate,
            self.calls.leave_rate,
            self.calls.queue_transfer_rate,
        ] {
            if !(0.0..=1.0).contains(&rate) {
                bail!("rates must be between 0.0 and 1.0, got {rate}");
            }
        }
        for agent in &self.agents {
            for queue in &agent.queues {
                if !self.queues.iter().any(|q| &q.name == queue) {
                    bail!("agent {} is in unknown queue {queue}", agent.name);
                }
            }
        }
        self.faults.validate().map_err(|e| eyre!("faults: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_parse() {
        for (name, _) in BUILT_IN {
            let scenario = Scenario::named(name).unwrap();
            assert_eq!(&scenario.name, name);
        }
        assert!(Scenario::named("nope").is_err());
    }

    #[test]
    fn demo_keeps_the_lock_and_a_modest_limit() {
        let demo = Scenario::named("demo").unwrap();
        assert!(demo.faults.transition_lock.enabled);
        assert!(demo.faults.rate_limit_per_minute >= 120);
        assert!(demo.calls.min_conferences >= 8);
    }

    #[test]
    // The zeros are the file's own, read exactly.
    #[allow(clippy::float_cmp)]
    fn quiet_has_no_calls_and_no_faults_and_a_client_without_kick_rights() {
        let quiet = Scenario::named("quiet").unwrap();
        assert_eq!(quiet.calls.initial, 0);
        assert_eq!(quiet.calls.arrivals_per_minute, 0.0);
        assert_eq!(quiet.calls.min_conferences, 0);
        assert_eq!(quiet.calls.changes_per_sec, 0.0);
        assert!(!quiet.faults.transition_lock.enabled);
        assert_eq!(quiet.faults.server_error_rate, 0.0);
        assert!(quiet.clients.len() >= 2);
        assert!(!quiet.clients[1].permissions.iter().any(|p| p == "*"));
    }

    #[test]
    fn json_files_work_too() {
        let text = r#"{"name": "j", "queues": [{"name": "Q"}], "clients": [{"id": "c"}],
                       "faults": {"rateLimitPerMinute": 5}}"#;
        let path =
            std::env::temp_dir().join(format!("confwatch-scenario-{}.json", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let scenario = Scenario::from_path(&path);
        let _ = std::fs::remove_file(&path);
        assert_eq!(scenario.unwrap().faults.rate_limit_per_minute, 5);
    }

    #[test]
    fn the_rate_window_is_set_in_faults_and_checked() {
        let base = "name = \"w\"\n[[queues]]\nname = \"Q\"\n[[clients]]\nid = \"c\"\n[faults]\n";
        let short = Scenario::parse(&format!("{base}rateLimitWindowSecs = 2")).unwrap();
        assert_eq!(short.faults.rate_limit_window_secs, 2);
        assert_eq!(
            Scenario::parse(base).unwrap().faults.rate_limit_window_secs,
            60
        );
        let err = Scenario::parse(&format!("{base}rateLimitWindowSecs = 0")).unwrap_err();
        assert!(
            format!("{err:#}").contains("rateLimitWindowSecs"),
            "{err:#}"
        );
    }

    #[test]
    fn huge_numbers_are_refused_before_a_world_is_built() {
        let base = "name = \"w\"\n[[queues]]\nname = \"Q\"\n[[clients]]\nid = \"c\"\n";
        let max = u64::MAX;
        for (section, line, named) in [
            ("calls", "initial = 1000000000".to_string(), "calls.initial"),
            (
                "calls",
                "min_conferences = 4000000000".into(),
                "calls.min_conferences",
            ),
            ("generate", "queues = 4000000000".into(), "generate.queues"),
            ("generate", "agents = 4000000000".into(), "generate.agents"),
            (
                "calls",
                "arrivals_per_minute = 1e300".into(),
                "arrivals_per_minute",
            ),
            (
                "calls",
                "arrivals_per_minute = nan".into(),
                "arrivals_per_minute",
            ),
            ("calls", "changes_per_sec = inf".into(), "changes_per_sec"),
            (
                "calls",
                format!("call_secs = [1, {max}]"),
                "calls.call_secs",
            ),
            (
                "calls",
                format!("ring_ms = [{max}, {max}]"),
                "calls.ring_ms",
            ),
            (
                "calls",
                format!("retain_ended_secs = {max}"),
                "retain_ended_secs",
            ),
            (
                "faults",
                format!("tokenLifetimeSecs = {max}"),
                "tokenLifetimeSecs",
            ),
            ("faults", format!("heartbeatSecs = {max}"), "heartbeatSecs"),
            (
                "faults",
                format!("socketDropAfterSecs = {max}"),
                "socketDropAfterSecs",
            ),
            ("faults", format!("latencyMs = {max}"), "latencyMs"),
            (
                "signin",
                format!("code_lifetime_ms = {max}"),
                "signin.code_lifetime_ms",
            ),
        ] {
            let text = format!("{base}[{section}]\n{line}\n");
            let err = match Scenario::parse(&text) {
                Ok(_) => panic!("accepted {line}"),
                Err(err) => format!("{err:#}"),
            };
            assert!(err.contains(named), "{line}: {err}");
        }
        let conference = format!("{base}[calls]\nconference_rate = nan\n");
        assert!(Scenario::parse(&conference).is_err());
    }

    #[test]
    fn a_scenario_file_is_read_only_up_to_its_cap() {
        let err = Scenario::from_path(Path::new("/dev/zero")).unwrap_err();
        assert!(format!("{err:#}").contains("not a regular file"), "{err:#}");
        let big = std::env::temp_dir().join(format!("scenario-big-{}.toml", std::process::id()));
        std::fs::write(&big, vec![b'#'; MAX_FILE_BYTES as usize + 1]).unwrap();
        let err = Scenario::from_path(&big).unwrap_err();
        assert!(format!("{err:#}").contains("larger than"), "{err:#}");
        std::fs::remove_file(&big).unwrap();
    }

    #[test]
    fn an_unknown_name_lists_the_built_in_scenarios() {
        let err = format!("{:#}", Scenario::named_or_path("nope").unwrap_err());
        assert!(err.contains("demo, quiet, scale"), "{err}");
    }

    #[test]
    fn bad_files_are_refused_with_reasons() {
        let err = Scenario::parse("name = \"x\"\nclients = []").unwrap_err();
        assert!(format!("{err:#}").contains("client"));
        assert!(Scenario::parse("name = 1").is_err());
    }
}

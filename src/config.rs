//! Region, credentials and queues: environment, config file and flags (flags win).

use crate::platform::Secret;
pub(crate) use crate::platform::connection::login_base_for;
use crate::platform::connection::{ConnectionConfig, Credentials};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use serde::Deserialize;

/// How kicks run and are recorded (shared by the console and `kick`).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct KickFlags {
    /// Audit file [default: confwatch/audit.jsonl in the user's data directory]. The audit
    /// fails closed: if its line cannot be written and synced, nothing is sent.
    #[arg(long, value_name = "PATH", conflicts_with = "no_audit")]
    pub(crate) audit_log: Option<PathBuf>,
    /// Kick without an audit record (your explicit choice; said on stderr, or on the console's
    /// status line).
    #[arg(long)]
    pub(crate) no_audit: bool,
    /// eager: PATCH at once, whatever the leg's state; settled: wait for a connected leg first
    /// (for organisations that see the 409 on ringing legs) [default: the config file's
    /// `[kick] strategy`, else eager].
    #[arg(long, value_enum)]
    pub(crate) strategy: Option<Strategy>,
}

/// How to reach the platform (shared by the console, `list` and `kick`). `Debug` shows no secret.
#[derive(Debug, Default, clap::Args)]
pub struct ConnectionArgs {
    /// API base URL (the mock or a gateway), e.g. http://127.0.0.1:8080; with --region too,
    /// the two must name the same API.
    /// Without an `api.` prefix, login goes to the same host (as the official SDK does).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Region, as `us-east-1`, `us_east_1` or `mypurecloud.com` (any case) [env: GENESYSCLOUD_REGION].
    #[arg(long)]
    pub region: Option<String>,
    /// OAuth client id (client credentials) [env: GENESYSCLOUD_OAUTHCLIENT_ID].
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// OAuth client secret. WARNING: a flag is visible to other users in the process list;
    /// prefer GENESYSCLOUD_OAUTHCLIENT_SECRET or the config file.
    #[arg(long, value_name = "SECRET")]
    pub client_secret: Option<Secret>,
    /// Config file (TOML: region, base_url, client_id, client_secret) [default:
    /// confwatch/config.toml in the user's config directory].
    #[arg(long = "config", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// A `[profiles.NAME]` section of the config file (region, client id, grant, queues).
    #[arg(long, value_name = "NAME", env = "CONFWATCH_PROFILE")]
    pub profile: Option<String>,
}

/// The config file's keys (all optional).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub(crate) region: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    /// The console's key bindings (`[keys]`), handed to `tui::keymap` as they are.
    pub(crate) keys: Option<toml::Table>,
    /// Port of the sign-in redirect URI `http://127.0.0.1:PORT/callback`.
    pub(crate) redirect_port: Option<u16>,
    /// `[profiles.NAME]`: one org (or client) each, chosen with `--profile`.
    pub(crate) profiles: Option<std::collections::BTreeMap<String, ProfileConfig>>,
    /// `[kick]`: `strategy = "eager" | "settled"` (the `kick` command's `--strategy` wins).
    pub(crate) kick: Option<KickSection>,
}

/// When the kick's first PATCH goes out (`[kick] strategy`, `confwatch kick --strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// At once, whatever the leg's state (the platform's own WebRTC SDK ends ringing legs so).
    #[default]
    Eager,
    /// Only once the leg is connected: for organisations that see the 409 on ringing legs.
    Settled,
}

/// The config file's `[kick]` table.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KickSection {
    pub(crate) strategy: Option<Strategy>,
}

/// The config file, read once at start (capped, checked, parsed) for the connection, the
/// console's keymap and the kick's strategy: one read, one set of rules, one message.
#[derive(Clone, Default)]
pub struct Settings {
    pub(crate) file: FileConfig,
    /// Things to tell the user (a file others can read holds the secret).
    pub(crate) warnings: Vec<String>,
}

impl Settings {
    /// `--config`, else the default file if there is one; a named file that is missing, is not
    /// a regular file (a FIFO, `/dev/zero`) or is too big is an error.
    pub fn load(args: &ConnectionArgs) -> Result<Settings> {
        match args.config.clone().or_else(default_config_path) {
            Some(path) if path.exists() => {
                let (file, warnings) = read_config_file(&path)?;
                Ok(Settings { file, warnings })
            }
            Some(path) if args.config.is_some() => {
                bail!("config file {} does not exist", path.display())
            }
            _ => Ok(Settings::default()),
        }
    }

    /// The `[kick] strategy`, if the file sets one.
    pub(crate) fn kick_strategy(&self) -> Option<Strategy> {
        self.file.kick.as_ref().and_then(|k| k.strategy)
    }

    /// The `[keys]` section, if any (the keymap reads it).
    pub(crate) fn keys(&self) -> Option<&toml::Table> {
        self.file.keys.as_ref()
    }
}

/// The profile a configuration came from (kept apart from `ConnectionConfig`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileUse {
    /// `--profile`, `CONFWATCH_PROFILE`, or `default` for a signed-in user without one.
    pub name: Option<String>,
    /// The profile's queues (used when no `--queue` is given).
    pub(crate) queues: Vec<String>,
}

/// Every region of the official SDKs: its key and its domain (the API host is `api.<domain>`).
/// The list of the JavaScript SDK's `PureCloudRegionHosts.js` (255.0.0 added `eusc_de_east_1`);
/// see `crates/genesys-cloud-mock/docs/platform.md`.
const REGIONS: &[(&str, &str)] = &[
    ("us_east_1", "mypurecloud.com"),
    ("eu_west_1", "mypurecloud.ie"),
    ("ap_southeast_2", "mypurecloud.com.au"),
    ("ap_northeast_1", "mypurecloud.jp"),
    ("eu_central_1", "mypurecloud.de"),
    ("us_west_2", "usw2.pure.cloud"),
    ("ca_central_1", "cac1.pure.cloud"),
    ("ap_northeast_2", "apne2.pure.cloud"),
    ("eu_west_2", "euw2.pure.cloud"),
    ("ap_south_1", "aps1.pure.cloud"),
    ("us_east_2", "use2.us-gov-pure.cloud"),
    ("sa_east_1", "sae1.pure.cloud"),
    ("me_central_1", "mec1.pure.cloud"),
    ("ap_northeast_3", "apne3.pure.cloud"),
    ("eu_central_2", "euc2.pure.cloud"),
    ("mx_central_1", "mxc1.pure.cloud"),
    ("ap_southeast_1", "apse1.pure.cloud"),
    ("eusc_de_east_1", "edee1.eusc-pure.cloud"),
];

/// A region in any spelling the Genesys tooling uses, any case: the SDK key (`us_east_1`),
/// the same with dashes (`us-east-1`), the domain (`mypurecloud.com`), the API or login host
/// (`api.mypurecloud.com`, with or without `https://`) → `https://api.mypurecloud.com`.
pub(crate) fn region_api_base(region: &str) -> Result<String> {
    let given = region.trim().to_ascii_lowercase();
    let host = given
        .strip_prefix("https://")
        .unwrap_or(&given)
        .trim_end_matches('/');
    let host = host
        .strip_prefix("api.")
        .or_else(|| host.strip_prefix("login."))
        .unwrap_or(host);
    let key = host.replace('-', "_");
    let domain = REGIONS
        .iter()
        .find(|(name, domain)| *name == key || *domain == host)
        .map(|(_, domain)| *domain)
        .ok_or_else(|| {
            let names: Vec<String> = REGIONS.iter().map(|(name, _)| name.replace('_', "-")).collect();
            eyre!(
                "unknown region {:?}; use one of {} (or with underscores, as us_east_1) or its domain (e.g. mypurecloud.com)",
                crate::text::clip(region.trim(), 80),
                names.join(", ")
            )
        })?;
    Ok(format!("https://api.{domain}"))
}

/// The default config file: `confwatch/config.toml` in the user's config directory.
pub(crate) fn default_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("confwatch").join("config.toml"))
}

impl ConnectionConfig {
    /// The connection the flags, environment and config file name, with the profile it came
    /// from (for the header and default queues); None when no credentials are configured
    /// anywhere (the console then starts the demo mock).
    pub(crate) fn from_args_with_profile(
        args: &ConnectionArgs,
        settings: &Settings,
    ) -> Result<Option<(ConnectionConfig, ProfileUse)>> {
        let store = crate::platform::token_store::TokenStore::from_env();
        let mut config = resolve_with_profiles(
            args,
            &|name| std::env::var(name).ok(),
            settings.file.clone(),
            &store,
        )?;
        if let Some((config, _)) = config.as_mut() {
            config.warnings.extend(settings.warnings.iter().cloned());
        }
        Ok(config)
    }
}

/// Flags, then environment (read through `env`), then the file: the first one set wins.
pub(crate) fn resolve(
    args: &ConnectionArgs,
    env: &dyn Fn(&str) -> Option<String>,
    file: FileConfig,
) -> Result<Option<ConnectionConfig>> {
    resolve_from(args, env, file, FILE)
}

/// [`resolve`] with the file's values from `file_origin` (the config file, or a profile).
fn resolve_from(
    args: &ConnectionArgs,
    env: &dyn Fn(&str) -> Option<String>,
    file: FileConfig,
    file_origin: &str,
) -> Result<Option<ConnectionConfig>> {
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let client_id = args
        .client_id
        .clone()
        .or_else(|| env("GENESYSCLOUD_OAUTHCLIENT_ID"))
        .or(file.client_id);
    let secret = args
        .client_secret
        .as_ref()
        .map(|secret| secret.expose().to_string())
        .or_else(|| env("GENESYSCLOUD_OAUTHCLIENT_SECRET"))
        .or(file.client_secret);
    let token = env("GENESYSCLOUD_ACCESS_TOKEN");
    let credentials = match (client_id, secret, token) {
        (Some(client_id), Some(secret), _) => Credentials::OAuthClient {
            client_id,
            secret: secret.into(),
        },
        (_, _, Some(token)) => Credentials::AccessToken(token.into()),
        (None, None, None) => return Ok(None),
        (Some(_), None, None) => bail!(
            "a client id is set but no client secret: set GENESYSCLOUD_OAUTHCLIENT_SECRET or client_secret in the config file"
        ),
        (None, Some(_), None) => bail!(
            "a client secret is set but no client id: set GENESYSCLOUD_OAUTHCLIENT_ID or --client-id"
        ),
    };
    let api_base = api_base_of(args, &env, file.base_url, file.region, file_origin)?.ok_or_else(|| {
        eyre!("no region: set --region, GENESYSCLOUD_REGION (e.g. us-east-1 or mypurecloud.com) or --base-url")
    })?;
    Ok(Some(ConnectionConfig {
        login_base: login_base_for(&api_base),
        api_base,
        credentials,
        warnings: Vec::new(),
        max_answer_bytes: None,
    }))
}

/// A usable API base URL (`http(s)://host[:port][/prefix]`), without its trailing `/`. Checked
/// here so that a bad one is one clear message, not a request that fails (and is retried) later.
pub(crate) fn check_base_url(url: &str) -> Result<String> {
    let shown = crate::text::clip(url, 100);
    let example = "e.g. http://127.0.0.1:8080 or https://api.mypurecloud.com";
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("--base-url must start with http:// or https://, got {shown:?} ({example})");
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| eyre!("--base-url {shown:?} is not a valid URL: {e} ({example})"))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        bail!("--base-url {shown:?} names no host ({example})");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        bail!("--base-url {shown:?} must not have a query or fragment ({example})");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // Credentials in a URL end up in error messages and logs; they go in their own settings.
        bail!(
            "--base-url must not hold a user or password; use --client-id and the secret's variable"
        );
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// A TOML error as `path: line L, column C: message`. Only the parser's message, never its
/// snippet of the line: that line may hold the client secret.
pub(crate) fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> String {
    let position = error
        .span()
        .map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: ")
        })
        .unwrap_or_default();
    format!(
        "config file {}: {position}{}",
        path.display(),
        error.message().trim_end()
    )
}

/// How a profile signs in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// The OAuth client's own credentials (id and secret): the way before profiles.
    #[default]
    ClientCredentials,
    /// A person signs in with `confwatch login` (authorization code with PKCE).
    Pkce,
}

/// One `[profiles.NAME]` section.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    pub(crate) region: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    #[serde(default)]
    pub(crate) grant: Grant,
    #[serde(default)]
    pub(crate) queues: Vec<String>,
    pub(crate) redirect_port: Option<u16>,
}

/// The profile a signed-in user's session is kept under when none is named.
pub(crate) const DEFAULT_PROFILE: &str = "default";

/// Where and as whom `confwatch login` signs in.
#[derive(Clone, Debug)]
pub struct LoginTarget {
    pub profile: String,
    pub client_id: String,
    pub api_base: String,
    pub login_base: String,
    pub redirect_port: u16,
}

/// How messages name the config file's top-level keys.
const FILE: &str = "the config file";

/// Where requests go, as the README's table says: the first of the flags, the environment and
/// the file (or profile, named by `file_origin`) that sets a region or a base URL decides; the
/// later ones are not used. Within one of them, a region and a base URL must name the same API
/// (an error naming both and where each came from). None when none of them says.
fn api_base_of(
    args: &ConnectionArgs,
    env: &dyn Fn(&str) -> Option<String>,
    base_url: Option<String>,
    region: Option<String>,
    file_origin: &str,
) -> Result<Option<String>> {
    let env_region = env("GENESYSCLOUD_REGION").filter(|v| !v.trim().is_empty());
    let (region_in_file, base_url_in_file) = (
        format!("region in {file_origin}"),
        format!("base_url in {file_origin}"),
    );
    let levels = [
        (
            args.region.clone(),
            "--region",
            args.base_url.clone(),
            "--base-url",
        ),
        (env_region, "GENESYSCLOUD_REGION", None, ""),
        (region, &*region_in_file, base_url, &*base_url_in_file),
    ];
    for (region, region_origin, base_url, base_origin) in levels {
        let from_region =
            |region: &str| region_api_base(region).map_err(|e| eyre!("{e} (from {region_origin})"));
        let from_base =
            |url: &str| check_base_url(url).map_err(|e| eyre!("{e} (from {base_origin})"));
        match (region, base_url) {
            (None, None) => continue,
            (Some(region), None) => return from_region(&region).map(Some),
            (None, Some(url)) => return from_base(&url).map(Some),
            (Some(region), Some(url)) => {
                let (by_region, by_url) = (from_region(&region)?, from_base(&url)?);
                if by_region != by_url {
                    bail!(
                        "{region_origin} {:?} and {base_origin} {:?} disagree (the region's API is {by_region}); keep one of them",
                        crate::text::clip(&region, 80),
                        crate::text::clip(&url, 100)
                    );
                }
                return Ok(Some(by_url));
            }
        }
    }
    Ok(None)
}

/// The profile named by `--profile`/`CONFWATCH_PROFILE`, if any.
fn chosen_profile(
    args: &ConnectionArgs,
    file: &FileConfig,
) -> Result<Option<(String, ProfileConfig)>> {
    let Some(name) = args.profile.clone().filter(|n| !n.trim().is_empty()) else {
        return Ok(None);
    };
    crate::platform::token_store::check_profile_name(&name)?;
    let profile = file
        .profiles
        .as_ref()
        .and_then(|p| p.get(&name))
        .cloned()
        .ok_or_else(|| eyre!("no [profiles.{name}] section in the config file"))?;
    Ok(Some((name, profile)))
}

/// What `confwatch login` needs: the profile's (or the flags') client id and region.
pub(crate) fn login_target(args: &ConnectionArgs) -> Result<LoginTarget> {
    let settings = Settings::load(args)?;
    login_target_from(args, &|name| std::env::var(name).ok(), settings.file)
}

pub(crate) fn login_target_from(
    args: &ConnectionArgs,
    env: &dyn Fn(&str) -> Option<String>,
    file: FileConfig,
) -> Result<LoginTarget> {
    let (profile, section, origin) = match chosen_profile(args, &file)? {
        Some((name, section)) => {
            let origin = format!("[profiles.{name}]");
            if section.grant != Grant::Pkce {
                bail!(
                    "profile {name} uses client credentials; set grant = \"pkce\" in [profiles.{name}] to sign in as a person"
                );
            }
            (name, section, origin)
        }
        None => (
            DEFAULT_PROFILE.to_string(),
            ProfileConfig {
                region: file.region.clone(),
                base_url: file.base_url.clone(),
                client_id: file.client_id.clone(),
                redirect_port: file.redirect_port,
                ..Default::default()
            },
            FILE.to_string(),
        ),
    };
    let client_id = args
        .client_id
        .clone()
        .or(section.client_id.clone())
        .ok_or_else(|| eyre!("no client id: use --client-id or client_id in the profile (the OAuth client of grant type Code Authorization with PKCE)"))?;
    let api_base = api_base_of(
        args,
        env,
        section.base_url.clone(),
        section.region.clone(),
        &origin,
    )?
    .ok_or_else(|| {
        eyre!("no region: set --region, GENESYSCLOUD_REGION, region in the profile, or --base-url")
    })?;
    Ok(LoginTarget {
        profile,
        client_id,
        login_base: login_base_for(&api_base),
        api_base,
        redirect_port: section
            .redirect_port
            .unwrap_or(crate::platform::signin::DEFAULT_PORT),
    })
}

/// A signed-in user's config: the stored session, if it is for this platform.
fn user_config(
    profile: &str,
    session: crate::platform::token_store::StoredSession,
    wanted_api_base: Option<String>,
    queues: Vec<String>,
) -> Result<(ConnectionConfig, ProfileUse)> {
    if let Some(wanted) = wanted_api_base
        && wanted != session.api_base
    {
        bail!(
            "profile {profile} is signed in to {}, not {wanted}: run `confwatch login` for it",
            session.api_base
        );
    }
    Ok((
        ConnectionConfig {
            api_base: session.api_base.clone(),
            login_base: session.login_base.clone(),
            credentials: Credentials::User(Box::new(session)),
            warnings: Vec::new(),
            max_answer_bytes: None,
        },
        ProfileUse {
            name: Some(profile.to_string()),
            queues,
        },
    ))
}

/// Profiles first: a named profile's section (or its signed-in user), else the way before
/// profiles, else the `default` profile's signed-in user, else nothing (the demo).
pub fn resolve_with_profiles(
    args: &ConnectionArgs,
    env: &dyn Fn(&str) -> Option<String>,
    file: FileConfig,
    store: &crate::platform::token_store::TokenStore,
) -> Result<Option<(ConnectionConfig, ProfileUse)>> {
    if let Some((name, section)) = chosen_profile(args, &file)? {
        if section.grant == Grant::Pkce {
            let session = store.load(&name)?.ok_or_else(|| {
                eyre!("profile {name} is not signed in: run `confwatch login --profile {name}`")
            })?;
            let origin = format!("[profiles.{name}]");
            let wanted = api_base_of(
                args,
                env,
                section.base_url.clone(),
                section.region.clone(),
                &origin,
            )?;
            return user_config(&name, session, wanted, section.queues).map(Some);
        }
        let merged = FileConfig {
            region: section.region.clone(),
            base_url: section.base_url.clone(),
            client_id: section.client_id.clone(),
            client_secret: section.client_secret.clone(),
            ..Default::default()
        };
        let config = resolve_from(args, env, merged, &format!("[profiles.{name}]"))?;
        if config.is_none() {
            bail!(
                "profile {name} has no credentials: set client_id and client_secret (or grant = \"pkce\" and sign in)"
            );
        }
        return Ok(config.map(|c| {
            let profile = ProfileUse {
                name: Some(name),
                queues: section.queues,
            };
            (c, profile)
        }));
    }
    let (region, base_url) = (file.region.clone(), file.base_url.clone());
    if let Some(config) = resolve(args, env, file)? {
        return Ok(Some((config, ProfileUse::default())));
    }
    match store.load(DEFAULT_PROFILE)? {
        Some(session) => {
            let wanted = api_base_of(args, env, base_url, region, FILE)?;
            user_config(DEFAULT_PROFILE, session, wanted, Vec::new()).map(Some)
        }
        None => Ok(None),
    }
}

/// Reads the config file; warns when others may read it (it may hold the secret).
fn read_config_file(path: &Path) -> Result<(FileConfig, Vec<String>)> {
    // A config file is a few lines; a megabyte is plenty.
    let text = untrusted_input::read_capped(path, 1024 * 1024)
        .wrap_err_with(|| format!("reading config file {}", path.display()))?;
    let file: FileConfig = toml::from_str(&text).map_err(|e| eyre!(toml_error(path, &text, &e)))?;
    let mut warnings = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta =
            std::fs::metadata(path).wrap_err_with(|| format!("config file {}", path.display()))?;
        let mode = meta.permissions().mode();
        // A base URL decides where the secret (or the user's token) is sent: only a file no one
        // else can change may say it.
        let sets_base_url = file.base_url.is_some()
            || file
                .profiles
                .iter()
                .flat_map(|p| p.values())
                .any(|p| p.base_url.is_some());
        // SAFETY: getuid has no preconditions and cannot fail.
        let own = meta.uid() == unsafe { libc::getuid() };
        if sets_base_url && (mode & 0o022 != 0 || !own) {
            bail!(
                "config file {} sets base_url but is writable by others or not yours (mode {:o}), so anyone could send your credentials elsewhere; run chmod go-w on it",
                path.display(),
                mode & 0o777
            );
        }
        if mode & 0o077 != 0 && file.client_secret.is_some() {
            warnings.push(format!(
                "config file {} holds the client secret and is readable by others (mode {:o}); run chmod 600 on it",
                path.display(),
                mode & 0o777
            ));
        }
    }
    Ok((file, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn nothing_configured_is_none() {
        let config = resolve(
            &ConnectionArgs::default(),
            &env_of(&[]),
            FileConfig::default(),
        )
        .unwrap();
        assert!(config.is_none());
    }

    #[test]
    fn flags_win_over_env_and_file() {
        let args = ConnectionArgs {
            client_id: Some("flag-id".into()),
            region: Some("eu-west-1".into()),
            ..Default::default()
        };
        let env = env_of(&[
            ("GENESYSCLOUD_OAUTHCLIENT_ID", "env-id"),
            ("GENESYSCLOUD_OAUTHCLIENT_SECRET", "env-secret"),
            ("GENESYSCLOUD_REGION", "us-east-1"),
        ]);
        let file = FileConfig {
            client_secret: Some("file-secret".into()),
            ..Default::default()
        };
        let config = resolve(&args, &env, file).unwrap().unwrap();
        assert_eq!(config.api_base, "https://api.mypurecloud.ie");
        assert_eq!(config.login_base, "https://login.mypurecloud.ie");
        assert_eq!(
            config.credentials,
            Credentials::OAuthClient {
                client_id: "flag-id".into(),
                secret: "env-secret".into()
            }
        );
    }

    /// The JavaScript SDK's `PureCloudRegionHosts.js` (259.0.0), key by key: every key in
    /// every spelling, and every domain, resolves to that domain's API host.
    #[test]
    fn every_sdk_region_in_every_spelling() {
        const SDK_REGION_HOSTS: &[(&str, &str)] = &[
            ("us_east_1", "mypurecloud.com"),
            ("eu_west_1", "mypurecloud.ie"),
            ("ap_southeast_2", "mypurecloud.com.au"),
            ("ap_northeast_1", "mypurecloud.jp"),
            ("eu_central_1", "mypurecloud.de"),
            ("us_west_2", "usw2.pure.cloud"),
            ("ca_central_1", "cac1.pure.cloud"),
            ("ap_northeast_2", "apne2.pure.cloud"),
            ("eu_west_2", "euw2.pure.cloud"),
            ("ap_south_1", "aps1.pure.cloud"),
            ("us_east_2", "use2.us-gov-pure.cloud"),
            ("sa_east_1", "sae1.pure.cloud"),
            ("me_central_1", "mec1.pure.cloud"),
            ("ap_northeast_3", "apne3.pure.cloud"),
            ("eu_central_2", "euc2.pure.cloud"),
            ("mx_central_1", "mxc1.pure.cloud"),
            ("ap_southeast_1", "apse1.pure.cloud"),
            ("eusc_de_east_1", "edee1.eusc-pure.cloud"),
        ];
        assert_eq!(
            REGIONS.len(),
            SDK_REGION_HOSTS.len(),
            "one row per SDK region"
        );
        for (key, domain) in SDK_REGION_HOSTS {
            let want = format!("https://api.{domain}");
            let dashed = key.replace('_', "-");
            for spelling in [
                key.to_string(),
                key.to_uppercase(),
                dashed.clone(),
                dashed.to_uppercase(),
                domain.to_string(),
                domain.to_uppercase(),
                format!("api.{domain}"),
                format!("https://api.{domain}/"),
                format!(" {key} "),
            ] {
                assert_eq!(region_api_base(&spelling).unwrap(), want, "{spelling:?}");
            }
        }
    }

    #[test]
    fn regions_by_name_or_domain_and_unknown_ones_are_clear() {
        assert_eq!(
            region_api_base("us-east-1").unwrap(),
            "https://api.mypurecloud.com"
        );
        assert_eq!(
            region_api_base("mypurecloud.com").unwrap(),
            "https://api.mypurecloud.com"
        );
        assert_eq!(
            region_api_base("euw2.pure.cloud").unwrap(),
            "https://api.euw2.pure.cloud"
        );
        let err = region_api_base("moon-1").unwrap_err().to_string();
        assert!(err.contains("unknown region \"moon-1\""), "{err}");
        let env = env_of(&[("GENESYSCLOUD_ACCESS_TOKEN", "tok")]);
        let err = resolve(&ConnectionArgs::default(), &env, FileConfig::default()).unwrap_err();
        assert!(err.to_string().contains("no region"));
    }

    #[test]
    fn base_url_without_api_prefix_logs_in_on_the_same_host() {
        let config = ConnectionConfig::for_mock("http://127.0.0.1:8080/", "id", "secret");
        assert_eq!(config.api_base, "http://127.0.0.1:8080");
        assert_eq!(config.login_base, "http://127.0.0.1:8080");
    }

    #[test]
    fn access_token_is_used_as_is() {
        let env = env_of(&[
            ("GENESYSCLOUD_ACCESS_TOKEN", "tok"),
            ("GENESYSCLOUD_REGION", "mypurecloud.de"),
        ]);
        let config = resolve(&ConnectionArgs::default(), &env, FileConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(config.credentials, Credentials::AccessToken("tok".into()));
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let config = ConnectionConfig::for_mock("http://127.0.0.1:1", "the-id", "s3cr3t-value");
        let args = ConnectionArgs {
            client_secret: Some("s3cr3t-value".into()),
            ..Default::default()
        };
        for text in [format!("{config:?}"), format!("{args:?}")] {
            assert!(!text.contains("s3cr3t-value"), "{text}");
        }
        assert!(format!("{config:?}").contains("the-id"));
    }

    #[test]
    fn base_urls_without_a_host_or_with_junk_are_refused_clearly() {
        for bad in [
            "http://",
            "https://",
            "http:// spaced",
            "http://exa mple.com",
            "http://127.0.0.1:8080?x=1",
            "http://user:pw@127.0.0.1",
        ] {
            let err = check_base_url(bad).unwrap_err().to_string();
            assert!(err.contains("--base-url"), "{bad}: {err}");
            assert!(!err.contains("pw@"), "{err}");
        }
        assert_eq!(
            check_base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            check_base_url("https://api.mypurecloud.com").unwrap(),
            "https://api.mypurecloud.com"
        );
    }

    #[test]
    fn config_file_errors_give_line_and_column_but_never_the_line_itself() {
        let dir = std::env::temp_dir().join(format!("confwatch-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(
            &path,
            "region = \"us-east-1\"\nclient_id = \"i\"\nclient_secret = \"hunter2\nbase_url = 3\n",
        )
        .unwrap();
        let err = read_config_file(&path).err().unwrap().to_string();
        assert!(err.contains("line 3, column "), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        std::fs::write(&path, "region = \"us-east-1\"\n\n  colour = 1\n").unwrap();
        let err = read_config_file(&path).err().unwrap().to_string();
        assert!(err.contains("line 3, column 3"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_endless_config_file_is_refused_not_read() {
        let Err(err) = read_config_file(Path::new("/dev/zero")) else {
            panic!("/dev/zero read as a config file");
        };
        assert!(format!("{err:#}").contains("not a regular file"), "{err:#}");
    }

    /// The README's precedence, row by row: for where requests go, the first of the flags,
    /// the environment and the file that sets a region or a base URL decides.
    #[test]
    fn where_requests_go_follows_the_precedence_table() {
        let creds = [
            ("GENESYSCLOUD_OAUTHCLIENT_ID", "id"),
            ("GENESYSCLOUD_OAUTHCLIENT_SECRET", "secret"),
        ];
        let file = |region: Option<&str>, base_url: Option<&str>| FileConfig {
            region: region.map(str::to_string),
            base_url: base_url.map(str::to_string),
            ..Default::default()
        };
        let flags = |region: Option<&str>, base_url: Option<&str>| ConnectionArgs {
            region: region.map(str::to_string),
            base_url: base_url.map(str::to_string),
            ..Default::default()
        };
        let ie = "https://api.mypurecloud.ie";
        let de = "https://api.mypurecloud.de";
        let local = "http://127.0.0.1:8080";
        // (flags, env region, file) -> the API base.
        let rows: Vec<(ConnectionArgs, Option<&str>, FileConfig, &str)> = vec![
            (flags(None, None), None, file(Some("eu-west-1"), None), ie),
            (flags(None, None), None, file(None, Some(local)), local),
            (
                flags(None, None),
                Some("eu-central-1"),
                file(None, Some(local)),
                de,
            ),
            (
                flags(Some("eu-west-1"), None),
                None,
                file(None, Some(local)),
                ie,
            ),
            (
                flags(Some("eu-west-1"), None),
                Some("eu-central-1"),
                file(None, None),
                ie,
            ),
            (
                flags(None, Some(local)),
                Some("eu-central-1"),
                file(Some("eu-west-1"), None),
                local,
            ),
            (
                flags(Some("eu-west-1"), Some(ie)),
                None,
                file(None, None),
                ie,
            ),
        ];
        for (args, env_region, file, want) in rows {
            let env = move |name: &str| {
                creds
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
                    .or_else(|| {
                        env_region
                            .filter(|_| name == "GENESYSCLOUD_REGION")
                            .map(str::to_string)
                    })
            };
            let got = resolve(&args, &env, file).unwrap().unwrap();
            assert_eq!(got.api_base, want, "{args:?} env {env_region:?}");
        }
        // Disagreeing at one level: an error naming both and where each came from.
        let env = env_of(&[
            ("GENESYSCLOUD_OAUTHCLIENT_ID", "id"),
            ("GENESYSCLOUD_OAUTHCLIENT_SECRET", "secret"),
        ]);
        let err = resolve(
            &flags(Some("eu-west-1"), Some(local)),
            &env,
            FileConfig::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("--region \"eu-west-1\"") && err.contains("--base-url"),
            "{err}"
        );
        let err = resolve(
            &ConnectionArgs::default(),
            &env,
            file(Some("eu-west-1"), Some(local)),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("region in the config file"), "{err}");
        assert!(err.contains("base_url in the config file"), "{err}");
    }

    #[test]
    fn settings_are_read_once_with_the_keys_and_kick_sections() {
        let dir = std::env::temp_dir().join(format!("confwatch-settings-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(
            &path,
            "region = \"us-east-1\"\n[keys]\nkick = \"x\"\n[kick]\nstrategy = \"settled\"\n",
        )
        .unwrap();
        let args = ConnectionArgs {
            config: Some(path.clone()),
            ..Default::default()
        };
        let settings = Settings::load(&args).unwrap();
        assert_eq!(settings.kick_strategy(), Some(Strategy::Settled));
        let keys = settings.keys().expect("[keys]");
        assert!(crate::tui::Keymap::with_overrides(keys).is_ok());
        std::fs::write(&path, "[keys]\nkick = 3\n").unwrap();
        let settings = Settings::load(&args).unwrap();
        assert!(crate::tui::Keymap::with_overrides(settings.keys().unwrap()).is_err());
        let missing = ConnectionArgs {
            config: Some(dir.join("absent.toml")),
            ..Default::default()
        };
        assert!(Settings::load(&missing).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn config_file_readable_by_others_is_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("confwatch-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(
            &path,
            "client_id = \"i\"\nclient_secret = \"s\"\nregion = \"us-east-1\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (_, warnings) = read_config_file(&path).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(!warnings[0].contains("\"s\""));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (file, warnings) = read_config_file(&path).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(file.client_id.as_deref(), Some("i"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn profiles_file() -> FileConfig {
        toml::from_str(
            r#"
            [profiles.dublin]
            region = "mypurecloud.ie"
            client_id = "pkce-client"
            grant = "pkce"
            queues = ["Support"]
            redirect_port = 9000

            [profiles.robot]
            region = "us-east-1"
            client_id = "cc-client"
            client_secret = "cc-secret"
            "#,
        )
        .unwrap()
    }

    fn stored(profile: &str, api_base: &str) -> crate::platform::token_store::StoredSession {
        crate::platform::token_store::StoredSession {
            profile: profile.into(),
            client_id: "pkce-client".into(),
            api_base: api_base.into(),
            login_base: login_base_for(api_base),
            access_token: crate::platform::signin::Secret::new("user-token"),
            refresh_token: None,
            expires_at: i64::MAX,
            identity: Default::default(),
        }
    }

    fn store() -> (crate::platform::token_store::TokenStore, PathBuf) {
        let dir = std::env::temp_dir().join(format!("confwatch-profiles-{}", uuid::Uuid::new_v4()));
        (
            crate::platform::token_store::TokenStore::file_only(&dir),
            dir,
        )
    }

    #[test]
    fn a_pkce_profile_uses_its_signed_in_user_and_its_queues() {
        let (store, dir) = store();
        let args = ConnectionArgs {
            profile: Some("dublin".into()),
            ..Default::default()
        };
        let err = resolve_with_profiles(&args, &env_of(&[]), profiles_file(), &store).unwrap_err();
        assert!(
            err.to_string().contains("confwatch login --profile dublin"),
            "{err}"
        );
        store
            .save(&stored("dublin", "https://api.mypurecloud.ie"))
            .unwrap();
        let (config, profile) = resolve_with_profiles(&args, &env_of(&[]), profiles_file(), &store)
            .unwrap()
            .unwrap();
        assert!(matches!(config.credentials, Credentials::User(_)));
        assert_eq!(config.client_id(), Some("pkce-client"));
        assert_eq!(profile.name.as_deref(), Some("dublin"));
        assert_eq!(profile.queues, vec!["Support".to_string()]);
        assert!(!format!("{config:?}").contains("user-token"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_client_credentials_profile_and_an_unknown_one() {
        let (store, _dir) = store();
        let args = ConnectionArgs {
            profile: Some("robot".into()),
            ..Default::default()
        };
        let (config, profile) = resolve_with_profiles(&args, &env_of(&[]), profiles_file(), &store)
            .unwrap()
            .unwrap();
        assert_eq!(config.api_base, "https://api.mypurecloud.com");
        assert_eq!(
            config.credentials,
            Credentials::OAuthClient {
                client_id: "cc-client".into(),
                secret: "cc-secret".into()
            }
        );
        assert_eq!(profile.name.as_deref(), Some("robot"));
        let args = ConnectionArgs {
            profile: Some("nope".into()),
            ..Default::default()
        };
        let err = resolve_with_profiles(&args, &env_of(&[]), profiles_file(), &store).unwrap_err();
        assert!(err.to_string().contains("[profiles.nope]"), "{err}");
    }

    #[test]
    fn without_a_profile_the_old_way_wins_then_the_default_sign_in() {
        let (store, dir) = store();
        let env = env_of(&[
            ("GENESYSCLOUD_OAUTHCLIENT_ID", "env-id"),
            ("GENESYSCLOUD_OAUTHCLIENT_SECRET", "env-secret"),
            ("GENESYSCLOUD_REGION", "us-east-1"),
        ]);
        store
            .save(&stored(DEFAULT_PROFILE, "http://127.0.0.1:9"))
            .unwrap();
        let (config, _) = resolve_with_profiles(
            &ConnectionArgs::default(),
            &env,
            FileConfig::default(),
            &store,
        )
        .unwrap()
        .unwrap();
        assert!(matches!(
            config.credentials,
            Credentials::OAuthClient { .. }
        ));
        let (config, profile) = resolve_with_profiles(
            &ConnectionArgs::default(),
            &env_of(&[]),
            FileConfig::default(),
            &store,
        )
        .unwrap()
        .unwrap();
        assert!(matches!(config.credentials, Credentials::User(_)));
        assert_eq!(profile.name.as_deref(), Some(DEFAULT_PROFILE));
        let elsewhere = ConnectionArgs {
            base_url: Some("http://127.0.0.1:10".into()),
            ..Default::default()
        };
        let err = resolve_with_profiles(&elsewhere, &env_of(&[]), FileConfig::default(), &store)
            .unwrap_err();
        assert!(err.to_string().contains("confwatch login"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn login_goes_to_the_profiles_login_host_and_port() {
        let args = ConnectionArgs {
            profile: Some("dublin".into()),
            ..Default::default()
        };
        let target = login_target_from(&args, &env_of(&[]), profiles_file()).unwrap();
        assert_eq!(target.login_base, "https://login.mypurecloud.ie");
        assert_eq!(target.client_id, "pkce-client");
        assert_eq!(target.redirect_port, 9000);
        let robot = ConnectionArgs {
            profile: Some("robot".into()),
            ..Default::default()
        };
        assert!(login_target_from(&robot, &env_of(&[]), profiles_file()).is_err());
        let flags = ConnectionArgs {
            base_url: Some("http://127.0.0.1:8080".into()),
            client_id: Some("confwatch-signin".into()),
            ..Default::default()
        };
        let target = login_target_from(&flags, &env_of(&[]), FileConfig::default()).unwrap();
        assert_eq!(target.login_base, "http://127.0.0.1:8080");
        assert_eq!(target.profile, DEFAULT_PROFILE);
        assert_eq!(target.redirect_port, crate::platform::signin::DEFAULT_PORT);
    }
}

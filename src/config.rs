//! Region, credentials and queues: environment, config file and flags (flags win).

use std::fmt;
use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use serde::Deserialize;

/// How to reach the platform (shared by the console, `list` and `kick`).
#[derive(Default, clap::Args)]
pub struct ConnectionArgs {
    /// API base URL (the mock or a gateway), e.g. http://127.0.0.1:8080; overrides --region.
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
    pub client_secret: Option<String>,
    /// Config file (TOML: region, base_url, client_id, client_secret) [default:
    /// confwatch/config.toml in the user's config directory].
    #[arg(long = "config", value_name = "PATH")]
    pub config: Option<PathBuf>,
}

impl fmt::Debug for ConnectionArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionArgs")
            .field("base_url", &self.base_url)
            .field("region", &self.region)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("config", &self.config)
            .finish()
    }
}

/// The config file's keys (all optional).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub region: Option<String>,
    pub base_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// The console's key bindings (read by `tui::keymap`); accepted here so the file parses.
    pub keys: Option<toml::Table>,
}

/// How the client proves who it is.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    ClientCredentials {
        client_id: String,
        secret: String,
    },
    /// `GENESYSCLOUD_ACCESS_TOKEN`: used as it is, never refreshed.
    AccessToken(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::ClientCredentials { client_id, .. } => {
                write!(f, "client credentials (id {client_id}, secret <redacted>)")
            }
            Credentials::AccessToken(_) => f.write_str("access token <redacted>"),
        }
    }
}

/// Where and how to connect, resolved from flags, environment and config file.
#[derive(Clone)]
pub struct ConnectionConfig {
    /// API base, e.g. `https://api.mypurecloud.com` or `http://127.0.0.1:8080` (no trailing `/`).
    pub api_base: String,
    /// Login base for `POST /oauth/token`.
    pub login_base: String,
    pub credentials: Credentials,
    /// Things the user should be told (a config file readable by others, say). Never secret.
    pub warnings: Vec<String>,
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("api_base", &self.api_base)
            .field("login_base", &self.login_base)
            .field("credentials", &self.credentials)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Every region of the official SDKs: its key and its domain (the API host is `api.<domain>`).
/// The list of the JavaScript SDK's `PureCloudRegionHosts.js` (255.0.0 added `eusc_de_east_1`);
/// see `docs/platform.md`.
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
pub fn region_api_base(region: &str) -> Result<String> {
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
                region.trim().chars().filter(|c| !c.is_control()).take(80).collect::<String>(),
                names.join(", ")
            )
        })?;
    Ok(format!("https://api.{domain}"))
}

/// The login host: `api.` becomes `login.`; a host without `api.` logs in on itself.
pub fn login_base_for(api_base: &str) -> String {
    match api_base.split_once("://") {
        Some((scheme, rest)) if rest.starts_with("api.") => {
            format!("{scheme}://login.{}", &rest["api.".len()..])
        }
        _ => api_base.to_string(),
    }
}

/// The default config file: `confwatch/config.toml` in the user's config directory.
pub fn default_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("confwatch").join("config.toml"))
}

impl ConnectionConfig {
    /// None when no credentials are configured anywhere (the console then starts the demo mock).
    pub fn from_args(args: &ConnectionArgs) -> Result<Option<ConnectionConfig>> {
        let (file, warnings) = match args.config.clone().or_else(default_config_path) {
            Some(path) if path.exists() => read_config_file(&path)?,
            Some(path) if args.config.is_some() => {
                bail!("config file {} does not exist", path.display())
            }
            _ => (FileConfig::default(), Vec::new()),
        };
        let mut config = resolve(args, &|name| std::env::var(name).ok(), file)?;
        if let Some(config) = config.as_mut() {
            config.warnings.extend(warnings);
        }
        Ok(config)
    }

    pub fn for_mock(base_url: &str, client_id: &str, client_secret: &str) -> ConnectionConfig {
        let api_base = base_url.trim_end_matches('/').to_string();
        ConnectionConfig {
            login_base: login_base_for(&api_base),
            api_base,
            credentials: Credentials::ClientCredentials {
                client_id: client_id.to_string(),
                secret: client_secret.to_string(),
            },
            warnings: Vec::new(),
        }
    }

    pub fn client_id(&self) -> Option<&str> {
        match &self.credentials {
            Credentials::ClientCredentials { client_id, .. } => Some(client_id),
            Credentials::AccessToken(_) => None,
        }
    }
}

/// Flags, then environment (read through `env`), then the file: the first one set wins.
pub fn resolve(
    args: &ConnectionArgs,
    env: &dyn Fn(&str) -> Option<String>,
    file: FileConfig,
) -> Result<Option<ConnectionConfig>> {
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let client_id = args
        .client_id
        .clone()
        .or_else(|| env("GENESYSCLOUD_OAUTHCLIENT_ID"))
        .or(file.client_id);
    let secret = args
        .client_secret
        .clone()
        .or_else(|| env("GENESYSCLOUD_OAUTHCLIENT_SECRET"))
        .or(file.client_secret);
    let token = env("GENESYSCLOUD_ACCESS_TOKEN");
    let credentials = match (client_id, secret, token) {
        (Some(client_id), Some(secret), _) => Credentials::ClientCredentials { client_id, secret },
        (_, _, Some(token)) => Credentials::AccessToken(token),
        (None, None, None) => return Ok(None),
        (Some(_), None, None) => bail!(
            "a client id is set but no client secret: set GENESYSCLOUD_OAUTHCLIENT_SECRET or client_secret in the config file"
        ),
        (None, Some(_), None) => bail!(
            "a client secret is set but no client id: set GENESYSCLOUD_OAUTHCLIENT_ID or --client-id"
        ),
    };
    let base_url = args.base_url.clone().or(file.base_url);
    let api_base = match base_url {
        Some(url) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("--base-url must start with http:// or https://, got {url:?}");
            }
            url.trim_end_matches('/').to_string()
        }
        None => {
            let region = args
                .region
                .clone()
                .or_else(|| env("GENESYSCLOUD_REGION"))
                .or(file.region)
                .ok_or_else(|| {
                    eyre!("no region: set --region, GENESYSCLOUD_REGION (e.g. us-east-1 or mypurecloud.com) or --base-url")
                })?;
            region_api_base(&region)?
        }
    };
    Ok(Some(ConnectionConfig {
        login_base: login_base_for(&api_base),
        api_base,
        credentials,
        warnings: Vec::new(),
    }))
}

/// Reads the config file; warns when others may read it (it may hold the secret).
fn read_config_file(path: &Path) -> Result<(FileConfig, Vec<String>)> {
    let text = std::fs::read_to_string(path)
        .wrap_err_with(|| format!("reading config file {}", path.display()))?;
    let file: FileConfig = toml::from_str(&text)
        .map_err(|e| eyre!("config file {}: {}", path.display(), e.message()))?;
    let mut warnings = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0);
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
            Credentials::ClientCredentials {
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
}

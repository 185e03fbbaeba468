//! Where a signed-in user's tokens are kept between runs: the OS keyring when there is one
//! (macOS Keychain, Windows Credential Manager, the Linux kernel keyring), else a file of mode
//! 0600 in the user's state directory. Never the config file.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr, bail};
use serde::{Deserialize, Serialize};

use super::identity::Identity;
use super::signin::Secret;

/// The keyring's service name; the entry's user is the profile.
const SERVICE: &str = "confwatch";

/// A signed-in session: the tokens and who they belong to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSession {
    pub(crate) profile: String,
    pub(crate) client_id: String,
    pub(crate) api_base: String,
    pub(crate) login_base: String,
    pub access_token: Secret,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// When the access token stops working (Unix seconds).
    pub(crate) expires_at: i64,
    pub identity: Identity,
}

impl StoredSession {
    pub(crate) fn expired(&self, now_unix: i64) -> bool {
        now_unix >= self.expires_at
    }
}

/// Where a session was stored (said to the user; never secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    Keyring,
    File(PathBuf),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Keyring => f.write_str("the OS keyring"),
            Place::File(path) => write!(f, "{} (mode 0600)", path.display()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct TokenStore {
    dir: PathBuf,
    keyring: bool,
}

/// Profile names become keyring entries and file names: letters, digits, `-`, `_` only.
pub(crate) fn check_profile_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("profile names use letters, digits, - and _ only (got {name:?})");
    }
    Ok(())
}

impl TokenStore {
    /// The user's store. `CONFWATCH_STATE_DIR` moves the file; `CONFWATCH_TOKEN_STORE=file`
    /// skips the keyring (tests, or a keyring that should not be used).
    pub(crate) fn from_env() -> TokenStore {
        let dir = std::env::var_os("CONFWATCH_STATE_DIR")
            .map(PathBuf::from)
            .or_else(|| dirs::state_dir().map(|d| d.join("confwatch")))
            .or_else(|| dirs::data_local_dir().map(|d| d.join("confwatch")))
            .unwrap_or_else(|| std::env::temp_dir().join("confwatch"));
        let keyring = !std::env::var("CONFWATCH_TOKEN_STORE").is_ok_and(|v| v == "file");
        TokenStore { dir, keyring }
    }

    /// A file store only, in `dir`.
    pub fn file_only(dir: &Path) -> TokenStore {
        TokenStore {
            dir: dir.to_path_buf(),
            keyring: false,
        }
    }

    fn file(&self, profile: &str) -> PathBuf {
        self.dir.join(format!("tokens-{profile}.json"))
    }

    fn entry(&self, profile: &str) -> Option<keyring::Entry> {
        if !self.keyring {
            return None;
        }
        keyring::Entry::new(SERVICE, profile)
            .map_err(|e| tracing::info!("token store: no keyring ({e}); using the file"))
            .ok()
    }

    pub(crate) fn save(&self, session: &StoredSession) -> Result<Place> {
        check_profile_name(&session.profile)?;
        let json = serde_json::to_string(session).wrap_err("encoding the session")?;
        if let Some(entry) = self.entry(&session.profile) {
            match entry.set_password(&json) {
                Ok(()) => {
                    // One place only: an older file copy goes.
                    let _ = std::fs::remove_file(self.file(&session.profile));
                    return Ok(Place::Keyring);
                }
                Err(e) => tracing::info!("token store: keyring unavailable ({e}); using the file"),
            }
        }
        let path = self.file(&session.profile);
        write_private(&path, json.as_bytes())?;
        Ok(Place::File(path))
    }

    pub(crate) fn load(&self, profile: &str) -> Result<Option<StoredSession>> {
        check_profile_name(profile)?;
        if let Some(entry) = self.entry(profile) {
            match entry.get_password() {
                Ok(json) => {
                    return serde_json::from_str(&json).map(Some).wrap_err(
                        "the keyring's confwatch entry is not readable; run `confwatch logout`",
                    );
                }
                Err(keyring::Error::NoEntry) => {}
                Err(e) => tracing::info!("token store: keyring unavailable ({e}); trying the file"),
            }
        }
        let path = self.file(profile);
        match std::fs::read_to_string(&path) {
            Ok(json) => serde_json::from_str(&json).map(Some).wrap_err_with(|| {
                format!("{} is not readable; run `confwatch logout`", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).wrap_err_with(|| format!("reading {}", path.display())),
        }
    }

    /// Forgets the profile's session wherever it is; true if there was one.
    pub(crate) fn forget(&self, profile: &str) -> Result<bool> {
        check_profile_name(profile)?;
        let mut found = false;
        if let Some(entry) = self.entry(profile) {
            found |= entry.delete_credential().is_ok();
        }
        match std::fs::remove_file(self.file(profile)) {
            Ok(()) => found = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).wrap_err("removing the token file"),
        }
        Ok(found)
    }
}

/// Writes `bytes` to `path` readable by the owner only (directory 0700), replacing it whole.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let mut file = options
        .open(&tmp)
        .wrap_err_with(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .wrap_err_with(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).wrap_err_with(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> StoredSession {
        StoredSession {
            profile: "default".into(),
            client_id: "cid".into(),
            api_base: "http://127.0.0.1:1".into(),
            login_base: "http://127.0.0.1:1".into(),
            access_token: Secret::new("tok-very-secret"),
            refresh_token: None,
            expires_at: 10,
            identity: Identity::default(),
        }
    }

    #[test]
    fn the_file_store_keeps_sessions_private_and_forgets_them() {
        let dir = std::env::temp_dir().join(format!("confwatch-store-{}", uuid::Uuid::new_v4()));
        let store = TokenStore::file_only(&dir);
        assert_eq!(store.load("default").unwrap(), None);
        let place = store.save(&session()).unwrap();
        let Place::File(path) = &place else {
            panic!("{place:?}")
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(store.load("default").unwrap(), Some(session()));
        assert!(!format!("{:?}", session()).contains("tok-very-secret"));
        assert!(store.forget("default").unwrap());
        assert!(!store.forget("default").unwrap());
        assert_eq!(store.load("default").unwrap(), None);
        assert!(store.load("../etc").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

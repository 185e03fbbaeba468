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

/// A token file is a few kilobytes; a larger one is refused, not read.
const MAX_FILE_BYTES: u64 = 256 * 1024;

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
        private_dir(&self.dir).join(format!("tokens-{profile}.json"))
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
        match untrusted_input::read_capped(&path, MAX_FILE_BYTES) {
            Ok(json) => serde_json::from_str(&json).map(Some).wrap_err_with(|| {
                format!(
                    "{} is not readable; run `confwatch logout` to remove it",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).wrap_err("run `confwatch logout` to remove it"),
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

/// Where the token files go in `dir`: `dir` itself, unless others may write to it (a shared
/// directory such as `/tmp`, mode 1777): then a subdirectory of this user's own in it, so the
/// shared one is never changed.
fn private_dir(dir: &Path) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let shared = std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o022 != 0);
        if shared {
            // SAFETY: getuid has no preconditions and cannot fail.
            let uid = unsafe { libc::getuid() };
            return dir.join(format!("confwatch-{uid}"));
        }
    }
    dir.to_path_buf()
}

/// Creates `dir` (mode 0700) if it is missing; an existing one is used as it is, unless it is
/// this user's private subdirectory of a shared one, which must be theirs and private.
fn make_private_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        match std::fs::symlink_metadata(dir) {
            Ok(meta) => {
                // SAFETY: getuid has no preconditions and cannot fail.
                let uid = unsafe { libc::getuid() };
                let in_shared = dir
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy() == format!("confwatch-{uid}"));
                if in_shared
                    && (!meta.is_dir()
                        || meta.uid() != uid
                        || meta.permissions().mode() & 0o077 != 0)
                {
                    bail!(
                        "{} is not a private directory of this user (someone else made it?); remove it or set CONFWATCH_STATE_DIR",
                        dir.display()
                    );
                }
                Ok(())
            }
            Err(_) => std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .wrap_err_with(|| format!("creating {}", dir.display())),
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))
}

/// Writes `bytes` to `path` readable by the owner only, replacing it whole.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    make_private_dir(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
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

    /// A shared directory (1777, like `/tmp`) keeps its mode and sticky bit: the file goes in
    /// a private subdirectory of this user's, where `load` finds it again.
    #[cfg(unix)]
    #[test]
    fn a_shared_directory_is_left_alone_and_a_private_one_made_in_it() {
        use std::os::unix::fs::PermissionsExt;
        let shared =
            std::env::temp_dir().join(format!("confwatch-shared-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let store = TokenStore::file_only(&shared);
        let Place::File(path) = store.save(&session()).unwrap() else {
            panic!("not a file")
        };
        let mode = std::fs::metadata(&shared).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o1777, "the shared directory was changed");
        let private = path.parent().unwrap();
        assert_ne!(private, shared.as_path());
        let private_mode = std::fs::metadata(private).unwrap().permissions().mode();
        assert_eq!(private_mode & 0o777, 0o700);
        assert_eq!(store.load("default").unwrap(), Some(session()));
        // A subdirectory someone else could read is refused, not used.
        std::fs::set_permissions(private, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(store.save(&session()).is_err());
        std::fs::remove_dir_all(&shared).unwrap();
    }
}

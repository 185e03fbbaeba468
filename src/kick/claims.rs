//! Per-call claims between kicks of the same user on one machine (`confwatch kick` processes,
//! and the console's jobs): each kick leaves a file naming its target in the call's folder of the
//! state directory while it runs. Before each PATCH a kick counts the targets of the claims taken
//! before its own as leaving (`kick::safety`), so of two kicks at once the later one sees the
//! earlier and is refused when together they would leave fewer than two connected parties.
//!
//! Everything is in the file's name (when it was taken, when it expires, the process, the
//! target), so a claim is created in one step and read without opening it. A claim is removed
//! when its job ends; one left by a crashed process counts until it expires (its job's deadline).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Claim folders hold few files; a folder stuffed with more is read only this far.
const MOST_CLAIMS_READ: usize = 256;
/// Ids longer than this are not claimed (a platform id is a 36-character UUID).
const LONGEST_ID: usize = 96;

/// The default folder: `confwatch/claims` in the user's state directory.
pub(crate) fn default_claims_dir() -> PathBuf {
    crate::kick::lock::default_history_path()
        .parent()
        .map(|dir| dir.join("claims"))
        .unwrap_or_else(|| PathBuf::from("claims"))
}

/// One kick's claim on a call; the file goes when this is dropped.
#[derive(Debug)]
pub(crate) struct Claim {
    folder: PathBuf,
    file: PathBuf,
    rank: Rank,
}

/// The order claims were taken in: time, then process, then a random tie-break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    taken_ns: u128,
    pid: u32,
    nonce: u32,
}

/// A claim as read from its file name.
struct Seen {
    rank: Rank,
    expires_ms: u128,
    who: String,
}

impl Claim {
    /// Claims `conversation_id` for removing `who` (a participant or user id) until `expires_in`
    /// has passed.
    pub(crate) fn take(
        dir: &Path,
        conversation_id: &str,
        who: &str,
        expires_in: Duration,
    ) -> std::io::Result<Claim> {
        if conversation_id.len() > LONGEST_ID || who.len() > LONGEST_ID {
            return Err(std::io::Error::other("id too long to claim"));
        }
        let folder = dir.join(hex(conversation_id));
        create_private_dir(&folder)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let rank = Rank {
            taken_ns: now.as_nanos(),
            pid: std::process::id(),
            nonce: rand::random(),
        };
        let expires_ms = now.saturating_add(expires_in).as_millis();
        let name = format!(
            "{}-{}-{}-{}-{}",
            rank.taken_ns,
            expires_ms,
            rank.pid,
            rank.nonce,
            hex(who)
        );
        let file = folder.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)?;
        Ok(Claim { folder, file, rank })
    }

    /// The targets (participant or user ids) of the live claims on the same call taken before
    /// this one, other than `own` target. Expired claims are removed as they are met.
    pub(crate) fn earlier_others(&self, own: &[&str]) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.folder) else {
            return Vec::new();
        };
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let mut others = Vec::new();
        for entry in entries.flatten().take(MOST_CLAIMS_READ) {
            let name = entry.file_name();
            let Some(seen) = name.to_str().and_then(parse) else {
                continue;
            };
            if seen.expires_ms <= now_ms {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            if seen.rank < self.rank && !own.contains(&seen.who.as_str()) {
                others.push(seen.who);
            }
        }
        others
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
        // The call's folder goes with its last claim (fails harmlessly while others remain).
        let _ = std::fs::remove_dir(&self.folder);
    }
}

fn parse(name: &str) -> Option<Seen> {
    let mut parts = name.splitn(5, '-');
    let taken_ns = parts.next()?.parse().ok()?;
    let expires_ms = parts.next()?.parse().ok()?;
    let pid = parts.next()?.parse().ok()?;
    let nonce = parts.next()?.parse().ok()?;
    let who = unhex(parts.next()?)?;
    Some(Seen {
        rank: Rank {
            taken_ns,
            pid,
            nonce,
        },
        expires_ms,
        who,
    })
}

/// File names from ids the platform sent: hex, so no id can name a path.
fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(2) || text.len() > 2 * LONGEST_ID {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("confwatch-claims-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_later_claim_sees_the_earlier_one_and_not_the_reverse() {
        let dir = dir("order");
        let long = Duration::from_secs(60);
        let first = Claim::take(&dir, "call-1", "agent-a", long).unwrap();
        let second = Claim::take(&dir, "call-1", "agent-b", long).unwrap();
        let elsewhere = Claim::take(&dir, "call-2", "agent-c", long).unwrap();
        assert_eq!(second.earlier_others(&["agent-b"]), vec!["agent-a"]);
        assert!(first.earlier_others(&["agent-a"]).is_empty());
        assert!(elsewhere.earlier_others(&["agent-c"]).is_empty());
        drop(first);
        assert!(second.earlier_others(&["agent-b"]).is_empty(), "released");
        drop((second, elsewhere));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_expired_claim_no_longer_counts() {
        let dir = dir("expired");
        let stale = Claim::take(&dir, "call-1", "agent-a", Duration::ZERO).unwrap();
        let fresh = Claim::take(&dir, "call-1", "agent-b", Duration::from_secs(60)).unwrap();
        assert!(fresh.earlier_others(&["agent-b"]).is_empty());
        drop((stale, fresh));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn hostile_ids_never_name_a_path() {
        let dir = dir("hostile");
        let claim = Claim::take(&dir, "../../etc", "../x", Duration::from_secs(60)).unwrap();
        assert!(claim.file.starts_with(&dir));
        assert_eq!(unhex(&hex("../x")).as_deref(), Some("../x"));
        assert!(Claim::take(&dir, &"x".repeat(200), "a", Duration::from_secs(1)).is_err());
        drop(claim);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Append-only record of every kick (JSON lines, fsynced): who (the OAuth client id), when, which
//! conversation and participant, the participant's name and purpose, and each step. No tokens.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use color_eyre::eyre::{Result, WrapErr};
use serde::Serialize;

use crate::kick::Step;
use crate::wire::{Purpose, Timestamp};

/// The default audit file: `confwatch/audit.jsonl` in the user's data directory.
pub(crate) fn default_audit_path() -> PathBuf {
    dirs::data_local_dir()
        .or_else(dirs::data_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("confwatch")
        .join("audit.jsonl")
}

/// One line of the audit file.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditRecord {
    pub(crate) at: Timestamp,
    /// Who acted: the signed-in user (id, name, email), the OS user and the OAuth client id.
    pub(crate) who: crate::platform::identity::Who,
    pub(crate) conversation_id: String,
    /// The participant (None until a user target is resolved).
    pub(crate) participant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) purpose: Option<Purpose>,
    #[serde(flatten)]
    pub(crate) entry: AuditEntry,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum AuditEntry {
    /// The kick was asked for.
    Request {
        force: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
    },
    /// A step of the job (attempts, answers, waits, the outcome).
    Progress {
        #[serde(flatten)]
        step: Step,
    },
}

/// The open audit file. Each line is written whole and synced before `record` returns. The
/// record fails closed: a kick whose line cannot be written and synced sends nothing more.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
    /// A line could not be written (the command then exits non-zero).
    failed: std::sync::atomic::AtomicBool,
}

impl AuditLog {
    /// Opens (creates, mode 0600) the file. An existing file must be a regular file; one that
    /// others may read is tightened to 0600, or refused when that fails.
    pub(crate) fn open(path: &Path) -> Result<AuditLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .wrap_err_with(|| format!("creating audit directory {}", dir.display()))?;
        }
        if let Ok(meta) = std::fs::metadata(path) {
            if !meta.is_file() {
                color_eyre::eyre::bail!(
                    "audit file {} is not a regular file; refused",
                    path.display()
                );
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode();
                if mode & 0o077 != 0 {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                        .wrap_err_with(|| {
                            format!(
                                "audit file {} is readable by others (mode {:o}) and could not be tightened to 0600; refused",
                                path.display(),
                                mode & 0o777
                            )
                        })?;
                    tracing::warn!(
                        "audit file {} was mode {:o}; tightened to 0600",
                        path.display(),
                        mode & 0o777
                    );
                }
            }
        }
        let mut options = OpenOptions::new();
        options.create(true).append(true).read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(path)
            .wrap_err_with(|| format!("opening audit file {}", path.display()))?;
        close_torn_tail(&mut file)
            .wrap_err_with(|| format!("repairing audit file {}", path.display()))?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            failed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether any line could not be written.
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line and syncs it to disk.
    pub(crate) fn record(&self, record: &AuditRecord) -> Result<()> {
        let mut line = serde_json::to_vec(record).wrap_err("encoding an audit line")?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| color_eyre::eyre::eyre!("audit file lock poisoned"))?;
        let before = file.metadata().map(|m| m.len());
        let written = file.write_all(&line).and_then(|()| file.sync_data());
        if let Err(e) = written {
            self.failed
                .store(true, std::sync::atomic::Ordering::Relaxed);
            // A line is whole or absent: the part a full disk let through is cut back off, so
            // the next line does not start glued to half of this one. Only when the growth is
            // at most this line (no other writer's line after it).
            if let (Ok(before), Ok(now)) = (before, file.metadata().map(|m| m.len()))
                && now > before
                && now - before <= line.len() as u64
                && let Err(cut) = file.set_len(before).and_then(|()| file.sync_data())
            {
                tracing::error!("audit: the partial line could not be cut off: {cut}");
            }
            return Err(e).wrap_err_with(|| format!("writing audit file {}", self.path.display()));
        }
        Ok(())
    }
}

/// A file whose last line is torn (a crash or power loss mid-write in an earlier run) gets a
/// line end, so the torn line stays as it was (an audit keeps every byte) and the next record
/// starts a line of its own. Readers skip the torn line: it does not parse.
fn close_torn_tail(file: &mut File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(());
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        tracing::warn!("audit: the file's last line was torn (an earlier crash?); closed it");
        file.write_all(b"\n")?;
        file.sync_data()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_appended_as_json() {
        let path =
            std::env::temp_dir().join(format!("confwatch-audit-{}.jsonl", uuid::Uuid::new_v4()));
        let log = AuditLog::open(&path).unwrap();
        let record = |entry| AuditRecord {
            at: Timestamp::now(),
            who: crate::platform::identity::Who {
                client_id: Some("client-1".into()),
                ..Default::default()
            },
            conversation_id: "c1".into(),
            participant_id: Some("p1".into()),
            name: Some("Ann".into()),
            purpose: Some(crate::wire::Purpose::Agent),
            entry,
        };
        log.record(&record(AuditEntry::Request {
            force: false,
            user_id: None,
        }))
        .unwrap();
        log.record(&record(AuditEntry::Progress {
            step: Step::Attempt { number: 1 },
        }))
        .unwrap();
        drop(log);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "request");
        assert_eq!(lines[0]["who"]["clientId"], "client-1");
        assert_eq!(lines[1]["event"], "progress");
        assert_eq!(lines[1]["step"], "attempt");
        assert_eq!(lines[1]["number"], 1);
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_file_readable_by_others_is_tightened_to_0600() {
        use std::os::unix::fs::PermissionsExt;
        let path =
            std::env::temp_dir().join(format!("confwatch-audit-{}.jsonl", uuid::Uuid::new_v4()));
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _log = AuditLog::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_refused_and_a_failed_write_is_an_error() {
        let err = AuditLog::open(Path::new("/dev/full"))
            .err()
            .expect("refused");
        assert!(format!("{err:#}").contains("not a regular file"), "{err:#}");
        let path =
            std::env::temp_dir().join(format!("confwatch-audit-{}.jsonl", uuid::Uuid::new_v4()));
        let log = AuditLog::open(&path).unwrap();
        // A write that cannot land (the file swapped for a full device) reports failure.
        *log.file.lock().unwrap() = OpenOptions::new().append(true).open("/dev/full").unwrap();
        let record = AuditRecord {
            at: Timestamp::now(),
            who: crate::platform::identity::Who::new(None, None),
            conversation_id: "c1".into(),
            participant_id: None,
            name: None,
            purpose: None,
            entry: AuditEntry::Request {
                force: false,
                user_id: None,
            },
        };
        assert!(log.record(&record).is_err());
        assert!(log.failed());
        std::fs::remove_file(&path).unwrap();
    }
}

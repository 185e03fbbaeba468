//! The request log read by `GET /mock/requests`: the latest platform requests, in order,
//! bounded in entries and in bytes (long paths are cut), whatever a peer sends.

use std::collections::VecDeque;

use serde::Serialize;

use genesys_cloud_models::Timestamp;

/// The log keeps at most this many entries and about this many bytes; older ones are dropped
/// (their `seq` is never reused).
const CAPACITY: usize = 20_000;
const MAX_BYTES: usize = 4 * 1024 * 1024;
/// A logged path keeps at most this many bytes (then `…`).
pub(super) const MAX_PATH_BYTES: usize = 512;
/// An entry's size beyond its strings, roughly.
const ENTRY_OVERHEAD: usize = 96;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    pub(crate) seq: u64,
    pub(crate) at: Timestamp,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
}

impl LoggedRequest {
    fn size(&self) -> usize {
        ENTRY_OVERHEAD
            + self.method.len()
            + self.path.len()
            + self.client_id.as_ref().map_or(0, String::len)
    }
}

/// `text` cut to at most `max` bytes on a character boundary, marked with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[derive(Debug, Default)]
pub(super) struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    bytes: usize,
    last_seq: u64,
}

impl RequestLog {
    pub(super) fn record(
        &mut self,
        at: Timestamp,
        method: &str,
        path: &str,
        status: u16,
        client_id: Option<String>,
    ) {
        self.last_seq += 1;
        let entry = LoggedRequest {
            seq: self.last_seq,
            at,
            method: cut(method, 32),
            path: cut(path, MAX_PATH_BYTES),
            status,
            client_id: client_id.map(|id| cut(&id, 256)),
        };
        self.bytes += entry.size();
        self.entries.push_back(entry);
        while self.entries.len() > CAPACITY || self.bytes > MAX_BYTES {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= old.size();
        }
    }

    /// Entries with `seq` greater than `since`.
    pub(super) fn since(&self, since: u64) -> Vec<LoggedRequest> {
        let start = self.entries.partition_point(|e| e.seq <= since);
        self.entries.iter().skip(start).cloned().collect()
    }

    /// Forgets the entries; numbering goes on.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_returns_later_entries_and_numbering_survives_clear() {
        let mut log = RequestLog::default();
        log.record(Timestamp::now(), "GET", "/a", 200, None);
        log.record(Timestamp::now(), "GET", "/b", 200, None);
        assert_eq!(log.since(1).len(), 1);
        assert_eq!(log.since(1)[0].path, "/b");
        log.clear();
        log.record(Timestamp::now(), "GET", "/c", 200, None);
        assert_eq!(log.since(0)[0].seq, 3);
    }

    #[test]
    fn the_log_is_bounded_in_entries_and_bytes_and_cuts_long_paths() {
        let mut log = RequestLog::default();
        let long = format!("/api/v2/{}", "é".repeat(40_000));
        for _ in 0..(CAPACITY + 500) {
            log.record(Timestamp::now(), "GET", &long, 404, Some("c".into()));
        }
        let all = log.since(0);
        assert!(all.len() <= CAPACITY, "{} entries", all.len());
        let bytes: usize = all.iter().map(LoggedRequest::size).sum();
        assert!(bytes <= MAX_BYTES, "{bytes} bytes");
        assert!(all[0].path.len() <= MAX_PATH_BYTES + '…'.len_utf8());
        assert!(all[0].path.ends_with('…'));
        assert_eq!(all.last().unwrap().seq, (CAPACITY + 500) as u64);
        for _ in 0..(CAPACITY + 10) {
            log.record(Timestamp::now(), "GET", "/short", 200, None);
        }
        assert_eq!(
            log.since(0).len(),
            CAPACITY,
            "short entries fill the log up to its count"
        );
    }
}

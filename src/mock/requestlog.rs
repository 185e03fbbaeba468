//! The request log read by `GET /mock/requests`: every platform request, in order.

use std::collections::VecDeque;

use serde::Serialize;

use crate::platform::models::Timestamp;

/// The log keeps this many entries; older ones are dropped (their `seq` is never reused).
const CAPACITY: usize = 100_000;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    pub seq: u64,
    pub at: Timestamp,
    pub method: String,
    pub path: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

#[derive(Debug, Default)]
pub struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    last_seq: u64,
}

impl RequestLog {
    pub fn record(
        &mut self,
        at: Timestamp,
        method: &str,
        path: &str,
        status: u16,
        client_id: Option<String>,
    ) {
        self.last_seq += 1;
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(LoggedRequest {
            seq: self.last_seq,
            at,
            method: method.to_string(),
            path: path.to_string(),
            status,
            client_id,
        });
    }

    /// Entries with `seq` greater than `since`.
    pub fn since(&self, since: u64) -> Vec<LoggedRequest> {
        let start = self.entries.partition_point(|e| e.seq <= since);
        self.entries.iter().skip(start).cloned().collect()
    }

    /// Forgets the entries; numbering goes on.
    pub fn clear(&mut self) {
        self.entries.clear();
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
}

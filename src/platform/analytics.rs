//! Finding the active calls, and what they look like, from the analytics details query alone
//! (`conversationEnd notExists`), page by page. No call is read on its own: at 10,000 calls a
//! GET each would spend more than half an hour of a 300-a-minute budget.
//!
//! The query's rules (ConversationQuery docs in the SDKs; developer-center-blog 2022-04-21
//! "Analytics conversations API behavior"): the interval selects conversations that *started on
//! a day the interval touches*; `totalHits` is approximate and pages shift while they are read
//! (so dedupe, and stop on an empty or short page, never on `totalHits`); 200 a page at most.

use std::collections::HashSet;

use chrono::{DateTime, Duration as ChronoDuration, NaiveTime, Utc};
use reqwest::Method;

use super::error::ApiError;
use super::http::Client;
use crate::wire::{
    AnalyticsConversation, AnalyticsConversationQueryResponse, AnalyticsParticipant,
    CallConversation, CallMediaParticipant, ConversationQuery, EntityRef, PagingSpec,
    ParticipantState, Purpose, QueryFilter, QueryPredicate, Timestamp,
};

/// Days before today whose calls are still looked for: the interval selects by the day a call
/// started, so it reaches back to midnight (UTC) this many days ago. Calls longer than that
/// are shown once an event about them arrives.
const LOOKBACK_DAYS: i64 = 2;
/// The blog's sample names 200 as the most results a page returns.
pub(crate) const PAGE_SIZE: i64 = 200;
/// The platform pages no further than 100,000 results.
const MAX_RESULTS: i64 = 100_000;
/// The code of an answer over the platform's size limit (its text: "Reduce pageSize").
const TOO_LARGE: &str = "response.entity.too.large";

/// The largest page size of at most half `size` that divides it (so pages already read map onto
/// whole pages of the new size); none below 1.
fn smaller_page_size(size: i64) -> Option<i64> {
    (1..=size / 2).rev().find(|d| size % d == 0)
}

/// The query body for one page: unfinished voice conversations, optionally in these queues.
pub(crate) fn active_calls_query(
    queue_ids: &[String],
    page: i64,
    now: DateTime<Utc>,
) -> ConversationQuery {
    let end = now + ChronoDuration::minutes(1);
    let start = (now.date_naive() - ChronoDuration::days(LOOKBACK_DAYS))
        .and_time(NaiveTime::MIN)
        .and_utc();
    let fmt = "%Y-%m-%dT%H:%M:%S%.3fZ";
    let predicate = |dimension: &str, operator: Option<&str>, value: Option<&str>| QueryPredicate {
        kind: Some("dimension".into()),
        dimension: Some(dimension.into()),
        operator: operator.map(str::to_string),
        value: value.map(str::to_string),
    };
    let mut segment_filters = vec![QueryFilter {
        kind: "and".into(),
        clauses: None,
        predicates: Some(vec![predicate("mediaType", None, Some("voice"))]),
    }];
    if !queue_ids.is_empty() {
        segment_filters.push(QueryFilter {
            kind: "or".into(),
            clauses: None,
            predicates: Some(
                queue_ids
                    .iter()
                    .map(|id| predicate("queueId", None, Some(id)))
                    .collect(),
            ),
        });
    }
    ConversationQuery {
        interval: Some(format!("{}/{}", start.format(fmt), end.format(fmt))),
        conversation_filters: Some(vec![QueryFilter {
            kind: "and".into(),
            clauses: None,
            predicates: Some(vec![predicate("conversationEnd", Some("notExists"), None)]),
        }]),
        segment_filters: Some(segment_filters),
        order: Some("asc".into()),
        order_by: Some("conversationStart".into()),
        paging: Some(PagingSpec {
            page_size: PAGE_SIZE,
            page_number: page,
        }),
    }
}

/// Reads the active calls page by page: each [`ActiveCallPages::next`] is one request and
/// gives the calls of that page not seen on an earlier one.
#[derive(Debug)]
pub(crate) struct ActiveCallPages {
    queue_ids: Vec<String>,
    /// [`PAGE_SIZE`], smaller after a `response.entity.too.large`.
    page_size: i64,
    /// Pages of `page_size` read so far.
    page: i64,
    seen: HashSet<String>,
    done: bool,
}

impl ActiveCallPages {
    pub(crate) fn new(queue_ids: &[String]) -> Self {
        ActiveCallPages {
            queue_ids: queue_ids.to_vec(),
            page_size: PAGE_SIZE,
            page: 0,
            seen: HashSet::new(),
            done: false,
        }
    }

    /// The next page's new calls; `None` once a page came back empty or short. The caller
    /// retries a failed page with the same value (the page number moves only on success).
    pub(crate) async fn next(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<CallConversation>>, ApiError> {
        if self.done {
            return Ok(None);
        }
        let answer: AnalyticsConversationQueryResponse = loop {
            let mut query = active_calls_query(&self.queue_ids, self.page + 1, Utc::now());
            if let Some(paging) = query.paging.as_mut() {
                paging.page_size = self.page_size;
            }
            let sent = client
                .send_json(
                    Method::POST,
                    "/api/v2/analytics/conversations/details/query",
                    &query,
                )
                .await;
            match sent {
                Ok(answer) => break answer,
                // The API definition's remedy for this code: "Reduce pageSize". The calls read
                // so far stay read: the smaller size divides the larger.
                Err(e) if e.code.as_deref() == Some(TOO_LARGE) => {
                    let Some(smaller) = smaller_page_size(self.page_size) else {
                        return Err(e);
                    };
                    tracing::info!(
                        from = self.page_size,
                        to = smaller,
                        "analytics page too large"
                    );
                    self.page = self.page * self.page_size / smaller;
                    self.page_size = smaller;
                }
                Err(e) => return Err(e),
            }
        };
        self.page += 1;
        let conversations = answer.conversations.unwrap_or_default();
        // `totalHits` is approximate: only an empty or short page ends the read.
        if (conversations.len() as i64) < self.page_size
            || self.page * self.page_size >= MAX_RESULTS
        {
            self.done = true;
        }
        let fresh = conversations
            .into_iter()
            .filter(|c| c.conversation_end.is_none())
            // Pages shift while they are read: a call can show on two of them.
            .filter(|c| self.seen.insert(c.conversation_id.clone()))
            .map(|c| call_from_analytics(&c))
            .collect();
        Ok(Some(fresh))
    }
}

/// The newest active calls (one page, newest first): what a lagging first read may have missed.
pub(crate) async fn newest_active_calls(
    client: &Client,
    queue_ids: &[String],
) -> Result<Vec<CallConversation>, ApiError> {
    let mut query = active_calls_query(queue_ids, 1, Utc::now());
    query.order = Some("desc".into());
    let answer: AnalyticsConversationQueryResponse = client
        .send_json(
            Method::POST,
            "/api/v2/analytics/conversations/details/query",
            &query,
        )
        .await?;
    Ok(answer
        .conversations
        .unwrap_or_default()
        .iter()
        .filter(|c| c.conversation_end.is_none())
        .map(call_from_analytics)
        .collect())
}

impl Client {
    /// Every active call (in the given queues; all when empty), as analytics describes it.
    pub async fn active_calls(
        &self,
        queue_ids: &[String],
    ) -> Result<Vec<CallConversation>, ApiError> {
        let mut pages = ActiveCallPages::new(queue_ids);
        let mut calls = Vec::new();
        while let Some(page) = pages.next(self).await? {
            calls.extend(page);
        }
        Ok(calls)
    }
}

/// A call as the details query describes it, in the shape the live model holds. The
/// participant ids are the conversations API's own (the kick's PATCH takes them as they are).
/// Each leg's state, hold and the start of its current state follow from its open segment.
pub(crate) fn call_from_analytics(conversation: &AnalyticsConversation) -> CallConversation {
    CallConversation {
        id: conversation.conversation_id.clone(),
        participants: conversation
            .participants
            .iter()
            .enumerate()
            .map(|(n, p)| participant_from_analytics(&conversation.conversation_id, n, p))
            .collect(),
        ..Default::default()
    }
}

fn participant_from_analytics(
    conversation_id: &str,
    index: usize,
    p: &AnalyticsParticipant,
) -> CallMediaParticipant {
    // A participant id is always sent; without one, a made-up id keeps rows apart (and a
    // kick on it fails with the platform's 404 rather than hitting someone else).
    let id = p
        .participant_id
        .clone()
        .unwrap_or_else(|| format!("{conversation_id}-unidentified-{index}"));
    let voice: Vec<_> = p
        .sessions
        .iter()
        .filter(|s| s.media_type.as_deref().is_none_or(|m| m == "voice"))
        .collect();
    let mut segments: Vec<_> = voice.iter().flat_map(|s| s.segments.iter()).collect();
    segments.sort_by_key(|s| s.segment_start);
    let open = segments.iter().rev().find(|s| s.segment_end.is_none());
    let start_time = segments.iter().filter_map(|s| s.segment_start).min();
    let kind = open.and_then(|s| s.segment_type.as_deref());
    let state = match kind {
        None => ParticipantState::Disconnected,
        Some("alert") => ParticipantState::Alerting,
        Some("dialing") => ParticipantState::Dialing,
        Some("contacting") => ParticipantState::Contacting,
        // After-call work: the leg itself has ended.
        Some("wrapup") => ParticipantState::Disconnected,
        // interact, hold, ivr, system, ...: the leg is up.
        Some(_) => ParticipantState::Connected,
    };
    let since = open.and_then(|s| s.segment_start);
    let mut leg = CallMediaParticipant::new(
        id,
        p.purpose.as_ref().map_or("", Purpose::as_str),
        state.clone(),
    );
    leg.name = p.participant_name.clone();
    leg.start_time = start_time;
    leg.held = Some(kind == Some("hold"));
    leg.user = p.user_id.as_ref().map(|id| EntityRef {
        id: Some(id.clone()),
        ..Default::default()
    });
    leg.queue = segments
        .iter()
        .rev()
        .find_map(|s| s.queue_id.clone())
        .map(|id| EntityRef {
            id: Some(id),
            ..Default::default()
        });
    leg.address = voice.iter().find_map(|s| {
        if p.purpose == Some(Purpose::Customer) {
            s.ani.clone()
        } else {
            None
        }
    });
    match kind {
        Some("hold") => leg.start_hold_time = since,
        Some("alert") => leg.start_alerting_time = since,
        _ if state == ParticipantState::Connected => leg.connected_time = since,
        _ => {}
    }
    if state.is_gone() {
        leg.end_time = segments
            .iter()
            .filter_map(|s| s.segment_end)
            .max()
            .or(Some(Timestamp(Utc::now())));
    }
    leg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AnalyticsSegment, AnalyticsSession};

    fn at(secs: i64) -> Option<Timestamp> {
        Some(Timestamp(
            DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap(),
        ))
    }

    fn seg(kind: &str, start: i64, end: Option<i64>) -> AnalyticsSegment {
        AnalyticsSegment {
            segment_start: at(start),
            segment_end: end.and_then(at),
            segment_type: Some(kind.into()),
            queue_id: Some("q1".into()),
            ..Default::default()
        }
    }

    fn participant(
        id: &str,
        purpose: Purpose,
        segments: Vec<AnalyticsSegment>,
    ) -> AnalyticsParticipant {
        AnalyticsParticipant {
            participant_id: Some(id.into()),
            participant_name: Some(format!("name {id}")),
            user_id: (purpose == Purpose::Agent).then(|| format!("user-{id}")),
            purpose: Some(purpose),
            sessions: vec![AnalyticsSession {
                media_type: Some("voice".into()),
                ani: Some("tel:+1555".into()),
                segments,
                ..Default::default()
            }],
        }
    }

    #[test]
    fn each_leg_takes_its_state_hold_and_time_in_state_from_its_open_segment() {
        let conversation = AnalyticsConversation {
            conversation_id: "c1".into(),
            participants: vec![
                participant("cust", Purpose::Customer, vec![seg("interact", 0, None)]),
                participant(
                    "a1",
                    Purpose::Agent,
                    vec![
                        seg("alert", 5, Some(9)),
                        seg("interact", 9, Some(30)),
                        seg("hold", 30, None),
                    ],
                ),
                participant("a2", Purpose::Agent, vec![seg("alert", 40, None)]),
                participant(
                    "a3",
                    Purpose::Agent,
                    vec![seg("interact", 1, Some(20)), seg("wrapup", 20, None)],
                ),
                participant(
                    "a4",
                    Purpose::Agent,
                    vec![seg("hold", 1, Some(20)), seg("interact", 20, None)],
                ),
                participant("x", Purpose::External, vec![seg("dialing", 50, None)]),
            ],
            ..Default::default()
        };
        let call = call_from_analytics(&conversation);
        let leg = |id: &str| call.participant(id).unwrap();
        assert_eq!(leg("cust").state, ParticipantState::Connected);
        assert_eq!(leg("cust").address.as_deref(), Some("tel:+1555"));
        assert_eq!(leg("a1").state, ParticipantState::Connected);
        assert!(leg("a1").is_held());
        assert_eq!(leg("a1").start_hold_time, at(30));
        assert_eq!(leg("a1").start_time, at(5));
        assert_eq!(leg("a1").user_id(), Some("user-a1"));
        assert_eq!(leg("a1").queue_id(), Some("q1"));
        assert_eq!(leg("a1").name.as_deref(), Some("name a1"));
        assert_eq!(leg("a2").state, ParticipantState::Alerting);
        assert_eq!(leg("a2").start_alerting_time, at(40));
        assert_eq!(
            leg("a3").state,
            ParticipantState::Disconnected,
            "in wrap-up: the leg is gone"
        );
        assert_eq!(leg("a3").end_time, at(20));
        assert!(!leg("a4").is_held(), "a hold that ended");
        assert_eq!(
            leg("a4").connected_time,
            at(20),
            "time in state restarts when the hold ends"
        );
        assert_eq!(leg("x").state, ParticipantState::Dialing);
        assert_eq!(call.live_participants().count(), 5);
    }

    #[test]
    fn the_interval_reaches_back_to_midnight_two_days_ago_and_pages_hold_200() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T13:45:00Z")
            .unwrap()
            .to_utc();
        let query = active_calls_query(&[], 3, now);
        assert_eq!(
            query.interval.as_deref(),
            Some("2026-12-01T00:00:00.000Z/2026-12-03T13:46:00.000Z")
        );
        let paging = query.paging.unwrap();
        assert_eq!((paging.page_size, paging.page_number), (200, 3));
    }
}

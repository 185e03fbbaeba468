//! Finding the active calls: the analytics details query (`conversationEnd notExists`), paged.

use std::collections::HashSet;

use chrono::{Duration as ChronoDuration, Utc};
use reqwest::Method;

use super::error::ApiError;
use super::http::Client;
use super::models::{
    AnalyticsConversationQueryResponse, ConversationQuery, PagingSpec, QueryFilter, QueryPredicate,
};

/// How far back an active call may have started (the query needs an interval).
const LOOKBACK_HOURS: i64 = 24;
const PAGE_SIZE: i64 = 100;

/// The query body for one page: unfinished voice conversations, optionally in these queues.
pub fn active_calls_query(queue_ids: &[String], page: i64) -> ConversationQuery {
    let end = Utc::now() + ChronoDuration::minutes(1);
    let start = end - ChronoDuration::hours(LOOKBACK_HOURS);
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

impl Client {
    /// Ids of the conversations not yet ended (in the given queues; all when empty).
    pub async fn active_conversation_ids(
        &self,
        queue_ids: &[String],
    ) -> Result<Vec<String>, ApiError> {
        let mut ids = Vec::new();
        for page in 1..=50 {
            let answer: AnalyticsConversationQueryResponse = self
                .send_json(
                    Method::POST,
                    "/api/v2/analytics/conversations/details/query",
                    &active_calls_query(queue_ids, page),
                )
                .await?;
            let conversations = answer.conversations.unwrap_or_default();
            let count = conversations.len() as i64;
            ids.extend(
                conversations
                    .into_iter()
                    .filter(|c| c.conversation_end.is_none())
                    .map(|c| c.conversation_id),
            );
            let seen = (page - 1) * PAGE_SIZE + count;
            if count < PAGE_SIZE || answer.total_hits.is_some_and(|total| seen >= total) {
                break;
            }
        }
        Ok(unique_in_order(ids))
    }
}

/// Drops repeated ids, keeping each one's first place. Pages are read while the result set
/// shifts, so one call can show on two pages, not only next to itself.
fn unique_in_order(mut ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_repeated_on_a_later_page_is_kept_once_in_its_first_place() {
        let ids = ["c1", "c2", "c3", "c2", "c4", "c1"]
            .map(String::from)
            .to_vec();
        assert_eq!(unique_in_order(ids), ["c1", "c2", "c3", "c4"]);
    }
}

//! Calls: read one, remove one participant, list queues.

use reqwest::Method;

use super::error::ApiError;
use super::http::Client;
use super::models::{CallConversation, MediaParticipantRequest, Queue, QueueEntityListing};
use crate::kick::machine::PatchPath;

/// Platform ids are UUIDs; checking before sending keeps bad input off the wire and out of paths.
pub fn check_id(what: &str, id: &str) -> Result<(), String> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| format!("{what} {id:?} is not a valid id (expected a UUID such as 3f1c9a2e-8d4b-4c1e-9f7a-2b6d5e8c1a90)"))
}

impl Client {
    /// `GET /api/v2/conversations/calls/{id}`.
    pub async fn call(&self, conversation_id: &str) -> Result<CallConversation, ApiError> {
        self.get(&format!("/api/v2/conversations/calls/{conversation_id}"))
            .await
    }

    /// The kick's request: `PATCH .../participants/{pid}` with `{"state":"disconnected"}` (202).
    pub async fn disconnect_participant(
        &self,
        conversation_id: &str,
        participant_id: &str,
        path: PatchPath,
    ) -> Result<(), ApiError> {
        let url = match path {
            PatchPath::Calls => format!(
                "/api/v2/conversations/calls/{conversation_id}/participants/{participant_id}"
            ),
            PatchPath::Generic => {
                format!("/api/v2/conversations/{conversation_id}/participants/{participant_id}")
            }
        };
        self.send_no_content(Method::PATCH, &url, &MediaParticipantRequest::disconnect())
            .await
    }

    /// Every queue (`GET /api/v2/routing/queues`, all pages).
    pub async fn queues(&self) -> Result<Vec<Queue>, ApiError> {
        let mut queues = Vec::new();
        for page in 1..=100 {
            let listing: QueueEntityListing = self
                .get(&format!(
                    "/api/v2/routing/queues?pageSize=100&pageNumber={page}"
                ))
                .await?;
            let count = listing.entities.len();
            queues.extend(listing.entities);
            let last = listing
                .page_count
                .map(|pages| page >= pages)
                .unwrap_or(count < 100);
            if last || count == 0 {
                break;
            }
        }
        Ok(queues)
    }
}

//! Calls: read one, remove one participant, list queues.

use reqwest::Method;

use super::error::{ApiError, FailureKind};
use super::http::Client;
use crate::wire::{CallConversation, MediaParticipantRequest, Queue, QueueEntityListing};

/// Platform ids are UUIDs; checking before sending keeps bad input off the wire and out of paths.
pub(crate) fn check_id(what: &str, id: &str) -> Result<(), String> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        // The id may be huge or hold escape codes: echoed cleaned and cut.
        .map_err(|_| format!("{what} {:?} is not a valid id (expected a UUID such as 3f1c9a2e-8d4b-4c1e-9f7a-2b6d5e8c1a90)", crate::text::clip(id, 60)))
}

/// Ids that reach the PATCH's path may come from platform answers: one that is not a UUID (say
/// `x/../..`, which would turn the participant PATCH into the whole call's) is refused before
/// sending. (Reads are left alone: a wrong read removes nobody.)
fn checked(endpoint: &str, ids: &[(&str, &str)]) -> Result<(), ApiError> {
    for (what, id) in ids {
        check_id(what, id)
            .map_err(|message| ApiError::new(FailureKind::Rejected, endpoint, message))?;
    }
    Ok(())
}

impl Client {
    /// `GET /api/v2/conversations/calls/{id}`.
    pub async fn call(&self, conversation_id: &str) -> Result<CallConversation, ApiError> {
        self.get(&format!("/api/v2/conversations/calls/{conversation_id}"))
            .await
    }

    /// The kick's request: `PATCH .../participants/{pid}` with `{"state":"disconnected"}` (202);
    /// the answer's correlation id.
    pub async fn disconnect_participant(
        &self,
        conversation_id: &str,
        participant_id: &str,
        path: PatchPath,
    ) -> Result<Option<String>, ApiError> {
        checked(
            "PATCH participant",
            &[
                ("conversation", conversation_id),
                ("participant", participant_id),
            ],
        )?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A loopback platform that answers 202 to everything and notes `METHOD path` of each request.
    async fn recording_platform() -> (Client, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| async move {
            log.lock()
                .unwrap()
                .push(format!("{} {}", request.method(), request.uri().path()));
            axum::http::StatusCode::ACCEPTED
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = crate::platform::fake::serve(listener, app);
        (client, seen)
    }

    /// Participant ids reach the PATCH from platform answers (a user target's live leg, the
    /// console's rows). An id with path segments must never turn the participant PATCH into the
    /// call's PATCH, which disconnects everyone.
    #[tokio::test]
    async fn an_id_that_is_not_a_uuid_is_never_put_in_a_path() {
        let (client, seen) = recording_platform().await;
        let conversation = "6f1c0b7e-0000-4000-8000-000000000001";
        for (conversation, participant) in [
            (conversation, "../.."),
            (conversation, "x/../.."),
            ("../6f1c0b7e-0000-4000-8000-000000000001", "p"),
        ] {
            for path in [PatchPath::Calls, PatchPath::Generic] {
                let result = client
                    .disconnect_participant(conversation, participant, path)
                    .await;
                assert!(result.is_err(), "{participant:?} was sent");
            }
        }
        assert_eq!(*seen.lock().unwrap(), Vec::<String>::new());
    }
}

/// Which participant endpoint a PATCH goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchPath {
    /// `/api/v2/conversations/calls/{id}/participants/{pid}`
    Calls,
    /// `/api/v2/conversations/{id}/participants/{pid}` (after `400 not.a.user`).
    Generic,
}

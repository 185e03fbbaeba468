//! Who can sign in as a person: the scenario's users, the codes the authorize page handed out
//! and the clients' registered redirect URIs (data only; the pages and the exchange are in
//! `signin.rs`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The organization every mock user belongs to (`GET /api/v2/users/me?expand=organization`).
pub(super) const ORG_ID: &str = "5a2b9c1e-0d3f-4e6a-9b7c-2f1e0d3c4b5a";

/// A person who can sign in, with the permissions their roles grant.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) email: String,
    /// Permission strings; `"*"` grants all.
    #[serde(default)]
    pub(crate) permissions: Vec<String>,
}

/// A code handed out by the authorize page, waiting to be exchanged once.
#[derive(Debug)]
pub(super) struct PendingCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: String,
    pub(crate) user_id: String,
    pub(crate) expires_at: Instant,
}

/// Users, pending codes and the clients' registered redirect URIs.
#[derive(Debug, Default)]
pub(super) struct Signin {
    pub(crate) users: Vec<User>,
    /// Client id → registered redirect URIs (a client with none cannot use this grant).
    pub(crate) redirect_uris: HashMap<String, Vec<String>>,
    pub(crate) code_lifetime: Duration,
    pub(crate) org_name: String,
    pub(crate) codes: HashMap<String, PendingCode>,
}

impl Signin {
    pub(super) fn new(
        users: Vec<User>,
        redirect_uris: HashMap<String, Vec<String>>,
        code_lifetime: Duration,
        org_name: String,
    ) -> Signin {
        Signin {
            users,
            redirect_uris,
            code_lifetime,
            org_name,
            codes: HashMap::new(),
        }
    }

    pub(super) fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Whether `uri` is registered for `client_id`. A loopback URI matches on any port (RFC 8252
    /// §7.3), so tests can listen on a free port; scheme, host and path must match.
    pub(super) fn registered(&self, client_id: &str, uri: &str) -> bool {
        let Some(list) = self.redirect_uris.get(client_id) else {
            return false;
        };
        let Ok(asked) = url::Url::parse(uri) else {
            return false;
        };
        list.iter().any(|r| {
            let Ok(known) = url::Url::parse(r) else {
                return false;
            };
            let loopback = matches!(known.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
            known.scheme() == asked.scheme()
                && known.host_str() == asked.host_str()
                && known.path() == asked.path()
                && (loopback || known.port_or_known_default() == asked.port_or_known_default())
        })
    }
}

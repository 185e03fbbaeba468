//! Where and how the client connects: the API and login hosts and the credentials.

use super::signin::Secret;
use super::token_store::StoredSession;

/// How the client proves who it is. `Debug` shows no secret (each is a [`Secret`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// An OAuth client's own id and secret (the client-credentials grant).
    OAuthClient { client_id: String, secret: Secret },
    /// `GENESYSCLOUD_ACCESS_TOKEN`: used as it is, never refreshed.
    AccessToken(Secret),
    /// A person signed in with `confwatch login` (tokens from the token store).
    User(Box<StoredSession>),
}

/// Where and how to connect, resolved from flags, environment and config file.
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// API base, e.g. `https://api.mypurecloud.com` or `http://127.0.0.1:8080` (no trailing `/`).
    pub(crate) api_base: String,
    /// Login base for `POST /oauth/token`.
    pub(crate) login_base: String,
    pub(crate) credentials: Credentials,
    /// Things the user should be told (a config file readable by others, say). Never secret.
    pub(crate) warnings: Vec<String>,
    /// The most bytes of one API answer's body, and of one notification message; None: as
    /// `CONFWATCH_MAX_ANSWER_BYTES` says (read by [`Client::new`](super::Client::new), the one
    /// place that reads it), else 8 MiB.
    pub(crate) max_answer_bytes: Option<usize>,
}

impl ConnectionConfig {
    pub fn for_mock(base_url: &str, client_id: &str, client_secret: &str) -> ConnectionConfig {
        let api_base = base_url.trim_end_matches('/').to_string();
        ConnectionConfig {
            login_base: login_base_for(&api_base),
            api_base,
            credentials: Credentials::OAuthClient {
                client_id: client_id.to_string(),
                secret: Secret::new(client_secret),
            },
            warnings: Vec::new(),
            max_answer_bytes: None,
        }
    }

    /// This connection's answer cap, whatever the environment says (a test's small cap on its
    /// own client, in a process shared with others).
    pub fn with_max_answer_bytes(mut self, bytes: usize) -> ConnectionConfig {
        self.max_answer_bytes = Some(bytes);
        self
    }

    pub(crate) fn client_id(&self) -> Option<&str> {
        match &self.credentials {
            Credentials::OAuthClient { client_id, .. } => Some(client_id),
            Credentials::AccessToken(_) => None,
            Credentials::User(session) => Some(&session.client_id),
        }
    }
}

/// The login host: `api.` becomes `login.`; a host without `api.` logs in on itself.
pub(crate) fn login_base_for(api_base: &str) -> String {
    match api_base.split_once("://") {
        Some((scheme, rest)) if rest.starts_with("api.") => {
            format!("{scheme}://login.{}", &rest["api.".len()..])
        }
        _ => api_base.to_string(),
    }
}

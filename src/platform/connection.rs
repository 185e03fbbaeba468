//! Where and how the client connects: the API and login hosts and the credentials.

use std::fmt;

use super::token_store::StoredSession;

/// How the client proves who it is.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// An OAuth client's own id and secret (the client-credentials grant).
    OAuthClient { client_id: String, secret: String },
    /// `GENESYSCLOUD_ACCESS_TOKEN`: used as it is, never refreshed.
    AccessToken(String),
    /// A person signed in with `confwatch login` (tokens from the token store).
    User(Box<StoredSession>),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::OAuthClient { client_id, .. } => {
                write!(f, "client credentials (id {client_id}, secret <redacted>)")
            }
            Credentials::AccessToken(_) => f.write_str("access token <redacted>"),
            Credentials::User(session) => write!(
                f,
                "signed-in user {} (client id {}, tokens <redacted>)",
                session.identity.user_id, session.client_id
            ),
        }
    }
}

/// Where and how to connect, resolved from flags, environment and config file.
#[derive(Clone)]
pub struct ConnectionConfig {
    /// API base, e.g. `https://api.mypurecloud.com` or `http://127.0.0.1:8080` (no trailing `/`).
    pub(crate) api_base: String,
    /// Login base for `POST /oauth/token`.
    pub(crate) login_base: String,
    pub(crate) credentials: Credentials,
    /// Things the user should be told (a config file readable by others, say). Never secret.
    pub(crate) warnings: Vec<String>,
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("api_base", &self.api_base)
            .field("login_base", &self.login_base)
            .field("credentials", &self.credentials)
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl ConnectionConfig {
    pub fn for_mock(base_url: &str, client_id: &str, client_secret: &str) -> ConnectionConfig {
        let api_base = base_url.trim_end_matches('/').to_string();
        ConnectionConfig {
            login_base: login_base_for(&api_base),
            api_base,
            credentials: Credentials::OAuthClient {
                client_id: client_id.to_string(),
                secret: client_secret.to_string(),
            },
            warnings: Vec::new(),
        }
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

//! The only code that talks to Genesys Cloud.

pub(crate) mod analytics;
pub(crate) mod answer;
pub(crate) mod auth;
pub(crate) mod connection;
pub(crate) mod conversations;
pub(crate) mod error;
#[cfg(test)]
pub(crate) mod fake;
pub(crate) mod http;
pub(crate) mod identity;
pub(crate) mod notifications;
pub(crate) mod retry;
pub(crate) mod signin;
pub(crate) mod tls;
pub(crate) mod token_store;
pub(crate) mod users;

// The facade: what the binary, the tests and the benches use; the rest is the crate's own.
pub use answer::error_from_answer;
pub use auth::SIGN_IN_AGAIN;
pub use connection::ConnectionConfig;
pub use conversations::PatchPath;
pub use error::{ApiError, FailureKind};
pub use http::{Client, RateBudget};
pub use notifications::{
    Channels, HEARTBEAT_TIMEOUT, Signal, SocketEnd, listen_on, listen_with, parse_frame,
    queue_topic, run_socket,
};
pub use retry::with_retry;
pub use signin::{
    GrantedTokens, Pkce, RedirectListener, Secret, SigninError, authorize_url, exchange_code,
    parse_redirect,
};
pub use tls::http_builder;
pub use token_store::{StoredSession, TokenStore};

//! The only code that talks to Genesys Cloud.

pub mod analytics;
pub mod answer;
pub mod auth;
pub mod connection;
pub mod conversations;
pub mod error;
#[cfg(test)]
pub(crate) mod fake;
pub mod http;
pub mod identity;
pub mod notifications;
pub mod retry;
pub mod signin;
pub mod token_store;
pub mod users;

pub use error::{ApiError, FailureKind};
pub use http::{Client, RateBudget};

//! The only code that talks to Genesys Cloud.

pub mod error;
pub mod models;

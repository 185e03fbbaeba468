//! What the feed says about itself, for the status line.

use std::fmt;

use super::Update;

/// How live the console's picture is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    Connecting,
    /// Notifications flowing over the WebSocket.
    Live,
    /// The socket dropped or was closed; reconnecting (attempt number).
    Reconnecting {
        attempt: u32,
    },
    /// No WebSocket could be had: reading by polling within the rate budget.
    Polling {
        reason: String,
    },
    /// Nothing works; the reason is shown.
    Offline {
        reason: String,
    },
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connecting => f.write_str("connecting"),
            Self::Live => f.write_str("live"),
            Self::Reconnecting { attempt } => write!(f, "reconnecting (attempt {attempt})"),
            Self::Polling { reason } => write!(f, "polling: {reason}"),
            Self::Offline { reason } => write!(f, "offline: {reason}"),
        }
    }
}

/// The rate budget as the client counts it (the platform sends no budget headers): requests
/// sent on the token in the last minute against the configured limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateBudget {
    /// Requests sent in the last 60 s.
    pub count: u32,
    /// Requests allowed in 60 s (0: not counted).
    pub allowed: u32,
    /// Seconds until the oldest counted request leaves the window.
    pub reset_secs: u32,
}

impl RateBudget {
    pub fn remaining(&self) -> u32 {
        self.allowed.saturating_sub(self.count)
    }
}

/// Everything the platform side sends to the console.
#[derive(Clone, Debug, PartialEq)]
pub enum FeedEvent {
    Model(Update),
    Connection(ConnectionState),
    RateBudget(RateBudget),
    /// Something the supervisor should see in the log view (never secret).
    Warning(String),
}

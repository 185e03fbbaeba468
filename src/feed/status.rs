//! What the feed says about itself, for the status line.

use std::fmt;

use crate::live::Update;
use crate::platform::RateBudget;

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

/// Everything the platform side sends to the console.
#[derive(Clone, Debug, PartialEq)]
pub enum FeedEvent {
    Model(Update),
    Connection(ConnectionState),
    RateBudget(RateBudget),
    /// Something the supervisor should see in the log view (never secret).
    Warning(String),
    /// The platform stopped or replaced a channel: for the status line and the log view.
    ChannelNotice(String),
    /// Why the token no longer works (a refused login, a 401 a refresh could not fix, a
    /// sign-in past its end); None once it works again.
    Auth(Option<String>),
}

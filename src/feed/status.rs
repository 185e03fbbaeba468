//! What the feed says about itself, for the status line.

use std::fmt;

use crate::live::Update;
use crate::platform::{self, RateBudget};

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
    RateBudget(RateFigures),
    /// Something the supervisor should see in the log view (never secret).
    Warning(String),
    /// The platform stopped or replaced a channel: for the status line and the log view.
    ChannelNotice(String),
    /// Why the token no longer works (a refused login, a 401 a refresh could not fix, a
    /// sign-in past its end); None once it works again.
    Auth(Option<AuthProblem>),
    /// The queues whose live events the platform refused to send (all of them, each time the
    /// list changes; empty when every queue is watched again).
    Unwatched(Vec<UnwatchedQueue>),
}

/// A queue the console cannot watch live, and the platform's reason (e.g. a permission not
/// granted in the queue's division).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnwatchedQueue {
    pub queue_id: String,
    pub name: String,
    pub reason: String,
}

/// The rate budget's figures as the screen shows them: the client's count (the platform sends
/// no budget headers) of requests sent on the token in the last minute against the limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateFigures {
    /// Requests sent in the last 60 s.
    pub count: u32,
    /// Requests allowed in 60 s (0: not counted).
    pub allowed: u32,
    /// Seconds until the oldest counted request leaves the window.
    pub reset_secs: u32,
}

impl RateFigures {
    /// Requests still allowed in the window.
    pub fn remaining(&self) -> u32 {
        self.allowed.saturating_sub(self.count)
    }
}

impl From<RateBudget> for RateFigures {
    fn from(budget: RateBudget) -> Self {
        RateFigures {
            count: budget.count,
            allowed: budget.allowed,
            reset_secs: budget.reset_secs,
        }
    }
}

/// Why requests cannot be sent as anyone now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthProblem {
    /// A signed-in user's sign-in has ended or was revoked and cannot be refreshed.
    SignInEnded,
    /// Any other reason (a refused login, a 401 a refresh could not fix), in the client's words.
    Refused(String),
}

impl AuthProblem {
    /// The client's reason, typed: its own "sign in again" words are the ended sign-in.
    pub(crate) fn from_client(reason: String) -> Self {
        if reason == platform::SIGN_IN_AGAIN {
            AuthProblem::SignInEnded
        } else {
            AuthProblem::Refused(reason)
        }
    }
}

impl fmt::Display for AuthProblem {
    /// The client's words, as it gave them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthProblem::SignInEnded => f.write_str(platform::SIGN_IN_AGAIN),
            AuthProblem::Refused(reason) => f.write_str(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_sign_in_again_words_are_the_ended_sign_in_and_keep_their_text() {
        let ended = AuthProblem::from_client(platform::SIGN_IN_AGAIN.to_string());
        assert_eq!(ended, AuthProblem::SignInEnded);
        assert_eq!(ended.to_string(), platform::SIGN_IN_AGAIN);
        let refused = AuthProblem::from_client("invalid_client".to_string());
        assert_eq!(refused, AuthProblem::Refused("invalid_client".into()));
        assert_eq!(refused.to_string(), "invalid_client");
    }

    #[test]
    fn the_figures_are_the_clients_and_say_what_is_left() {
        let figures = RateFigures::from(RateBudget {
            count: 310,
            allowed: 300,
            reset_secs: 12,
        });
        assert_eq!(
            (figures.count, figures.allowed, figures.reset_secs),
            (310, 300, 12)
        );
        assert_eq!(figures.remaining(), 0);
    }
}

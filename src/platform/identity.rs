//! Who is acting: the signed-in user (`GET /api/v2/users/me?expand=authorization,organization`,
//! models `UserMe`, `UserAuthorization`, `Organization` of the official SDKs), whether they may
//! disconnect a participant, and the `who` of the audit record.

use serde::{Deserialize, Serialize};

/// The permission that removes a participant. The PATCH accepts any of three for the endpoint as
/// a whole, but disconnecting is this one's action (crates/genesys-cloud-mock/docs/platform.md, "Permissions").
pub(crate) const DISCONNECT: &str = "conversation:communication:disconnect";

/// The signed-in user as the platform describes them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub user_id: String,
    pub name: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) org_id: Option<String>,
    pub org_name: Option<String>,
    /// The permissions of all the user's roles.
    #[serde(default)]
    pub(crate) permissions: Vec<String>,
}

impl Identity {
    /// Whether a permission (`domain:entity:action`) is granted, wildcards (`*`) included.
    pub(crate) fn has(&self, wanted: &str) -> bool {
        let want: Vec<&str> = wanted.split(':').collect();
        self.permissions.iter().any(|p| {
            if p == "*" {
                return true;
            }
            let have: Vec<&str> = p.split(':').collect();
            have.len() == want.len() && have.iter().zip(&want).all(|(h, w)| *h == "*" || h == w)
        })
    }

    pub fn may_disconnect(&self) -> bool {
        self.has(DISCONNECT)
    }

    /// How the header, `login`, `whoami` and the read-only refusal name the user: the
    /// platform's (or the token file's) text, cleaned of anything that could drive a terminal.
    pub(crate) fn label(&self) -> String {
        let label = match (&self.name, &self.email) {
            (Some(name), Some(email)) => format!("{name} <{email}>"),
            (Some(name), None) => name.clone(),
            (None, Some(email)) => email.clone(),
            (None, None) => self.user_id.clone(),
        };
        crate::text::clean(&label).into_owned()
    }
}

/// The audit record's `who`: the user (none on client credentials), the OS user running
/// confwatch and the OAuth client id (none with a fixed access token).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Who {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) os_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_id: Option<String>,
}

impl Who {
    pub(crate) fn new(identity: Option<&Identity>, client_id: Option<&str>) -> Who {
        Who {
            user_id: identity.map(|i| i.user_id.clone()),
            name: identity.and_then(|i| i.name.clone()),
            email: identity.and_then(|i| i.email.clone()),
            os_user: os_user(),
            client_id: client_id.map(str::to_string),
        }
    }
}

/// The OS account running confwatch (from the environment; None when unset).
pub(crate) fn os_user() -> Option<String> {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok())
        .filter(|u| !u.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_match_exactly_or_by_wildcard() {
        let with = |p: &[&str]| Identity {
            permissions: p.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        assert!(with(&["conversation:communication:disconnect"]).may_disconnect());
        assert!(with(&["conversation:communication:*"]).may_disconnect());
        assert!(with(&["conversation:*:*"]).may_disconnect());
        assert!(with(&["*"]).may_disconnect());
        assert!(!with(&["conversation:communication:view"]).may_disconnect());
        assert!(!with(&["conversation:call:record"]).may_disconnect());
        assert!(!with(&[]).may_disconnect());
    }
}

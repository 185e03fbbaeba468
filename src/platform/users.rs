//! The signed-in user as the platform knows them (`GET /api/v2/users/me`).

use serde::Deserialize;

use super::error::ApiError;
use super::http::Client;
use super::identity::Identity;

/// Reads the signed-in user with their permissions and organization.
pub(crate) async fn users_me(client: &Client) -> Result<Identity, ApiError> {
    let me: UserMe = client
        .get("/api/v2/users/me?expand=authorization,organization")
        .await?;
    Ok(Identity {
        user_id: me.id,
        name: me.name,
        email: me.email,
        org_id: me.organization.as_ref().and_then(|o| o.id.clone()),
        org_name: me.organization.and_then(|o| o.name),
        permissions: me.authorization.map(|a| a.permissions).unwrap_or_default(),
    })
}

/// A token given as it is (`GENESYSCLOUD_ACCESS_TOKEN`) may be a person's: asks the platform
/// whose, once, so that their permissions are checked before a kick as a signed-in user's are
/// and the audit names them. A client-credentials token has no user (the platform refuses the
/// call): nothing is learnt, and nothing is refused.
pub(crate) async fn learn_token_owner(client: &Client) {
    if !client.has_fixed_token() || client.identity().is_some() {
        return;
    }
    let asked = tokio::time::timeout(std::time::Duration::from_secs(10), users_me(client));
    match asked.await {
        Ok(Ok(identity)) => client.set_identity(identity),
        Ok(Err(e)) => tracing::info!("the access token names no user ({e})"),
        Err(_) => tracing::warn!("whose access token this is: no answer"),
    }
}

/// The parts of the `UserMe` answer read here.
#[derive(Deserialize)]
struct UserMe {
    id: String,
    name: Option<String>,
    email: Option<String>,
    authorization: Option<UserAuthorization>,
    organization: Option<Organization>,
}

#[derive(Deserialize)]
struct UserAuthorization {
    #[serde(default)]
    permissions: Vec<String>,
}

#[derive(Deserialize)]
struct Organization {
    id: Option<String>,
    name: Option<String>,
}

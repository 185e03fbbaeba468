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

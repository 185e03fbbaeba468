//! Unit tests' fake platforms: a loopback server built from an axum router, and a client of it
//! that holds a fixed access token (so no login is involved).

use axum::Router;
use tokio::net::TcpListener;

use super::Client;
use crate::platform::connection::{ConnectionConfig, Credentials};

/// Binds 127.0.0.1:0; the address is known before the routes are built (a `connectUri` needs it).
pub(crate) async fn bind() -> (TcpListener, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Serves `app` on `listener` until the test's runtime ends, and returns a client of it.
pub(crate) fn serve(listener: TcpListener, app: Router) -> Client {
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    client(&base)
}

/// A client of `base` with a fixed access token.
pub(crate) fn client(base: &str) -> Client {
    Client::new(ConnectionConfig {
        api_base: base.to_string(),
        login_base: base.to_string(),
        credentials: Credentials::AccessToken("t".into()),
        warnings: Vec::new(),
        max_answer_bytes: None,
    })
    .unwrap()
}

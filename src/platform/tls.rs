//! The TLS stack's crypto: rustls with `ring`. reqwest is built without a provider of its own (so
//! the C build of aws-lc stays out of a cold build) and panics when none is installed, so every
//! HTTP client of the crate, its tests and benches starts from [`http_builder`].

use std::sync::Once;

/// A reqwest builder, once the process's rustls provider (`ring`) is in place.
pub fn http_builder() -> reqwest::ClientBuilder {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // `Err`: a provider is installed already, which is all that is needed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

#[cfg(test)]
mod tests {
    /// An https client builds (it would panic without a provider), the process default is
    /// ring's, and the certificate check stays on: a plain-text server is no TLS peer.
    #[tokio::test]
    async fn clients_build_with_ring_and_speak_tls() {
        let http = super::http_builder()
            .build()
            .expect("an https-capable client builds");
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
            }
        });
        let error = http
            .get(format!("https://{addr}/"))
            .send()
            .await
            .unwrap_err();
        assert!(
            error.is_connect(),
            "a TLS handshake was attempted and failed: {error:?}"
        );
    }
}

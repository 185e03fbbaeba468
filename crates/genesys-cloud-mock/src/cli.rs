//! `confwatch mock`: run the mock until Ctrl-C.

use genesys_cloud_models::Secret;
use std::io::Write;
use std::net::IpAddr;

use color_eyre::eyre::{Result, bail};

use super::{MockOptions, MockServer, Scenario};

/// `confwatch mock` flags. `Debug` leaves the secret out.
#[derive(clap::Args, Debug)]
pub struct MockArgs {
    /// Address to listen on. Only loopback unless --allow-remote is given.
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) bind: IpAddr,
    /// Port to listen on (0 picks a free one; the first line printed says which).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// A built-in scenario (demo, quiet, scale) or the path of a scenario file.
    #[arg(long, default_value = "demo")]
    pub(crate) scenario: String,
    /// Seed of the world's random choices (the same seed gives the same world).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// The main OAuth client's id (default: the scenario's).
    #[arg(long, requires = "client_secret")]
    pub(crate) client_id: Option<String>,
    /// The main OAuth client's secret (default: made at random). Visible to other users in
    /// the process list; prefer the default.
    #[arg(long, requires = "client_id")]
    pub(crate) client_secret: Option<Secret>,
    /// Allow listening on a non-loopback address: anyone who can reach it can use the mock.
    #[arg(long)]
    pub(crate) allow_remote: bool,
}

pub async fn run(args: MockArgs) -> Result<()> {
    if !args.bind.is_loopback() && !args.allow_remote {
        bail!(
            "refusing to listen on {}: the mock has no real security and would be reachable from \
             other machines; use a loopback address or pass --allow-remote",
            args.bind
        );
    }
    let scenario = Scenario::named_or_path(&args.scenario)?;
    let options = MockOptions {
        bind: args.bind,
        port: args.port,
        scenario,
        seed: args.seed,
        limits: super::ServerLimits::default(),
    };
    let main_client = args.client_id.zip(args.client_secret);
    let server = MockServer::start_with_main_client(options, main_client).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", server.base_url())?;
        writeln!(out, "client id: {}", server.client_id())?;
        writeln!(out, "client secret: {}", server.client_secret())?;
        // A public client for signing in as a person, if the scenario has one and users.
        let scenario = &server.shared.scenario;
        if let Some(pkce) = scenario
            .clients
            .iter()
            .find(|c| !c.redirect_uris.is_empty())
            && !scenario.users.is_empty()
        {
            writeln!(
                out,
                "sign in as a demo user: confwatch login --base-url {} --client-id {}",
                server.base_url(),
                pkce.id
            )?;
        }
        out.flush()?;
    }
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: MockArgs,
    }

    #[test]
    fn debug_hides_the_secret_and_id_needs_secret() {
        let parsed =
            Wrapper::try_parse_from(["x", "--client-id", "me", "--client-secret", "s3cret"])
                .unwrap();
        let shown = format!("{:?}", parsed.args);
        assert!(!shown.contains("s3cret"));
        assert!(shown.contains("me"));
        assert!(Wrapper::try_parse_from(["x", "--client-id", "me"]).is_err());
    }
}

//! `confwatch login`, `confwatch logout` and `confwatch whoami`.

use std::io::Write;

use color_eyre::eyre::{Result, WrapErr, eyre};
use tokio::sync::mpsc;

use crate::config::{self, ConnectionArgs, LoginTarget};
use crate::platform::Client;
use crate::platform::connection::{ConnectionConfig, Credentials};
use crate::platform::identity::{self, Identity};
use crate::platform::signin::{self, Pkce, RedirectListener, Secret, SigninError};
use crate::platform::token_store::{Place, StoredSession, TokenStore};
use crate::text::clean;

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,
    /// Do not open a browser: print the address, then paste back the one the browser ends on
    /// (for SSH sessions).
    #[arg(long)]
    pub(crate) no_browser: bool,
    /// Port of the redirect URI http://127.0.0.1:PORT/callback, as registered on the OAuth
    /// client [default: redirect_port in the config file, else 8765].
    #[arg(long, value_name = "PORT")]
    pub(crate) port: Option<u16>,
}

#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,
}

/// How long the sign-in waits for the browser.
const WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// The whole sign-in after the listener is bound: `show_url` gets the authorize page's address
/// (to open or print); the code comes from the listener or from a pasted redirect (`pasted`).
/// Exchanges it, reads the user and stores the session.
pub async fn sign_in(
    target: &LoginTarget,
    listener: RedirectListener,
    store: &TokenStore,
    show_url: impl FnOnce(&str),
    mut pasted: Option<mpsc::Receiver<String>>,
) -> Result<(StoredSession, Place)> {
    let pkce = Pkce::new();
    let redirect_uri = listener.redirect_uri();
    let url = signin::authorize_url(&target.login_base, &target.client_id, &redirect_uri, &pkce);
    show_url(&url);
    let state = pkce.state.clone();
    let from_paste = async {
        let Some(rx) = pasted.as_mut() else {
            return std::future::pending().await;
        };
        while let Some(line) = rx.recv().await {
            match signin::parse_redirect(&line, &state) {
                Err(SigninError::NotARedirect) => {
                    eprintln!("confwatch: {}", SigninError::NotARedirect)
                }
                other => return other,
            }
        }
        std::future::pending().await
    };
    let code: Secret = tokio::select! {
        r = listener.wait(state.clone()) => r,
        r = from_paste => r,
        _ = tokio::time::sleep(WAIT) => Err(SigninError::Transport("no sign-in within 5 minutes".into())),
    }?;
    let http = crate::platform::http_builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .wrap_err("building the HTTP client")?;
    let grant = signin::exchange_code(
        &http,
        &target.login_base,
        &target.client_id,
        &code,
        &pkce.verifier,
        &redirect_uri,
    )
    .await?;
    let lifetime = grant.expires_in.unwrap_or(3600).min(48 * 3600) as i64;
    let mut session = StoredSession {
        profile: target.profile.clone(),
        client_id: target.client_id.clone(),
        api_base: target.api_base.clone(),
        login_base: target.login_base.clone(),
        access_token: grant.access_token,
        refresh_token: grant.refresh_token,
        expires_at: chrono::Utc::now().timestamp() + lifetime,
        identity: Identity::default(),
    };
    // Who signed in, with the permissions that decide whether the console may kick.
    let client = Client::new(user_config(&session))?;
    session.identity = crate::platform::users::users_me(&client)
        .await
        .map_err(|e| eyre!("signed in, but reading the user failed: {e}"))?;
    let place = store.save(&session)?;
    Ok((session, place))
}

fn user_config(session: &StoredSession) -> ConnectionConfig {
    ConnectionConfig {
        api_base: session.api_base.clone(),
        login_base: session.login_base.clone(),
        credentials: Credentials::User(Box::new(session.clone())),
        warnings: Vec::new(),
        max_answer_bytes: None,
    }
}

/// Lines typed on stdin (a pasted redirect). A plain thread: a blocked read must not keep the
/// runtime from shutting down.
fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(4);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut line = String::new();
        while stdin.read_line(&mut line).is_ok_and(|n| n > 0) {
            if tx.blocking_send(std::mem::take(&mut line)).is_err() {
                break;
            }
        }
    });
    rx
}

fn expiry_words(session: &StoredSession) -> String {
    // Saturating: the stored number is the file's, and may be anything (i64::MIN).
    let left = session
        .expires_at
        .saturating_sub(chrono::Utc::now().timestamp());
    let refresh = if session.refresh_token.is_some() {
        "it is refreshed when it ends"
    } else {
        "no refresh token was issued, so sign in again when it ends"
    };
    if left <= 0 {
        if session.refresh_token.is_some() {
            "the access token has expired; it is refreshed on next use".to_string()
        } else {
            "the sign-in has expired: sign in again with `confwatch login`".to_string()
        }
    } else {
        format!(
            "the access token lasts {}h{:02}m more; {refresh}",
            left / 3600,
            left % 3600 / 60
        )
    }
}

/// `confwatch login`.
pub async fn login(args: LoginArgs) -> Result<i32> {
    let target = config::login_target(&args.connection)?;
    let port = args.port.unwrap_or(target.redirect_port);
    let listener = RedirectListener::bind(port).await.wrap_err_with(|| {
        format!("cannot listen on 127.0.0.1:{port} for the sign-in redirect (in use?); set --port or redirect_port, and register that redirect URI on the OAuth client")
    })?;
    let no_browser = args.no_browser;
    let store = TokenStore::from_env();
    let show = |url: &str| {
        if !no_browser && signin::open_browser(url) {
            eprintln!(
                "confwatch: sign in in the browser that just opened. If none did, open:\n\n  {url}\n"
            );
        } else {
            eprintln!(
                "confwatch: open this address in a browser and sign in:\n\n  {url}\n\n\
                 If the browser then shows an error page for 127.0.0.1 (SSH), copy the whole address \
                 from its address bar and paste it here, then press Enter:"
            );
        }
    };
    let (session, place) = sign_in(&target, listener, &store, show, Some(stdin_lines())).await?;
    let who = &session.identity;
    println!(
        "signed in as {} (user {}) in {} on {}, profile {}",
        who.label(),
        clean(&who.user_id),
        clean(who.org_name.as_deref().unwrap_or("the organization")),
        session.api_base,
        session.profile
    );
    println!("tokens kept in {place}; {}", expiry_words(&session));
    if !who.may_disconnect() {
        println!(
            "note: your roles lack {}: the console is read-only for you and `kick` is refused",
            identity::DISCONNECT
        );
    }
    Ok(0)
}

fn profile_of(args: &ConnectionArgs) -> String {
    args.profile
        .clone()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| config::DEFAULT_PROFILE.to_string())
}

/// `confwatch logout`: revokes the token where the platform allows it (`DELETE
/// /api/v2/tokens/me`), then forgets the session.
pub async fn logout(args: ProfileArgs) -> Result<i32> {
    let profile = profile_of(&args.connection);
    let store = TokenStore::from_env();
    let session = match store.load(&profile) {
        Ok(Some(session)) => session,
        Ok(None) => {
            println!("profile {profile} is not signed in");
            return Ok(0);
        }
        // A corrupt or unreadable store is what logout is for: it goes, with nothing to revoke.
        Err(e) => {
            eprintln!("confwatch: the stored sign-in cannot be read ({e:#}); removing it");
            store.forget(&profile)?;
            println!("signed out of profile {profile}; its tokens are forgotten");
            return Ok(0);
        }
    };
    if !session.expired(chrono::Utc::now().timestamp()) {
        let client = Client::new(user_config(&session))?;
        match client.delete("/api/v2/tokens/me").await {
            Ok(()) => println!("the token was revoked on the platform"),
            Err(e) => eprintln!("confwatch: warning: the token could not be revoked: {e}"),
        }
    }
    store.forget(&profile)?;
    println!("signed out of profile {profile}; its tokens are forgotten");
    Ok(0)
}

/// `confwatch whoami`: user, org and region of the profile's sign-in (from the store; nothing
/// is sent).
pub async fn whoami(args: ProfileArgs) -> Result<i32> {
    let profile = profile_of(&args.connection);
    let Some(session) = TokenStore::from_env().load(&profile)? else {
        // Client credentials (a profile's, or the environment's) sign nobody in: no `login`.
        let settings = config::Settings::load(&args.connection);
        if let Ok(Some((config, _))) = settings.and_then(|settings| {
            ConnectionConfig::from_args_with_profile(&args.connection, &settings)
        }) && let Credentials::OAuthClient { client_id, .. } = &config.credentials
        {
            println!(
                "no signed-in user: confwatch acts as the OAuth client {} (client credentials) on {}",
                crate::text::clean(client_id),
                config.api_base
            );
            return Ok(0);
        }
        println!("profile {profile} is not signed in: run `confwatch login`");
        return Ok(1);
    };
    let who = &session.identity;
    let mut out = std::io::stdout().lock();
    // Everything here is the token file's text: cleaned before it reaches the terminal.
    let _ = writeln!(out, "user     {} ({})", who.label(), clean(&who.user_id));
    let _ = writeln!(
        out,
        "org      {} ({})",
        clean(who.org_name.as_deref().unwrap_or("-")),
        clean(who.org_id.as_deref().unwrap_or("-"))
    );
    let _ = writeln!(out, "region   {}", clean(&session.api_base));
    let _ = writeln!(
        out,
        "profile  {} (client id {})",
        clean(&session.profile),
        clean(&session.client_id)
    );
    let _ = writeln!(
        out,
        "kick     {}",
        if who.may_disconnect() {
            "allowed"
        } else {
            "not allowed (read-only: the roles lack conversation:communication:disconnect)"
        }
    );
    let _ = writeln!(out, "token    {}", expiry_words(&session));
    // An ended sign-in that cannot be refreshed is not a working one: scripts see it.
    let ended = session.expires_at <= chrono::Utc::now().timestamp();
    Ok(if ended && session.refresh_token.is_none() {
        1
    } else {
        0
    })
}

//! Where the console's data comes from: a real org, a separately started mock (`--base-url`), or
//! the built-in mock with the `demo` scenario when no credentials are set anywhere.

use color_eyre::eyre::{Result, bail};
use tokio::sync::mpsc;

use super::args::ConsoleArgs;
use crate::config::Settings;
use crate::feed::QueueSelection;
use crate::feed::{CallReads, watch_with_reads};
use crate::kick::{KickManager, KickOptions, Target};
use crate::platform::Client;
use crate::platform::connection::ConnectionConfig;
use crate::tui::runtime::{Ending, Kicker, LoopChannels};
use crate::wire::CallConversation;
use genesys_cloud_mock::{MockOptions, MockServer, Scenario};

pub(super) struct Session {
    /// Set when the console runs on its built-in mock: shown as the DEMO marker.
    pub(crate) demo: Option<String>,
    /// Where the data comes from (an API base URL; never a secret).
    pub(crate) source: String,
    /// Things to tell the supervisor (a config file readable by others, say).
    pub(crate) warnings: Vec<String>,
    /// The profile and signed-in user for the header, and the read-only reason.
    pub(crate) signed_in: crate::tui::app::SignedIn,
    /// Why kicks are off: the audit record cannot be opened.
    pub(crate) kicks_off: Option<String>,
    pub(crate) channels: LoopChannels,
    pub(crate) kicker: PlatformKicker,
    mock: Option<MockServer>,
}

impl Session {
    pub(super) async fn open(args: &ConsoleArgs, settings: &Settings) -> Result<Session> {
        let mut demo_rate_limit = None;
        let (config, mock, profile) =
            match ConnectionConfig::from_args_with_profile(&args.connection, settings)? {
                Some((config, profile)) => (config, None, profile),
                None if args.connection.base_url.is_some() => bail!(
                    "--base-url needs credentials: --client-id and GENESYSCLOUD_OAUTHCLIENT_SECRET \
                 (`confwatch mock` prints the ones it accepts)"
                ),
                None => {
                    let scenario = Scenario::named("demo")?;
                    demo_rate_limit = Some(scenario.faults.rate_limit_per_minute);
                    let mock = MockServer::start(MockOptions::loopback(scenario)).await?;
                    let config = ConnectionConfig::for_mock(
                        &mock.base_url(),
                        mock.client_id(),
                        mock.client_secret(),
                    );
                    (config, Some(mock), Default::default())
                }
            };
        let demo = mock.as_ref().map(|m| {
            tracing::info!(base_url = %m.base_url(), "demo: built-in mock started");
            "built-in mock, scenario demo".to_string()
        });
        let source = config.api_base.clone();
        let mut warnings = config.warnings.clone();
        let client = Client::new(config)?;
        // The demo's platform allows fewer requests than a real org's default: count against
        // its limit, so the status line's budget is the one that applies.
        if let Some(per_minute) = demo_rate_limit {
            client.set_rate_limit(per_minute);
        }
        let signed_in = signed_in(&client, profile.name.clone()).await;
        let queues = QueueSelection::given_or_profile(&args.queues, profile.queues);
        let (feed, reads) = watch_with_reads(client.clone(), queues);
        let budget_client = client.clone();
        let (progress_tx, progress) = mpsc::unbounded_channel();
        let options = KickOptions::from_flags(&args.kick, settings);
        let manager = KickManager::new(client, options, progress_tx);
        match manager.audit_path() {
            Some(path) => tracing::info!(audit = %path.display(), "kicks are audited"),
            None if manager.audit_off() => {
                warnings.push("--no-audit: kicks are not recorded in the audit file".to_string())
            }
            // Not a warning among others: the console shows it as a banner and `d` explains.
            None => {}
        }
        let kicks_off = manager.audit_error().map(str::to_string);
        Ok(Session {
            demo,
            source,
            warnings,
            signed_in,
            kicks_off,
            channels: LoopChannels {
                feed,
                progress,
                rate_budget: Some(Box::new(move || budget_client.rate_budget().into())),
                clipboard: Some(Box::new(crate::tui::terminal::copy_osc52)),
            },
            kicker: PlatformKicker { manager, reads },
            mock,
        })
    }

    /// Stops the built-in mock, if any.
    pub(super) async fn shutdown(mock: Option<MockServer>) {
        if let Some(mock) = mock {
            mock.shutdown().await;
        }
    }

    /// Splits the session into what the loop consumes and the mock to stop afterwards.
    pub(super) fn into_parts(self) -> (LoopChannels, PlatformKicker, Option<MockServer>) {
        (self.channels, self.kicker, self.mock)
    }
}

/// The header's profile and user; for a signed-in user, the permissions read afresh
/// (`GET /api/v2/users/me`, the stored ones if that fails) decide whether the console is read-only.
pub(super) async fn signed_in(
    client: &Client,
    profile: Option<String>,
) -> crate::tui::app::SignedIn {
    // A person's own token in GENESYSCLOUD_ACCESS_TOKEN is checked as a sign-in is.
    crate::platform::users::learn_token_owner(client).await;
    let mut identity = client.identity().cloned();
    if identity.is_some() {
        match tokio::time::timeout(
            std::time::Duration::from_secs(10),
            crate::platform::users::users_me(client),
        )
        .await
        {
            Ok(Ok(fresh)) => identity = Some(fresh),
            Ok(Err(e)) => tracing::warn!("reading the signed-in user: {e}"),
            Err(_) => tracing::warn!("reading the signed-in user: no answer"),
        }
    }
    crate::tui::app::SignedIn {
        profile,
        user: identity.as_ref().map(|i| i.label()),
        read_only: identity.filter(|i| !i.may_disconnect()).map(|_| {
            format!(
                "your roles lack {}, so kicks are off",
                crate::platform::identity::DISCONNECT
            )
        }),
    }
}

/// The kick engine behind the console's actions.
pub(super) struct PlatformKicker {
    manager: KickManager,
    reads: CallReads,
}

impl PlatformKicker {
    /// Ends the running kicks `interrupted` (audited as such) and waits, a few seconds at
    /// most, for their records; the exit code: 0 when none ran, else `confwatch kick`'s for the
    /// same interrupt (a quit key counts as ctrl-c, SIGINT).
    pub(super) async fn interrupt_running(&self, ending: Ending) -> i32 {
        let (signal, why) = match ending {
            Ending::Quit => ("SIGINT", "the supervisor quitting the console"),
            Ending::Signal(signal) => (signal, signal),
        };
        let running = self.manager.interrupt_all(why);
        if running == 0 {
            return 0;
        }
        if !self.manager.wait_idle(INTERRUPT_WAIT).await {
            tracing::error!("kicks still running {INTERRUPT_WAIT:?} after the interrupt");
        }
        crate::kick::progress::interrupted_exit_code(signal)
    }
}

/// How long quitting waits for interrupted kicks to record their outcome.
const INTERRUPT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Kicker for PlatformKicker {
    fn kick(&mut self, target: Target, force: bool) {
        if !self.manager.start(target.clone(), force) {
            tracing::info!(?target, "a second request joined the running kick");
        }
    }

    fn cancel(&mut self, target: &Target) {
        self.manager.cancel(target);
    }

    fn read_call(&mut self, conversation_id: &str) {
        self.reads.read(conversation_id);
    }

    fn observe(&mut self, conversation: &CallConversation) {
        self.manager.on_conversation(conversation);
    }

    fn events_lost(&mut self) {
        self.manager.on_events_lost();
    }
}

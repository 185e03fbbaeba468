//! The real binary in a pseudo-terminal against the real mock, as a person would use it: a
//! scripted conference with a ringing agent, kicked with keys; the wait, the removal and the
//! others still connected must be on screen; then quit, and the terminal must be restored.

use crate::common;

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Harness, leg_of};
use genesys_cloud_mock::MockServer;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use serde_json::json;

const ROWS: u16 = 40;
const COLS: u16 = 120;
/// How long to wait for something to appear before the test fails (not a timing assertion:
/// a healthy run sees each screen within a second or two).
const PATIENCE: Duration = Duration::from_secs(60);

/// The terminal as the program drew it, plus every byte it wrote.
#[derive(Clone)]
struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, what: &str, test: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let text = self.text();
            if test(&text) {
                return text;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "waited for {what}; the screen shows:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (off the async runtime) until `needle` is on screen; the screen then.
    async fn shows(&self, needle: &'static str) -> String {
        let screen = self.clone();
        tokio::task::spawn_blocking(move || screen.wait_for(needle, |text| text.contains(needle)))
            .await
            .unwrap()
    }

    /// The line the cursor marker is on.
    fn marked_line(&self) -> Option<String> {
        self.text()
            .lines()
            .filter(|l| l.contains('▶'))
            .map(str::to_string)
            .next_back()
    }
}

/// The participants pane's row of `name` (the right-hand pane at 120 columns).
fn line_with(text: &str, name: &str) -> String {
    text.lines()
        .filter_map(|l| l.rsplit_once("││").map(|(_, right)| right))
        .find(|l| l.contains(name))
        .unwrap_or_default()
        .to_string()
}

/// The real binary in a pseudo-terminal, attached to `mock`.
struct Console {
    screen: Screen,
    keys: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    dir: std::path::PathBuf,
}

impl Console {
    fn start(mock: &MockServer, name: &str) -> Console {
        Self::start_with(mock, name, &[], None)
    }

    /// With more flags, and a config file (`config.toml`'s text) where one is given.
    fn start_with(mock: &MockServer, name: &str, flags: &[&str], config: Option<&str>) -> Console {
        let dir = common::temp_dir(&format!("e2e-{name}"));
        if let Some(config) = config {
            let path = dir.join("config").join("confwatch");
            std::fs::create_dir_all(&path).unwrap();
            std::fs::write(path.join("config.toml"), config).unwrap();
        }
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_confwatch"));
        let base_url = mock.base_url();
        command.args([
            "--base-url",
            base_url.as_str(),
            "--client-id",
            mock.client_id(),
            "--log-file",
        ]);
        command.arg(dir.join("confwatch.log"));
        command.args(flags);
        command.env("GENESYSCLOUD_OAUTHCLIENT_SECRET", mock.client_secret());
        command.env("TERM", "xterm-256color");
        // Keep the user's config file and audit record out of it.
        command.env("XDG_CONFIG_HOME", dir.join("config"));
        command.env("XDG_DATA_HOME", dir.join("data"));
        command.env("XDG_STATE_HOME", dir.join("state"));
        command.env("NO_COLOR", "1");
        let child = pty.slave.spawn_command(command).unwrap();
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let keys = pty.master.take_writer().unwrap();
        let screen = Screen {
            parser: Arc::new(Mutex::new(vt100::Parser::new(
                NonZeroU16::new(ROWS).unwrap(),
                NonZeroU16::new(COLS).unwrap(),
                0,
            ))),
            raw: Arc::new(Mutex::new(Vec::new())),
        };
        let sink = screen.clone();
        std::thread::spawn(move || {
            // Holding the master keeps the pseudo-terminal open until the child is gone.
            let _master = pty.master;
            let mut buffer = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.parser.lock().unwrap().process(&buffer[..n]);
                sink.raw.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        Console {
            screen,
            keys,
            child,
            dir,
        }
    }

    /// Opens the first conference and walks the cursor down to `name`'s row.
    async fn select(&mut self, name: &'static str) {
        self.press("\r");
        for _ in 0..5 {
            let s = self.screen.clone();
            let marked = tokio::task::spawn_blocking(move || {
                s.wait_for("the participant cursor", |t| {
                    t.lines().any(|l| {
                        l.contains('▶')
                            && (l.contains("Ortiz") || l.contains("Reed") || l.contains("Casey"))
                    })
                });
                s.marked_line().unwrap_or_default()
            })
            .await
            .unwrap();
            if marked.contains(name) {
                return;
            }
            self.press("j");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("never reached {name}:\n{}", self.screen.text());
    }

    fn press(&mut self, text: &str) {
        self.keys.write_all(text.as_bytes()).unwrap();
        self.keys.flush().unwrap();
    }

    /// Sends the quitting key, waits for a clean exit and checks the terminal was given back:
    /// the alternate screen left and the cursor shown.
    async fn quit_with(mut self, key: &str) {
        self.press(key);
        self.expect_restored_exit(key).await;
    }

    /// Waits for a clean exit (however it was asked for) and checks the terminal was given back.
    async fn expect_restored_exit(mut self, key: &str) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!(
                    "{key:?} did not quit; the screen shows:\n{}",
                    self.screen.text()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success(), "exit status {status:?}");
        // Let the reader take the last bytes.
        let screen = self.screen.clone();
        tokio::task::spawn_blocking(move || {
            screen.wait_for("the main screen back", |_| {
                !screen.parser.lock().unwrap().screen().alternate_screen()
            })
        })
        .await
        .unwrap();
        {
            let parser = self.screen.parser.lock().unwrap();
            assert!(
                !parser.screen().alternate_screen(),
                "still on the alternate screen"
            );
            assert!(!parser.screen().hide_cursor(), "cursor left hidden");
        }
        let raw = self.screen.raw.lock().unwrap().clone();
        let text = String::from_utf8_lossy(&raw);
        let entered = text
            .rfind("\x1b[?1049h")
            .expect("entered the alternate screen");
        let left = text
            .rfind("\x1b[?1049l")
            .expect("left the alternate screen");
        assert!(left > entered);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// Every test here runs with the mock's rate budget on, at the platform's 300 a minute.

/// The console takes the kick's settings as `kick` does: `[kick] strategy = "settled"` from the
/// config file (no PATCH while the agent rings, though nothing would refuse it), and
/// `--no-audit` (no audit file, said in the console's log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_takes_the_config_strategy_and_no_audit() {
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300})).await;
    let conversation = h.conference_with("connected", "alerting").await;
    let ben = leg_of(&conversation, "Ben Ortiz");
    let since = h.last_seq().await;

    let config = "[kick]\nstrategy = \"settled\"\n";
    let mut console = Console::start_with(&h.mock, "flags", &["--no-audit"], Some(config));
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.select("Ben Ortiz").await;
    console.press("d");
    screen.shows("Confirm kick").await;
    console.press("y");
    screen.shows("waiting: alerting").await;
    // Settled: the ringing leg is not PATCHed (eager, with no lock, would have removed him).
    let patches = common::participant_patches(&h.requests(since).await);
    assert!(patches.is_empty(), "PATCHed while ringing: {patches:?}");

    h.set_leg(&conversation.id, &ben, json!({"state": "connected"}))
        .await;
    let done = screen.shows("removed in").await;
    assert!(
        line_with(&done, "Ben Ortiz").contains("disconnected"),
        "{done}"
    );
    let patches = common::participant_patches(&h.requests(since).await);
    assert_eq!(patches.len(), 1, "{patches:?}");

    // No record was kept, and the console said so.
    console.press("L");
    screen.shows("--no-audit").await;
    let audit = console
        .dir
        .join("data")
        .join("confwatch")
        .join("audit.jsonl");
    assert!(
        !audit.exists(),
        "an audit file was written: {}",
        audit.display()
    );
    console.quit_with("q").await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_a_ringing_agent_in_a_real_terminal() {
    let h = Harness::scenario("quiet").await;
    // The lock refuses the ringing leg (the field reports), so the eager kick waits for him.
    h.faults(
        json!({"rateLimitPerMinute": 300, "transitionLock": {"enabled": true, "settleMs": 400}}),
    )
    .await;
    let conversation = h.conference_with("connected", "alerting").await;
    let ben = leg_of(&conversation, "Ben Ortiz");

    let mut console = Console::start(&h.mock, "kick");
    let screen = console.screen.clone();

    screen.shows("Casey Customer").await;
    assert!(screen.parser.lock().unwrap().screen().alternate_screen());

    // Open the conference and move the cursor to the ringing agent.
    console.select("Ben Ortiz").await;
    let mut press = |text: &str| console.press(text);

    // Kick: the dialog names him, its default is Cancel; y confirms.
    press("d");
    let dialog = screen.shows("Confirm kick").await;
    assert!(dialog.contains("Remove Ben Ortiz"), "{dialog}");
    press("y");
    let waiting = screen.shows("waiting: alerting").await;
    assert!(
        line_with(&waiting, "Ben Ortiz").contains("alerting"),
        "{waiting}"
    );

    // He answers; the kick goes through.
    h.set_leg(&conversation.id, &ben, json!({"state": "connected"}))
        .await;
    let done = screen.shows("removed in").await;
    assert!(
        line_with(&done, "Ben Ortiz").contains("disconnected"),
        "{done}"
    );
    assert!(
        line_with(&done, "Casey Customer").contains("connected"),
        "{done}"
    );
    assert!(
        !line_with(&done, "Casey Customer").contains("disconnected"),
        "{done}"
    );
    assert!(
        line_with(&done, "Ava Reed").contains("● connected"),
        "{done}"
    );

    // Quit; the terminal must be given back.
    console.quit_with("q").await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_quits_from_help_and_restores_the_terminal() {
    let h = Harness::start(json!({"rateLimitPerMinute": 300})).await;
    let mut console = Console::start(&h.mock, "ctrl-c");
    let screen = console.screen.clone();
    screen.shows("no active conferences").await;
    // Help open: Ctrl-C (raw mode delivers it as a key, not a signal) still quits cleanly.
    console.press("?");
    let screen = console.screen.clone();
    screen.shows("quit, from anywhere").await;
    console.quit_with("\x03").await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_restores_the_terminal() {
    let h = Harness::start(json!({"rateLimitPerMinute": 300})).await;
    let console = Console::start(&h.mock, "sigterm");
    let screen = console.screen.clone();
    screen.shows("no active conferences").await;
    // `kill <pid>`, as a session manager or a closing tmux pane would.
    let pid = console.child.process_id().expect("the console's pid");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    console.expect_restored_exit("SIGTERM").await;
    h.stop().await;
}

/// Sends `signal` to the console from outside (as `kill -<signal> <pid>` would) once it is
/// drawing, and expects a clean exit with the terminal given back.
async fn signal_restores_the_terminal(signal: &str) {
    let h = Harness::scenario("quiet").await;
    let console = Console::start(&h.mock, &signal.to_lowercase());
    let screen = console.screen.clone();
    screen.shows("no active conferences").await;
    let pid = console.child.process_id().expect("the console's pid");
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    console.expect_restored_exit(signal).await;
    h.stop().await;
}

/// `kill -INT <pid>`: in raw mode Ctrl-C is a key, but a SIGINT from outside still arrives; its
/// default action would leave the terminal raw, on the alternate screen, cursor hidden.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_from_outside_restores_the_terminal() {
    signal_restores_the_terminal("INT").await;
}

/// The terminal going away (or `kill -HUP`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_restores_the_terminal() {
    signal_restores_the_terminal("HUP").await;
}

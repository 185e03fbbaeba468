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

    /// Waits (off the async runtime) until `test` holds for the screen; the screen then.
    async fn when(
        &self,
        what: &'static str,
        test: impl Fn(&str) -> bool + Send + 'static,
    ) -> String {
        let screen = self.clone();
        tokio::task::spawn_blocking(move || screen.wait_for(what, test))
            .await
            .unwrap()
    }

    /// Waits for a banner and the status line's word for it. The banner is drawn at the top and
    /// the status line near the bottom: a frame read half-drawn shows one with the old other.
    async fn banner_and_status(&self, banner: &'static str, status: &'static str) -> String {
        self.when("the banner and the status line", move |t| {
            t.contains(banner) && t.contains(status)
        })
        .await
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

/// The bottom line: the keys of the pane or view that has them.
fn hint_line(text: &str) -> &str {
    text.lines().last().unwrap_or_default()
}

/// The participants pane's row of `name` (the right-hand pane at 120 columns).
fn line_with(text: &str, name: &str) -> String {
    text.lines()
        .filter_map(|l| l.rsplit_once("││").map(|(_, right)| right))
        .find(|l| l.contains(name))
        .unwrap_or_default()
        .to_string()
}

/// How a console is started: its width, flags, config file, and as whom (the mock's client by
/// default; another secret; or a user signed in with the store in this folder).
struct Launch<'a> {
    flags: &'a [&'a str],
    config: Option<&'a str>,
    cols: u16,
    secret: Option<&'a str>,
    signed_in: Option<&'a std::path::Path>,
    /// The largest file the console may write, in 512-byte blocks (RLIMIT_FSIZE, SIGXFSZ
    /// ignored: a write past it fails as on a full disk).
    file_blocks: Option<u64>,
    /// Files already in the console's folder when it starts: path under it, and text.
    files: &'a [(&'a str, &'a str)],
}

impl Default for Launch<'_> {
    fn default() -> Self {
        Launch {
            flags: &[],
            config: None,
            cols: COLS,
            secret: None,
            signed_in: None,
            file_blocks: None,
            files: &[],
        }
    }
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
        Self::launch(
            mock,
            name,
            Launch {
                flags,
                config,
                ..Launch::default()
            },
        )
    }

    /// As `launch` says: its size, flags, config, and whose credentials.
    fn launch(mock: &MockServer, name: &str, launch: Launch) -> Console {
        let Launch {
            flags,
            config,
            cols,
            secret,
            signed_in,
            file_blocks,
            files,
        } = launch;
        let dir = common::temp_dir(&format!("e2e-{name}"));
        let config = config.map(|text| ("config/confwatch/config.toml", text));
        for (path, text) in files.iter().copied().chain(config) {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut command = match file_blocks {
            // The pty cannot run code before exec: a POSIX shell sets the limit (`ulimit -f`
            // counts 512-byte blocks) and ignores the signal, then becomes the console.
            Some(blocks) => {
                let mut shell = CommandBuilder::new("/bin/sh");
                shell.args([
                    "-c",
                    &format!("ulimit -f {blocks} && trap '' XFSZ && exec \"$0\" \"$@\""),
                    env!("CARGO_BIN_EXE_confwatch"),
                ]);
                shell
            }
            None => CommandBuilder::new(env!("CARGO_BIN_EXE_confwatch")),
        };
        let base_url = mock.base_url();
        command.args(["--base-url", base_url.as_str()]);
        match signed_in {
            // The user's stored sign-in, and no client credentials at all.
            Some(store) => {
                command.env("CONFWATCH_STATE_DIR", store);
                command.env("CONFWATCH_TOKEN_STORE", "file");
                command.env_remove("GENESYSCLOUD_OAUTHCLIENT_ID");
                command.env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET");
            }
            None => {
                command.args(["--client-id", mock.client_id()]);
                command.env(
                    "GENESYSCLOUD_OAUTHCLIENT_SECRET",
                    secret.unwrap_or(mock.client_secret()),
                );
            }
        }
        command.arg("--log-file");
        command.arg(dir.join("confwatch.log"));
        command.args(flags);
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
                NonZeroU16::new(cols).unwrap(),
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

    /// Selects `name`, asks to kick them and confirms.
    async fn kick(&mut self, name: &'static str) {
        self.select(name).await;
        self.press("d");
        self.screen.shows("Confirm kick").await;
        self.press("y");
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
    async fn expect_restored_exit(self, key: &str) {
        self.expect_exit(key, 0).await;
    }

    /// Waits for the exit with `code` and checks the terminal was given back.
    async fn expect_exit(mut self, key: &str, code: u32) {
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
        assert_eq!(status.exit_code(), code, "exit status {status:?}");
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
    // The lock refuses the ringing leg (the field reports), so the eager kick waits for him.
    let (h, conversation, ben) = ben_rings_under_the_lock().await;

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

// ---- Issue 16: what the console shows, asks and records is true in every state. ----

/// The header line (the top line of the screen).
fn header(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// The lines of the screen as one string with the line breaks removed (a wrapped sentence
/// reads whole).
fn joined(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The safety rule counts only connected (or held) legs: with the customer and a ringing agent
/// left, removing the connected agent is risky (second confirmation), and the dialog says who
/// stays and in what state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_agent_does_not_count_as_staying() {
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300})).await;
    let _call = h.conference_with("connected", "alerting").await;
    let mut console = Console::start(&h.mock, "ringing-stays");
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.select("Ava Reed").await;
    console.press("d");
    let dialog = joined(&screen.shows("Confirm kick").await);
    assert!(
        dialog.contains("Casey Customer (customer) and Ben Ortiz (ringing) stay"),
        "{dialog}"
    );
    assert!(dialog.contains("Only 1 connected party"), "{dialog}");
    assert!(dialog.contains("needs a second confirmation"), "{dialog}");
    console.press("y");
    screen.shows("Confirm again").await;
    console.press("\x1b");
    screen.shows("kick cancelled, nothing sent").await;
    console.quit_with("q").await;
    h.stop().await;
}

/// A wrong secret: the console says it cannot log in, with the platform's reason whole, and
/// never "no active conferences".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_that_cannot_log_in_says_so_in_a_banner() {
    let h = Harness::scenario("quiet").await;
    let console = Console::launch(
        &h.mock,
        "cannot-log-in",
        Launch {
            cols: 80,
            secret: Some("not-the-secret"),
            ..Launch::default()
        },
    );
    let screen = console.screen.clone();
    let text = screen
        .banner_and_status("CANNOT LOG IN", "cannot log in")
        .await;
    let whole = joined(&text);
    assert!(
        whole.contains("login refused for client id")
            && whole.contains("check the client id and secret"),
        "{text}"
    );
    assert!(!text.contains("no active conferences"), "{text}");
    assert!(text.contains("cannot log in"), "the status line: {text}");
    assert!(!text.contains("● live"), "{text}");
    console.quit_with("q").await;
    h.stop().await;
}

/// A signed-in user whose sign-in ends (no refresh token): `live` gives way to "signed out" and
/// a banner with the command to run; the header keeps the conference count at 80 columns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_sign_in_turns_the_console_to_signed_out() {
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300, "tokenLifetimeSecs": 8}))
        .await;
    let store = common::temp_dir("e2e-signed-out-store");
    crate::signin::sign_in_as(&h, &store, crate::signin::SAM).await;
    let console = Console::launch(
        &h.mock,
        "signed-out",
        Launch {
            cols: 80,
            signed_in: Some(&store),
            ..Launch::default()
        },
    );
    let screen = console.screen.clone();
    let text = screen.banner_and_status("SIGNED OUT", "signed out").await;
    assert!(header(&text).contains("conferences"), "{text}");
    assert!(
        joined(&text).contains("confwatch login --profile default"),
        "{text}"
    );
    assert!(text.contains("signed out"), "the status line: {text}");
    assert!(!text.contains("● live"), "{text}");
    console.quit_with("q").await;
    std::fs::remove_dir_all(&store).ok();
    h.stop().await;
}

/// An audit file that cannot be opened: a KICKS OFF banner (not a warning count), and `d`
/// explains instead of opening the dialog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kicks_off_when_the_audit_cannot_be_written() {
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300})).await;
    let _call = h.conference_with("connected", "connected").await;
    // A folder where the audit file should be: it cannot be opened as one.
    let folder = common::temp_dir("e2e-audit-folder");
    let path = folder.to_string_lossy().to_string();
    let mut console = Console::start_with(&h.mock, "kicks-off", &["--audit-log", &path], None);
    let screen = console.screen.clone();
    let text = screen.shows("KICKS OFF").await;
    assert!(
        joined(&text).contains("the audit record cannot be written"),
        "{text}"
    );
    assert!(!text.contains("1 warning"), "{text}");
    console.select("Ava Reed").await;
    console.press("d");
    let text = screen.shows("kicks are off").await;
    assert!(!text.contains("Confirm kick"), "{text}");
    console.quit_with("q").await;
    std::fs::remove_dir_all(&folder).ok();
    h.stop().await;
}

/// A kick whose audit line cannot be written after the 202 (the audit file limited with
/// RLIMIT_FSIZE, as a full disk fails): the removal stands, and an AUDIT INCOMPLETE banner names
/// who was removed from which call and the log file, and stays (other keys, other views) until
/// `X` dismisses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incomplete_audit_stays_on_screen_until_dismissed() {
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300})).await;
    let folder = common::temp_dir("e2e-audit-incomplete");
    // A first console measures its lines up to the attempt (the same shape, the same lengths).
    let measure = folder.join("measure.jsonl");
    let _first = h.conference_with("connected", "connected").await;
    let flags = ["--audit-log", measure.to_str().unwrap()];
    let mut console = Console::start_with(&h.mock, "audit-measure", &flags, None);
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.kick("Ava Reed").await;
    screen.shows("removed in").await;
    console.quit_with("q").await;
    let through_attempt =
        common::bytes_through_attempt(&std::fs::read_to_string(&measure).unwrap());

    // Then the audit file holds earlier lines up to a limit (a whole number of 512-byte blocks,
    // far above what the log file reaches) that leaves room for the lines up to the attempt
    // and 10 bytes more: the 202's line cannot be written.
    let call = h.conference_with("connected", "connected").await;
    let ava = leg_of(&call, "Ava Reed");
    let blocks = 4096;
    let earlier = 512 * blocks - through_attempt as u64 - 10;
    let audit = folder.join("audit.jsonl");
    let pad = "x".repeat(earlier as usize - "{\"pad\":\"\"}\n".len());
    std::fs::write(&audit, format!("{{\"pad\":\"{pad}\"}}\n")).unwrap();
    let flags = ["--audit-log", audit.to_str().unwrap()];
    let mut console = Console::launch(
        &h.mock,
        "audit-incomplete",
        Launch {
            flags: &flags,
            file_blocks: Some(blocks),
            ..Launch::default()
        },
    );
    let log = console.dir.join("confwatch.log");
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.kick("Ava Reed").await;
    let text = screen.shows("AUDIT INCOMPLETE").await;
    let said = joined(&text);
    for words in [
        "the kick of Ava Reed from",
        call.id.as_str(),
        "ended removed",
        "could not be written",
        "X dismisses",
    ] {
        assert!(said.contains(words), "{words:?} not in {text}");
    }
    let unspaced: String = said.split_whitespace().collect();
    assert!(unspaced.contains(log.to_str().unwrap()), "{text}");
    assert!(header(&text).contains("AUDIT INCOMPLETE"), "{text}");
    h.assert_gone(&call.id, &ava).await;
    // The jobs view and back, and time: still there.
    console.press("J");
    screen.shows("Kick jobs").await;
    console.press("\x1b");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        screen.text().contains("AUDIT INCOMPLETE"),
        "{}",
        screen.text()
    );
    console.press("X");
    let s = screen.clone();
    tokio::task::spawn_blocking(move || {
        s.wait_for("the banner gone", |t| !t.contains("AUDIT INCOMPLETE"))
    })
    .await
    .unwrap();
    console.quit_with("q").await;
    std::fs::remove_dir_all(&folder).ok();
    h.stop().await;
}

/// A claims folder that cannot be made (a file where it should be): the kick goes on and
/// removes, and the console says it was not protected against another confwatch on the call,
/// in the status line and in the job's story.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unprotected_kick_says_so_and_still_removes() {
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300})).await;
    let call = h.conference_with("connected", "connected").await;
    let mut console = Console::start_with(&h.mock, "unprotected", &["--no-audit"], None);
    let state = console.dir.join("state").join("confwatch");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("claims"), "not a folder").unwrap();
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.kick("Ava Reed").await;
    let text = screen.shows("removed in").await;
    assert!(
        text.contains("not protected against another confwatch"),
        "{text}"
    );
    let ava = leg_of(&call, "Ava Reed");
    h.assert_gone(&call.id, &ava).await;
    console.press("J");
    screen.shows("Kick jobs").await;
    console.press("\r");
    let story = screen
        .shows("not protected against another confwatch kicking on this call")
        .await;
    assert!(joined(&story).contains("cannot claim the call"), "{story}");
    console.quit_with("q").await;
    h.stop().await;
}

/// The audit file of a console started with `Console::start`.
fn audit_lines(console_dir: &std::path::Path) -> Vec<serde_json::Value> {
    let path = console_dir
        .join("data")
        .join("confwatch")
        .join("audit.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The audit's lines once its last is an `interrupted` outcome (or the patience ran out), read
/// before the exit check removes the console's folder.
async fn interrupted_record(dir: std::path::PathBuf) -> Vec<serde_json::Value> {
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        loop {
            let lines = audit_lines(&dir);
            if lines.last().is_some_and(|l| l["outcome"] == "interrupted")
                || start.elapsed() > PATIENCE
            {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap()
}

/// The quiet scenario under the demo's lock (409 while ringing and for 400 ms after a change),
/// the budget on, and a conference where Ben Ortiz rings: the harness, the call and his leg.
async fn ben_rings_under_the_lock() -> (Harness, confwatch::wire::CallConversation, String) {
    let h = Harness::scenario("quiet").await;
    h.faults(
        json!({"rateLimitPerMinute": 300, "transitionLock": {"enabled": true, "settleMs": 400}}),
    )
    .await;
    let conversation = h.conference_with("connected", "alerting").await;
    let ben = leg_of(&conversation, "Ben Ortiz");
    (h, conversation, ben)
}

/// A conference of the customer and two connected agents.
async fn two_agent_conference(h: &Harness) -> confwatch::wire::CallConversation {
    h.faults(json!({"rateLimitPerMinute": 300})).await;
    h.conference_with("connected", "connected").await
}

/// From now on the platform answers each request 30 s late: a kick started now stays running
/// (no timing is asserted; the tests only need it not to have ended yet).
async fn slow_platform(h: &Harness) {
    h.faults(json!({"latencyMs": 30_000})).await;
}

/// Quitting with a kick running: `q` says what will happen, `q` again stops the kick, the audit
/// records it `interrupted`, and the exit status is `confwatch kick`'s for ctrl-c (130).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_with_a_kick_running_records_interrupted() {
    let h = Harness::scenario("quiet").await;
    let _call = two_agent_conference(&h).await;
    let mut console = Console::start(&h.mock, "quit-interrupted");
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.select("Ava Reed").await;
    console.press("d");
    screen.shows("Confirm kick").await;
    slow_platform(&h).await;
    console.press("y");
    screen.shows("1 kick running").await;
    console.press("q");
    let asked = joined(&screen.shows("again stops it").await);
    assert!(asked.contains("recorded as interrupted"), "{asked}");
    let dir = console.dir.clone();
    console.press("q");
    let lines = interrupted_record(dir).await;
    console.expect_exit("q q", 130).await;
    let last = lines.last().expect("an audit record");
    assert_eq!(last["outcome"], "interrupted", "{lines:?}");
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains("quitting")),
        "{last}"
    );
    h.stop().await;
}

/// SIGTERM with a kick running: the same record, and 143.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_kick_running_records_interrupted() {
    signal_with_a_kick_running("TERM", 143).await;
}

/// SIGHUP (the terminal going away) with a kick running: the same record, and 129.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_a_kick_running_records_interrupted() {
    signal_with_a_kick_running("HUP", 129).await;
}

/// Sends SIG`signal` to a console whose kick is running: the audit records the kick
/// `interrupted by SIG{signal}`, and the process exits with `code`.
async fn signal_with_a_kick_running(signal: &str, code: u32) {
    let h = Harness::scenario("quiet").await;
    let _call = two_agent_conference(&h).await;
    let mut console = Console::start(&h.mock, &format!("{signal}-interrupted"));
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.select("Ava Reed").await;
    console.press("d");
    screen.shows("Confirm kick").await;
    slow_platform(&h).await;
    console.press("y");
    screen.shows("1 kick running").await;
    let pid = console.child.process_id().expect("the console's pid");
    let dir = console.dir.clone();
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let lines = interrupted_record(dir).await;
    let last = lines.last().expect("an audit record");
    assert_eq!(last["outcome"], "interrupted", "{lines:?}");
    assert!(
        last["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("SIG{signal}"))),
        "{lines:?}"
    );
    console.expect_exit(signal, code).await;
    h.stop().await;
}

/// At 80 columns the header keeps, in order: the running kick, the filter and the hidden
/// queue, then the counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_at_80_columns_keeps_what_matters_in_order() {
    let h = Harness::scenario("quiet").await;
    let _call = two_agent_conference(&h).await;
    let mut console = Console::launch(
        &h.mock,
        "header-80",
        Launch {
            cols: 80,
            ..Launch::default()
        },
    );
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    // Hide the queue with no calls (Sales: the picker lists by name): Q, space, enter.
    console.press("Q");
    screen.shows("Queues shown").await;
    console.press(" ");
    console.press("\r");
    let hidden = screen.shows("1 queue hidden").await;
    assert!(hidden.contains("Casey Customer"), "{hidden}");
    // Filter on the customer's name.
    console.press("/");
    console.press("Casey");
    console.press("\r");
    screen.shows("filter \"Casey\"").await;
    // Start a kick (held off by the platform's lock).
    console.press("\r");
    for _ in 0..3 {
        if screen.marked_line().is_some_and(|l| l.contains("Ava Reed")) {
            break;
        }
        console.press("j");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    console.press("d");
    screen.shows("Confirm kick").await;
    slow_platform(&h).await;
    console.press("y");
    let text = screen.shows("1 kick running").await;
    let top = header(&text);
    let at = |what: &str| {
        top.find(what)
            .unwrap_or_else(|| panic!("{what:?} not in {top:?}"))
    };
    assert!(at("1 kick running") < at("filter \"Casey\""), "{top}");
    assert!(at("filter \"Casey\"") < at("1 queue hidden"), "{top}");
    assert!(at("1 queue hidden") < at("1 conference"), "{top}");
    console.press("q");
    screen.shows("again stops it").await;
    console.press("q");
    console.expect_exit("q q", 130).await;
    h.stop().await;
}

/// Participants who joined at the same time are in the same order on every call: by purpose,
/// then by name, never by their (random) ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_who_joined_together_keep_one_order() {
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300})).await;
    for _ in 0..5 {
        h.call(&[
            common::Leg("Casey Customer", "customer", "connected", None),
            common::Leg("Zoe Zimmer", "agent", "connected", Some(common::AVA)),
            common::Leg("Adam Abbott", "agent", "connected", Some(common::BEN)),
        ])
        .await;
    }
    let mut console = Console::start(&h.mock, "order");
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    for call in 0..5 {
        // A key sent before the console has read Esc alone would be read with it (alt-j): each
        // key waits for the one before it to show (the hints say which pane has the keys).
        if call > 0 {
            console.press("\x1b");
            screen
                .when("the conference list's keys", |t| {
                    !hint_line(t).contains("esc back")
                })
                .await;
            console.press("j");
            let position = format!(" {}/5 ", call + 1);
            screen
                .when("the cursor on the next call", move |t| {
                    t.contains(&position)
                })
                .await;
        }
        console.press("\r");
        screen
            .when("the participants' keys", |t| {
                hint_line(t).contains("esc back")
            })
            .await;
        // The participants pane (right of `││`) may be mid-redraw: wait until it lists all three.
        let pane = |text: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.rsplit_once("││").map(|(_, r)| r.to_string()))
                .collect()
        };
        let names = ["Casey Customer", "Adam Abbott", "Zoe Zimmer"];
        let waiting = screen.clone();
        let text = tokio::task::spawn_blocking(move || {
            waiting.wait_for("the three participants", |text| {
                let rows = pane(text);
                names.iter().all(|n| rows.iter().any(|r| r.contains(n)))
            })
        })
        .await
        .unwrap();
        let rows = pane(&text);
        let row_of = |name: &str| rows.iter().position(|r| r.contains(name)).unwrap();
        assert!(row_of("Casey Customer") < row_of("Adam Abbott"), "{text}");
        assert!(
            row_of("Adam Abbott") < row_of("Zoe Zimmer"),
            "call {call}: {text}"
        );
    }
    console.quit_with("q").await;
    h.stop().await;
}

/// Two kicks at once on one call: with the first agent's kick running, removing the second
/// would leave the customer alone, so the dialog counts the running kick as leaving and asks
/// a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_kick_on_the_call_counts_as_leaving() {
    let h = Harness::scenario("quiet").await;
    let _call = two_agent_conference(&h).await;
    let mut console = Console::start(&h.mock, "two-kicks");
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.select("Ava Reed").await;
    console.press("d");
    let first = joined(&screen.shows("Confirm kick").await);
    assert!(!first.contains("second confirmation"), "{first}");
    slow_platform(&h).await;
    console.press("y");
    screen.shows("1 kick running").await;
    console.press("j");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        screen
            .marked_line()
            .is_some_and(|l| l.contains("Ben Ortiz")),
        "{}",
        screen.text()
    );
    console.press("d");
    let second = joined(&screen.shows("Confirm kick").await);
    assert!(second.contains("1 other kick on this call"), "{second}");
    assert!(second.contains("needs a second confirmation"), "{second}");
    assert!(
        second.contains("Casey Customer (customer) stays"),
        "{second}"
    );
    console.press("\x1b");
    screen.shows("kick cancelled").await;
    console.press("q");
    screen.shows("again stops it").await;
    console.press("q");
    console.expect_exit("q q", 130).await;
    h.stop().await;
}

/// Analytics lags: a quiet conference that started just before the console opened, missing
/// from the first read (analytics shows it 15 s late) and with no event since, still shows
/// (the newest calls are read again after the connect).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_analytics_lags_on_still_shows() {
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300, "analyticsLagSecs": 15}))
        .await;
    let _call = h.conference_with("connected", "connected").await;
    let console = Console::start(&h.mock, "lag");
    let screen = console.screen.clone();
    screen.shows("● live").await;
    // Within the catch-up reads (at most 70 s after the connect's read; here about 15 s).
    screen.shows("Casey Customer").await;
    console.quit_with("q").await;
    h.stop().await;
}

/// The platform revokes a signed-in user's token (`token_revoked` on the socket, the token
/// refused from then on): the console turns to "signed out" at once, with the command to run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_sign_in_turns_the_console_to_signed_out() {
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300, "tokenRevokedAfterSecs": 3}))
        .await;
    let store = common::temp_dir("e2e-revoked-store");
    crate::signin::sign_in_as(&h, &store, crate::signin::SAM).await;
    let console = Console::launch(
        &h.mock,
        "revoked",
        Launch {
            signed_in: Some(&store),
            ..Launch::default()
        },
    );
    let screen = console.screen.clone();
    screen.shows("● live").await;
    let text = screen.banner_and_status("SIGNED OUT", "signed out").await;
    assert!(
        joined(&text).contains("confwatch login --profile default"),
        "{text}"
    );
    assert!(!text.contains("● live"), "{text}");
    console.quit_with("q").await;
    std::fs::remove_dir_all(&store).ok();
    h.stop().await;
}

/// Signed in as a supervisor who may watch calls only in the "Home" division: the console names
/// the Sales queue as not watched and why, and shows the Support calls live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_the_supervisor_may_not_watch_is_named_in_a_real_terminal() {
    let h = Harness::scenario("quiet").await;
    let state = common::temp_dir("e2e-division-state");
    crate::signin::sign_in_as(&h, &state, crate::signin::DANA).await;
    let mut console = Console::launch(
        &h.mock,
        "division",
        Launch {
            signed_in: Some(&state),
            ..Launch::default()
        },
    );
    let screen = console.screen.clone();
    let shown = screen.shows("not watched: Sales: missing").await;
    assert!(!shown.contains("Casey Customer"), "{shown}");
    // Support is watched: a conference that starts now reaches the screen by its events.
    h.conference("connected").await;
    let shown = screen.shows("Casey Customer").await;
    assert!(
        shown
            .lines()
            .any(|l| l.contains("Support") && l.contains("Casey Customer")),
        "{shown}"
    );
    // The whole reason, with the permission, in the log view.
    console.press("L");
    let log = screen.shows("queue Sales not watched").await;
    assert!(
        log.lines().any(|l| l.contains("queue Sales not watched")
            && l.contains("conversation:communication:view")),
        "{log}"
    );
    console.quit_with("q").await;
    std::fs::remove_dir_all(&state).ok();
    h.stop().await;
}

/// Where `needle` is on the screen: 1-based (column, row), as a terminal's mouse reports it.
fn cell_of(text: &str, needle: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(row, line)| {
        line.find(needle)
            .map(|byte| (line[..byte].chars().count() + 1, row + 1))
    })
}

/// The line on screen that holds `needle`.
fn screen_line(text: &str, needle: &str) -> String {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_default()
        .to_string()
}

/// Issue 20's "done when": a conference's call view shows its conversation id and a state change
/// with its time, the copy key sends the id to the terminal's clipboard (OSC 52), and the
/// finished kick's job view lists each of its requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_view_copy_and_job_view_in_a_real_terminal() {
    use base64::Engine;
    let (h, conversation, ben) = ben_rings_under_the_lock().await;
    let since = h.last_seq().await;

    let mut console = Console::start(&h.mock, "call-view");
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.select("Ben Ortiz").await;
    console.press("d");
    screen.shows("Confirm kick").await;
    console.press("y");
    screen.shows("waiting: alerting").await;
    h.set_leg(&conversation.id, &ben, json!({"state": "connected"}))
        .await;
    screen.shows("removed in").await;

    // The call view: the conversation id, and Ben's answer with its time.
    console.press("i");
    let id_line: &'static str = Box::leak(format!("conversation  {}", conversation.id).into());
    screen.shows(id_line).await;
    let call = screen.shows("alerting → connected").await;
    let answered = screen_line(&call, "alerting → connected");
    let time = answered
        .split_whitespace()
        .find(|w| w.len() == 8 && w.as_bytes()[2] == b':' && w.as_bytes()[5] == b':');
    assert!(time.is_some(), "no time on the change: {answered}\n{call}");
    assert!(answered.contains("Ben Ortiz (agent)"), "{answered}");

    // The copy key on the conversation's line: OSC 52 with the id, and the id shown.
    console.press("g");
    console.press("Y");
    screen.shows("copied").await;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&conversation.id);
    let osc52 = format!("\x1b]52;c;{encoded}\x07");
    let raw = screen.raw.lock().unwrap().clone();
    assert!(
        String::from_utf8_lossy(&raw).contains(&osc52),
        "no OSC 52 with the conversation id on the pty"
    );

    // The finished kick's job view: each PATCH the platform saw, with its status.
    // (Esc alone: followed at once by a key, the terminal would read alt-J.)
    console.press("\x1b");
    screen.shows(" Conferences · ").await;
    console.press("J");
    screen.shows("Kick jobs").await;
    console.press("\r");
    // The view's last line (the outcome's counts): the whole story is drawn, not part of a frame.
    let story = screen
        .when("the job's whole story", |t| {
            t.contains("requests and waits")
                && t.lines()
                    .any(|l| l.contains(" attempts, ") && l.contains(" requests, "))
        })
        .await;
    let patches = common::participant_patches(&h.requests(since).await);
    assert!(!patches.is_empty());
    for (number, (_, participant, status)) in patches.iter().enumerate() {
        assert_eq!(participant, &ben);
        let wanted = format!("attempt {}: {status}", number + 1);
        assert!(story.contains(&wanted), "{wanted}:\n{story}");
        let sent = format!("attempt {}: PATCH state=disconnected", number + 1);
        assert!(story.contains(&sent), "{sent}:\n{story}");
        if *status == 409 {
            assert!(story.contains("correlation id"), "{story}");
        }
    }
    assert!(story.contains("removed"), "{story}");
    console.quit_with("q").await;
    h.stop().await;
}

/// The mouse in a real terminal: a click selects a participant, the wheel moves the cursor; no
/// click ever sends a request; the terminal's mouse mode is given back on quit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mouse_selects_and_scrolls_in_a_real_terminal() {
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300})).await;
    h.conference_with("connected", "connected").await;
    let since = h.last_seq().await;
    let mut console = Console::start(&h.mock, "mouse");
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.press("\r");
    let text = screen.shows("Ava Reed").await;
    let (column, row) = cell_of(&text, "Ava Reed").expect("Ava on screen");
    // SGR mouse reports (crossterm turns them on): press and release of the left button.
    console.press(&format!("\x1b[<0;{column};{row}M\x1b[<0;{column};{row}m"));
    let s = screen.clone();
    let marked = tokio::task::spawn_blocking(move || {
        s.wait_for("Ava marked", |t| {
            t.lines().any(|l| l.contains('▶') && l.contains("Ava Reed"))
        })
    })
    .await
    .unwrap();
    assert!(
        !screen_line(&marked, "Casey Customer").contains('▶'),
        "{marked}"
    );
    // The wheel down over the participants: the cursor moves on to Ben.
    console.press(&format!("\x1b[<65;{column};{row}M"));
    let s = screen.clone();
    tokio::task::spawn_blocking(move || {
        s.wait_for("Ben marked", |t| {
            t.lines()
                .any(|l| l.contains('▶') && l.contains("Ben Ortiz"))
        })
    })
    .await
    .unwrap();
    // Clicks never act: nothing was sent to remove anyone.
    let patches = common::participant_patches(&h.requests(since).await);
    assert!(patches.is_empty(), "{patches:?}");
    console.quit_with("q").await;
    let raw = screen.raw.lock().unwrap().clone();
    let raw = String::from_utf8_lossy(&raw);
    let on = raw.rfind("\x1b[?1000h").expect("mouse reporting turned on");
    let off = raw
        .rfind("\x1b[?1000l")
        .expect("mouse reporting turned off");
    assert!(off > on, "mouse reporting left on");
    h.stop().await;
}

/// `[keys]` adds to the defaults: the README's own `down = ["j", "ctrl-n"]` keeps `↓` working
/// and adds ctrl-n; `f1` opens help beside `?`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_keys_keep_the_defaults_in_a_real_terminal() {
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300})).await;
    h.conference_with("connected", "connected").await;
    let config = "[keys]\ndown = [\"j\", \"ctrl-n\"]\n";
    let mut console = Console::start_with(&h.mock, "keys-add", &[], Some(config));
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.press("\r");
    let marked_on = |name: &'static str| {
        let s = screen.clone();
        tokio::task::spawn_blocking(move || {
            s.wait_for(name, |t| {
                t.lines().any(|l| l.contains('▶') && l.contains(name))
            })
        })
    };
    marked_on("Casey Customer").await.unwrap();
    console.press("\x1b[B"); // ↓
    marked_on("Ava Reed").await.unwrap();
    console.press("\x0e"); // ctrl-n
    marked_on("Ben Ortiz").await.unwrap();
    console.press("\x1bOP"); // f1
    screen.shows("quit, from anywhere").await;
    console.press("?");
    console.quit_with("q").await;
    h.stop().await;
}

/// A key bound to two commands is refused at start, naming both: `quit = "esc"` must not
/// silently make esc quit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_bound_twice_is_refused_naming_both_commands() {
    let h = Harness::scenario("quiet").await;
    let config = "[keys]\nquit = \"esc\"\n";
    let mut console = Console::start_with(&h.mock, "keys-twice", &[], Some(config));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = console.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "still running:\n{}",
            console.screen.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success());
    let text = console.screen.shows("would run both").await;
    assert!(
        text.contains("esc") && text.contains("back") && text.contains("quit"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&console.dir);
    h.stop().await;
}

/// A two-word filter with a negation, then the sort by time in state, typed in a real terminal:
/// the held call is filtered out, the call with a ringing agent leads and shows that leg, and its
/// participants list the ringing agent first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_with_a_negation_and_the_sort_by_time_in_state() {
    use common::Leg;
    let h = Harness::scenario("quiet").await;
    h.faults(json!({"rateLimitPerMinute": 300})).await;
    h.call(&[
        Leg("Casey Customer", "customer", "connected", None),
        Leg("Ava Reed", "agent", "connected", Some(common::AVA)),
        Leg("Ben Ortiz", "agent", "connected", Some(common::BEN)),
    ])
    .await;
    let held = h
        .call(&[
            Leg("Dora Diaz", "customer", "connected", None),
            Leg("Ava Reed", "agent", "connected", Some(common::AVA)),
            Leg("Finn Holt", "agent", "connected", Some(common::BEN)),
        ])
        .await;
    h.set_leg(&held.id, &leg_of(&held, "Finn Holt"), json!({"held": true}))
        .await;
    h.call(&[
        Leg("Eli Stone", "customer", "connected", None),
        Leg("Gus Lund", "agent", "connected", Some(common::AVA)),
        Leg("Hana Berg", "agent", "alerting", Some(common::BEN)),
    ])
    .await;
    let mut console = Console::start(&h.mock, "filter-sort");
    let screen = console.screen.clone();
    let all = screen.clone();
    tokio::task::spawn_blocking(move || {
        all.wait_for("the three calls", |t| {
            ["Casey Customer", "Dora Diaz", "Eli Stone"]
                .iter()
                .all(|n| t.contains(n))
        })
    })
    .await
    .unwrap();
    console.press("/");
    console.press("support -held");
    console.press("\r");
    let filtered = screen.clone();
    let text = tokio::task::spawn_blocking(move || {
        filtered.wait_for("the held call filtered out", |t| {
            t.contains("filter \"support\" not \"held\"") && !t.contains("Dora Diaz")
        })
    })
    .await
    .unwrap();
    assert!(
        text.contains("Casey Customer") && text.contains("Eli Stone"),
        "{text}"
    );
    assert!(header(&text).contains("2 conferences"), "{text}");
    // One `s`: the sort by time in state.
    console.press("s");
    let sorted = screen.clone();
    let text = tokio::task::spawn_blocking(move || {
        sorted.wait_for("the sort by time in state", |t| {
            t.contains("sort in state") && t.contains("in state ")
        })
    })
    .await
    .unwrap();
    // The conferences pane (left of `││`; at 120 columns its `in state` column is the glyph and
    // the time): the call with a ringing agent first.
    let list = common::pane_lines(&text, false);
    let row = |name: &str| {
        list.iter()
            .position(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{text}"))
    };
    assert!(row("Eli") < row("Casey"), "{text}");
    assert!(list[row("Eli")].contains("◌ "), "{text}");
    assert!(list[row("Casey")].contains("● "), "{text}");
    // The top call open: its ringing agent is listed first.
    console.press("g");
    console.press("\r");
    let opened = screen.clone();
    let text = tokio::task::spawn_blocking(move || {
        opened.wait_for("Eli's call open", |t| {
            !line_with(t, "Hana Berg").is_empty() && !line_with(t, "Gus Lund").is_empty()
        })
    })
    .await
    .unwrap();
    let pane = common::pane_lines(&text, true);
    let at = |name: &str| pane.iter().position(|l| l.contains(name)).unwrap();
    assert!(pane[at("Hana Berg")].contains("◌ alerting"), "{text}");
    assert!(at("Hana Berg") < at("Eli Stone"), "{text}");
    assert!(at("Hana Berg") < at("Gus Lund"), "{text}");
    console.quit_with("q").await;
    h.stop().await;
}

/// The settled strategy with a steady lock learned from earlier kicks (a history already in the
/// console's state directory, bracketing the mock's 400 ms lock narrowly, past its end): the
/// ringing agent answers, and the job waits the learned lock out before its one PATCH; the job
/// view lists that wait, then a single attempt, accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settled_strategy_waits_out_a_learned_lock_before_its_one_patch() {
    let (h, conversation, ben) = ben_rings_under_the_lock().await;
    let since = h.last_seq().await;
    // `Client::lock_key` of a client-credentials client: the API host and port, the client.
    let base = h.mock.base_url();
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let key = format!("{host} client {}", h.mock.client_id());
    let sample = json!({"refusedMs": 480, "acceptedMs": 495});
    let history = json!({"orgs": [{"key": key, "samples": [sample, sample, sample]}]}).to_string();
    let mut console = Console::launch(
        &h.mock,
        "settled-ahead",
        Launch {
            flags: &["--strategy", "settled", "--no-audit"],
            files: &[("state/confwatch/lock-history.json", &history)],
            ..Launch::default()
        },
    );
    let screen = console.screen.clone();
    screen.shows("Casey Customer").await;
    console.kick("Ben Ortiz").await;
    screen.shows("waiting: alerting").await;
    h.set_leg(&conversation.id, &ben, json!({"state": "connected"}))
        .await;
    let done = screen.shows("removed in").await;
    assert!(
        line_with(&done, "Ben Ortiz").contains("disconnected"),
        "{done}"
    );
    let patches = common::participant_patches(&h.requests(since).await);
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0].2, 202, "{patches:?}");

    console.press("J");
    screen.shows("Kick jobs").await;
    console.press("\r");
    let story = screen.shows("requests and waits").await;
    let ahead = screen_line(&story, "settled; PATCH in");
    assert!(
        ahead.contains("when the lock learned from earlier kicks ends"),
        "{story}"
    );
    let waited = story.find("settled; PATCH in").unwrap();
    let sent = story
        .find("attempt 1: PATCH state=disconnected")
        .unwrap_or_else(|| panic!("no PATCH listed:\n{story}"));
    assert!(waited < sent, "the PATCH before the wait:\n{story}");
    assert!(story.contains("attempt 1: 202"), "{story}");
    assert!(!story.contains("attempt 2"), "{story}");
    console.quit_with("q").await;
    h.stop().await;
}

/// The conferences pane's rows (left of `││`) that hold `needle`.
fn conference_rows<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    common::pane_lines(text, false)
        .into_iter()
        .filter(|l| l.contains(needle))
        .collect()
}

/// A call transferred from Support to Sales with Support's agents kept (a consult to a queue):
/// its queue column says Sales; with Support hidden it is still listed, once (its live legs are
/// in Sales too); with Sales hidden as well it is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_transferred_between_queues_shows_while_either_queue_is_shown() {
    let h = Harness::scenario("quiet").await;
    let call = two_agent_conference(&h).await;
    let mut console = Console::start(&h.mock, "transfer");
    let screen = console.screen.clone();
    let text = screen.shows("Casey Customer").await;
    assert!(
        conference_rows(&text, "Casey Customer")[0].contains(common::SUPPORT),
        "{text}"
    );
    h.transfer(&call.id, json!({"queue": "Sales", "keepAgents": true}))
        .await;
    let text = screen
        .when("the call in Sales", |t| {
            conference_rows(t, "Casey Customer")
                .first()
                .is_some_and(|row| row.contains("Sales"))
        })
        .await;
    assert_eq!(conference_rows(&text, "Casey Customer").len(), 1, "{text}");

    // Hide Support (the picker lists by name: Sales, then Support): Q, down, space, enter.
    console.press("Q");
    screen.shows("Queues shown").await;
    console.press("j");
    console.press(" ");
    console.press("\r");
    let text = screen.shows("1 queue hidden").await;
    let rows = conference_rows(&text, "Casey Customer");
    assert_eq!(rows.len(), 1, "{text}");
    assert!(rows[0].contains("Sales"), "{text}");
    assert!(!rows[0].contains(common::SUPPORT), "{text}");

    // Hide Sales as well: the call goes.
    console.press("Q");
    screen.shows("Queues shown").await;
    console.press(" ");
    console.press("\r");
    let text = screen.shows("2 queues hidden").await;
    assert!(
        conference_rows(&text, "Casey Customer").is_empty(),
        "{text}"
    );
    // Hidden, not ended: the list does not say there is none.
    assert!(text.contains("no conference in the queues shown"), "{text}");
    assert!(!text.contains("no active conferences"), "{text}");
    console.quit_with("q").await;
    h.stop().await;
}

/// One call larger than the analytics query may answer (`analyticsResponseLimitBytes`): the
/// console reads again with smaller pages down to one call, then warns with the platform's
/// words and code; it stays live, does not claim there are no conferences, and shows the calls
/// events tell it of.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analytics_answer_too_large_for_one_call_is_warned_and_the_console_stays_live() {
    use common::Leg;
    let h = Harness::scenario("quiet").await;
    // An empty page fits; any page with a call does not.
    h.faults(json!({"rateLimitPerMinute": 300, "analyticsResponseLimitBytes": 120}))
        .await;
    h.call(&[
        Leg("Dora Diaz", "customer", "connected", None),
        Leg("Ava Reed", "agent", "connected", Some(common::AVA)),
        Leg("Ben Ortiz", "agent", "connected", Some(common::BEN)),
    ])
    .await;
    let since = h.last_seq().await;
    let mut console = Console::start(&h.mock, "too-large");
    let screen = console.screen.clone();
    let text = screen.shows("1 warning").await;
    assert!(text.contains("● live"), "{text}");
    assert!(!text.contains("Dora Diaz"), "{text}");
    assert!(!text.contains("no active conferences"), "{text}");
    assert!(
        text.contains("calls could not be read: see the log"),
        "{text}"
    );
    // It read again with smaller pages (each refused), down to one call a page.
    let refused = h
        .requests(since)
        .await
        .iter()
        .filter(|r| r["path"] == "/api/v2/analytics/conversations/details/query")
        .filter(|r| r["status"] == 400)
        .count();
    assert!(refused > 1, "{refused} refused reads");
    let log = std::fs::read_to_string(console.dir.join("confwatch.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("analytics page too large") && l.contains("to=1")),
        "{log}"
    );

    // A call that starts now reaches the screen by its events.
    h.conference_with("connected", "connected").await;
    let text = screen.shows("Casey Customer").await;
    assert!(text.contains("● live"), "{text}");
    // The list may still miss calls, and says so.
    assert!(
        text.contains("calls could not be read: see the log"),
        "{text}"
    );

    // The warning, whole, in the log view: the platform's words and code.
    console.press("L");
    let log = joined(&screen.shows("response.entity.too.large").await);
    assert!(log.contains("re-reading calls"), "{log}");
    assert!(log.contains("400"), "{log}");
    assert!(log.contains("Reduce pageSize"), "{log}");
    console.quit_with("q").await;
    h.stop().await;
}

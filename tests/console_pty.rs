//! The console through a real terminal (issue #4): `sessmgr console` runs on a PTY (expectrl)
//! against a running engine (pcap playback, played once so the table settles), and the keys a
//! person would press go in: `?` answered without Enter, Tab completion, the five syntax
//! errors with the caret, views and prompts, `| include`, and paging with `---- More ----`.
//! What the terminal shows is rebuilt from the byte stream (escape sequences and carriage
//! returns applied, as a terminal would) and compared with golden files (insta) wherever
//! it does not depend on timing.

mod common;

use expectrl::Expect;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// An engine on the project's capture, played once (`capture_loop = false`), in a directory of
/// its own that goes with it.
struct Engine {
    engine: Option<common::engine::Engine>,
    socket: PathBuf,
    dir: PathBuf,
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Stop the engine first, then remove its files.
        drop(self.engine.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(name: &str) -> Engine {
    let dir = std::env::temp_dir().join(format!("sessmgr-pty-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let engine = common::engine::start_engine(&dir, false);
    let socket = engine.socket.clone();
    Engine {
        engine: Some(engine),
        socket,
        dir,
    }
}

/// `sessmgr console` on a PTY, with everything it wrote so far.
struct Pty {
    session: expectrl::session::OsSession,
    raw: Vec<u8>,
}

impl Pty {
    fn open(socket: &Path) -> Pty {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessmgr"));
        cmd.args(["console", "--socket"]).arg(socket);
        // CI may run without TERM or with TERM=dumb, where rustyline does no line editing.
        cmd.env("TERM", "xterm").env_remove("NO_COLOR");
        let mut session = expectrl::Session::spawn(cmd).expect("console on a pty");
        session.set_expect_timeout(Some(Duration::from_secs(30)));
        let mut pty = Pty {
            session,
            raw: Vec::new(),
        };
        pty.wait_for("<H3C>");
        pty
    }

    /// Reads until `needle` has been written (the raw bytes, escapes included).
    fn wait_for(&mut self, needle: &str) {
        match self.session.expect(needle) {
            Ok(found) => self.raw.extend_from_slice(found.as_bytes()),
            Err(e) => {
                let mut rest = vec![0u8; 4096];
                let n = self.session.try_read(&mut rest).unwrap_or(0);
                panic!(
                    "pending {:?}; waiting for {needle:?}: {e}\nscreen so far:\n{}\nlast bytes: {:?}",
                    String::from_utf8_lossy(&rest[..n]),
                    screen(&self.raw).join("\n"),
                    String::from_utf8_lossy(&self.raw[self.raw.len().saturating_sub(300)..])
                )
            }
        }
    }

    /// Types `line` and Enter, and returns the transcript once the prompt `next` is up.
    fn enter(&mut self, line: &str, next: &str) -> String {
        self.keys(&format!("{line}\r"), &ready(next))
    }

    /// `quit` in user view: the console ends.
    fn quit(mut self) {
        self.session.send("quit\r").expect("type");
        if let Err(e) = self.session.expect(expectrl::Eof) {
            panic!("the console did not end after quit: {e}");
        }
    }

    /// Presses `keys`, waits for `needle`, and returns what the screen shows from the line
    /// the cursor was on before the keys to the cursor's line after.
    fn keys(&mut self, keys: &str, needle: &str) -> String {
        let from = screen(&self.raw).len() - 1;
        self.session.send(keys).expect("type");
        self.wait_for(needle);
        screen(&self.raw)[from..].join("\n")
    }
}

/// The needle for "the line editor is waiting, showing `shown`": rustyline draws its line
/// after clearing it (`ESC[K`), which the console's own output never does.
fn ready(shown: &str) -> String {
    format!("\x1b[K{shown}")
}

/// What a terminal shows for `raw`: printable text written at the cursor, `\r` to the line's
/// start, `\n` to the next line, backspace, and the CSI sequences line editors use (cursor
/// left/right/up/down, clear to end of line); other escape sequences are dropped. Trailing
/// blanks are trimmed.
fn screen(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
            }
            '\x08' => col = col.saturating_sub(1),
            '\x07' => {}
            '\x1b' => {
                if chars.peek() != Some(&'[') {
                    chars.next();
                    continue;
                }
                chars.next();
                let mut params = String::new();
                let mut fin = ' ';
                for d in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&d) {
                        fin = d;
                        break;
                    }
                    params.push(d);
                }
                let n = params.parse::<usize>().unwrap_or(1).max(1);
                while rows.len() <= row {
                    rows.push(Vec::new());
                }
                match fin {
                    'C' => col += n,
                    'D' => col = col.saturating_sub(n),
                    'A' => row = row.saturating_sub(n),
                    'B' => row += n,
                    'G' => col = n - 1,
                    'K' if params.is_empty() || params == "0" => rows[row].truncate(col),
                    'J' if params.is_empty() || params == "0" => {
                        rows[row].truncate(col);
                        rows.truncate(row + 1);
                    }
                    _ => {}
                }
            }
            c if c.is_control() => {}
            c => {
                while rows.len() <= row {
                    rows.push(Vec::new());
                }
                let line = &mut rows[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    while rows.len() <= row {
        rows.push(Vec::new());
    }
    rows.iter()
        .map(|r| r.iter().collect::<String>().trim_end().to_string())
        .collect()
}

#[test]
fn help_and_completion_without_enter() {
    let engine = start("help");
    let mut c = Pty::open(&engine.socket);

    // `?` at an empty line: the view's commands, then the (empty) line again.
    let t = c.keys("?", &ready("<H3C>"));
    insta::assert_snapshot!("help_user_view", t);

    // `?` after a keyword: the next keywords, and the typed text is kept.
    let t = c.keys("display session ?", &ready("<H3C>display session "));
    insta::assert_snapshot!("help_display_session", t);
    // ... and it is still there to be completed and run.
    let t = c.enter("aging-time state | include TCP", "<H3C>");
    insta::assert_snapshot!("help_then_enter", t);

    // Partial keyword with `?`: the keywords starting with it.
    let t = c.keys("display session st?", &ready("<H3C>display session st"));
    insta::assert_snapshot!("help_partial", t);
    c.keys("\x15", "D\x1b[K"); // Ctrl+U clears the line (cursor left, clear)

    // Tab completes a unique prefix, with a space after it.
    let t = c.keys("dis\t", &ready("<H3C>display "));
    assert!(t.ends_with("<H3C>display"), "{t}");
    let t = c.keys("sess\t", &ready("<H3C>display session "));
    assert!(t.ends_with("<H3C>display session"), "{t}");
    c.keys("\x15", "D\x1b[K");
    let t = c.keys("display sess\t", &ready("<H3C>display session "));
    assert!(t.ends_with("<H3C>display session"), "{t}");
    let t = c.enter("aging-time state | include ICMP-", "<H3C>");
    insta::assert_snapshot!("completed_then_enter", t);
    c.quit();
}

#[test]
fn the_five_syntax_errors_with_the_caret() {
    let engine = start("errors");
    let mut c = Pty::open(&engine.socket);
    let mut t = String::new();
    for line in [
        "display session foo",
        "display session",
        "s",
        "system-view foo",
        "display acl 99999",
    ] {
        t += &c.enter(line, "<H3C>");
        t.truncate(t.trim_end_matches("<H3C>").len());
    }
    c.enter("system-view", "[H3C]");
    for line in [
        "session aging-time state udp-ready abc",
        "undo session aging-time state udp-ready 5",
        "sess aging-time state udp",
    ] {
        t += &c.enter(line, "[H3C]");
        t.truncate(t.trim_end_matches("[H3C]").len());
    }
    insta::assert_snapshot!("syntax_errors", t);
    c.enter("return", "<H3C>");
    c.quit();
}

#[test]
fn views_prompts_and_configuration() {
    let engine = start("views");
    let mut c = Pty::open(&engine.socket);
    let mut t = c.enter("system-view", "[H3C]");
    t += &c.enter("session aging-time state udp-ready 90", "[H3C]")[5..];
    t += &c.enter("display session aging-time state | include UDP", "[H3C]")[5..];
    t += &c.enter("undo session aging-time state udp-ready", "[H3C]")[5..];
    t += &c.enter(
        "display session aging-time state | include UDP-READY",
        "[H3C]",
    )[5..];
    t += &c.enter("acl advanced 3000", "[H3C-acl-ipv4-adv-3000]")[5..];
    let acl = "[H3C-acl-ipv4-adv-3000]";
    t += &c.enter("rule permit tcp destination-port eq 443", acl)[acl.len()..];
    t += &c.enter("rule 10 deny udp destination-port eq 53", acl)[acl.len()..];
    t += &c.enter("display this", acl)[acl.len()..];
    t += &c.enter("quit", "[H3C]")[acl.len()..];
    t += &c.enter("acl advanced 3000", acl)[5..];
    t += &c.enter("return", "<H3C>")[acl.len()..];
    t += &c.enter("display current-configuration | include rule", "<H3C>")[5..];
    insta::assert_snapshot!("views_and_prompts", t);
    c.quit();
}

#[test]
fn long_output_pages_until_screen_length_disable() {
    let engine = start("paging");
    let mut c = Pty::open(&engine.socket);

    // 39 lines: 24, then `---- More ----`.
    let t = c.keys(
        "display session aging-time application\r",
        "  ---- More ----",
    );
    assert_eq!(t.lines().count(), 1 + 24 + 1, "{t}");
    insta::assert_snapshot!("more_first_screen", t);
    // Enter: one more line, then More again.
    let t = c.keys("\r", "  ---- More ----");
    assert_eq!(t.lines().count(), 2, "{t}");
    insta::assert_snapshot!("more_enter_one_line", t);
    // Space: the next screen (the rest), the More prompt erased.
    let t = c.keys(" ", &ready("<H3C>"));
    insta::assert_snapshot!("more_space_rest", t);
    assert!(!t.contains("More"), "{t}");

    // q stops: the rest is discarded, the prompt comes back on the More line.
    c.keys(
        "display session aging-time application\r",
        "  ---- More ----",
    );
    let t = c.keys("q", &ready("<H3C>"));
    assert_eq!(t, "<H3C>");
    // So does Ctrl+C (a key here, not a signal: the console lives on).
    c.keys(
        "display session aging-time application\r",
        "  ---- More ----",
    );
    let t = c.keys("\x03", &ready("<H3C>"));
    assert_eq!(t, "<H3C>");

    // Many ACL rules: the configuration pages too.
    c.enter("system-view", "[H3C]");
    c.enter("acl advanced 3999", "[H3C-acl-ipv4-adv-3999]");
    for port in 1..=30 {
        c.enter(
            &format!("rule permit udp destination-port eq {}", 1000 + port),
            "[H3C-acl-ipv4-adv-3999]",
        );
    }
    let t = c.keys("display this\r", "  ---- More ----");
    assert_eq!(t.lines().count(), 1 + 24 + 1, "{t}");
    let t = c.keys(" ", &ready("[H3C-acl-ipv4-adv-3999]"));
    assert!(t.ends_with("#\nreturn\n[H3C-acl-ipv4-adv-3999]"), "{t}");
    c.enter("return", "<H3C>");

    // screen-length disable: everything at once, for this console.
    c.enter("screen-length disable", "<H3C>");
    let t = c.enter("display session aging-time application", "<H3C>");
    assert!(!t.contains("More"), "{t}");
    insta::assert_snapshot!("screen_length_disable", t);
    // The session table (timing-dependent: structure only).
    let t = c.enter("display session table ipv4", "<H3C>");
    assert!(!t.contains("More"), "{t}");
    let total: usize = t
        .split("Total sessions found: ")
        .nth(1)
        .and_then(|r| r.lines().next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no total line in:\n{t}"));
    assert_eq!(t.matches("\nInitiator:\n").count(), total, "{t}");
    assert_eq!(t.matches("\n  Protocol: ").count(), total, "{t}");
    c.quit();

    // Another console starts paged again (the setting is per console).
    let mut c = Pty::open(&engine.socket);
    c.keys(
        "display session aging-time application\r",
        "  ---- More ----",
    );
    c.keys("q", &ready("<H3C>"));
    c.quit();
}

/// Issue #11: Ctrl+Z is `return` (it used to suspend the console and drop the operator to
/// the shell), Ctrl+G is `display current-configuration`, Ctrl+X deletes to the line's start.
#[test]
fn hotkeys_return_display_and_delete() {
    let engine = start("hotkeys");
    let mut c = Pty::open(&engine.socket);
    let acl = "[H3C-acl-ipv4-adv-3000]";
    c.enter("system-view", "[H3C]");
    c.enter("acl advanced 3000", acl);
    c.enter("rule 0 permit tcp", acl);
    // Ctrl+Z with a half-typed line: the line goes, `return` runs, the console lives on.
    c.keys("rule 5 de", "de");
    let t = c.keys("\x1a", &ready("<H3C>"));
    insta::assert_snapshot!("ctrl_z", t);
    // Ctrl+Z in system view too, then the console still answers.
    c.enter("system-view", "[H3C]");
    let t = c.keys("\x1a", &ready("<H3C>"));
    assert_eq!(t, "[H3C]return\n<H3C>");
    let t = c.enter("display version | include Version", "<H3C>");
    assert!(t.contains("\nVersion "), "{t}");

    // Ctrl+G: the configuration, whatever was typed; as the command typed in full shows it.
    c.keys("dis", "dis");
    let t = c.keys("\x07", &ready("<H3C>"));
    insta::assert_snapshot!("ctrl_g", t);
    assert_eq!(t, c.enter("display current-configuration", "<H3C>"));

    // Ctrl+X: everything left of the cursor goes (it used to wait for a second key).
    c.keys("xyz", "xyz");
    c.keys("\x18", "D\x1b[K"); // cursor left, clear
    let t = c.enter("display version", "<H3C>");
    assert!(t.starts_with("<H3C>display version\nsessmgr"), "{t}");
    c.quit();
}

/// Issue #11: repeated Tab cycles through the candidates (the typed prefix never among them);
/// Tab with nothing to offer shows the line again, unchanged, on a new line.
#[test]
fn tab_cycles_and_redisplays() {
    let engine = start("tab");
    let mut c = Pty::open(&engine.socket);
    c.enter("system-view", "[H3C]");
    let mut t = c.keys("s\t", &ready("[H3C]save "));
    for next in ["session", "show", "sysname", "save", "session"] {
        t = c.keys("\t", &ready(&format!("[H3C]{next} ")));
    }
    assert_eq!(t, "[H3C]session");
    // ... and what Tab left is typed on.
    let t = c.enter("aging-time state udp-ready 90", "[H3C]");
    assert_eq!(t, "[H3C]session aging-time state udp-ready 90\n[H3C]");

    // No match: the same line, on a new line; Enter then runs it as it was.
    c.keys("display zz", "zz");
    let t = c.keys("\t", &ready("[H3C]display zz"));
    assert_eq!(t, "[H3C]display zz\n[H3C]display zz");
    let t = c.enter("", "[H3C]");
    insta::assert_snapshot!("tab_no_match_then_enter", t);
    c.enter("return", "<H3C>");
    c.quit();
}

/// Issue #11: a filter's regular expression is the rest of the line (up to the next `|`,
/// `>` or `>>`), and `>` / `>>` write the output to a file in flash:/ (the configuration
/// directory), refusing any other place.
#[test]
fn regex_with_spaces_and_redirection() {
    let engine = start("redirect");
    let mut c = Pty::open(&engine.socket);
    let acl = "[H3C-acl-ipv4-adv-3000]";
    c.enter("system-view", "[H3C]");
    c.enter("acl advanced 3000", acl);
    c.enter("rule 0 permit tcp", acl);
    c.enter("rule 10 permit udp", acl);
    c.enter("rule 20 deny icmp", acl);
    c.enter("return", "<H3C>");

    let t = c.enter("display current-configuration | include rule 0", "<H3C>");
    insta::assert_snapshot!("include_rule_0", t);
    let t = c.enter(
        "display current-configuration | include rule | exclude permit udp",
        "<H3C>",
    );
    insta::assert_snapshot!("include_then_exclude", t);

    // `>`: nothing on the screen, the output in the file.
    let t = c.enter("display current-configuration > now.cfg", "<H3C>");
    assert_eq!(t, "<H3C>display current-configuration > now.cfg\n<H3C>");
    let written = std::fs::read_to_string(engine.dir.join("now.cfg")).expect("now.cfg");
    assert!(written.contains(" rule 10 permit udp\n"), "{written}");
    let shown = c.enter("display current-configuration", "<H3C>");
    assert_eq!(
        shown,
        format!("<H3C>display current-configuration\n{written}<H3C>")
    );
    // `>>` appends, after the filters; `>` again overwrites; flash:/ is the same place.
    c.enter(
        "display current-configuration | include deny >> now.cfg",
        "<H3C>",
    );
    let appended = std::fs::read_to_string(engine.dir.join("now.cfg")).expect("now.cfg");
    assert_eq!(appended, format!("{written} rule 20 deny icmp\n"));
    c.enter(
        "display version | include Version > flash:/now.cfg",
        "<H3C>",
    );
    let over = std::fs::read_to_string(engine.dir.join("now.cfg")).expect("now.cfg");
    assert!(
        over.starts_with("Version ") && over.lines().count() == 1,
        "{over}"
    );

    // Anywhere else: refused, with a `%` line.
    let t = c.enter("display version > ../escape.txt", "<H3C>");
    let t = t.replace(&engine.dir.display().to_string(), "DIR");
    insta::assert_snapshot!("redirect_refused", t);
    assert!(!engine.dir.join("../escape.txt").exists());
    c.quit();
}

/// Issue #11: a user-defined application at the prompt: defined by its mappings (general and
/// host), listed, timed, in the configuration, and gone with its last mapping.
#[test]
fn a_user_defined_application_at_the_prompt() {
    let engine = start("apps");
    let mut c = Pty::open(&engine.socket);
    let mut t = c.enter("system-view", "[H3C]");
    for line in [
        "port-mapping application MyApp port 9000",
        "port-mapping application myapp port 9001 host ip 10.1.1.1 10.1.1.9",
        "port-mapping application web port 8080 subnet ip 10.2.0.0 255.255.0.0",
        "port-mapping application tel port 2323",
        "display port-mapping user-defined",
        "session aging-time application myapp 77",
        "display session aging-time application | include myapp|web",
        "display current-configuration | include myapp|web",
        "undo port-mapping application myapp port 9000",
        "undo port-mapping application myapp port 9001 host ip 10.1.1.1 10.1.1.9",
        "display port-mapping user-defined",
        "session aging-time application myapp 77",
    ] {
        t += &c.enter(line, "[H3C]")[5..];
    }
    insta::assert_snapshot!("user_defined_application", t);
    c.enter("return", "<H3C>");
    c.quit();
}

/// `terminal monitor` (issue #13): an alarm that arrives while a command is half typed is
/// printed above the prompt, and the prompt and the typed text are drawn again, intact. The
/// engine plays (in a loop) a generated capture whose creation rate alternates between 20 and
/// 200 new sessions a second every 10 seconds, with `rate-abrupt` on and no base, so nearly
/// every 10-second period raises one; the test waits for the next one after the typing (no
/// fixed sleep), whenever it comes.
#[test]
fn an_alarm_arriving_while_typing_is_printed_above_the_redrawn_line() {
    let dir = std::env::temp_dir().join(format!("sessmgr-pty-alarm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let capture = dir.join("steps.pcap");
    let mut frames = Vec::new();
    let mut n = 0u32;
    for s in 0..60u64 {
        let rate = if (s / 10) % 2 == 0 { 20 } else { 200 };
        for i in 0..rate {
            n += 1;
            let src = [10, 9, (n >> 8) as u8, n as u8];
            let us = (1_700_000_000 + s) * 1_000_000 + i * 1_000_000 / rate;
            frames.push((
                us,
                common::frames::udp4(src, 2000, [192, 0, 2, 7], 53, b"q"),
            ));
        }
    }
    common::frames::write_pcap_timed(&capture, frames);
    // Flows age out within a lap, so every lap creates its sessions anew.
    std::fs::write(
        dir.join("startup.cfg"),
        "session aging-time state udp-open 1\nsession alarm rate-abrupt enable\n\
         session alarm rate-abrupt threshold 50 base-threshold 0\n",
    )
    .expect("startup");
    let engine = Engine {
        engine: Some(common::engine::start_engine_on(&dir, &capture, true, "")),
        socket: dir.join("ctl.sock"),
        dir,
    };
    let mut c = Pty::open(&engine.socket);
    let t = c.enter("terminal monitor", "<H3C>");
    assert!(
        t.contains("The current terminal is enabled to display logs."),
        "{t}"
    );
    // Half a command, echoed; then the next alarm, and the line drawn again after it.
    c.keys("display sess", "display sess");
    let before = screen(&c.raw).len() - 1;
    c.wait_for("SESSION/4/SESSION_RATE_ABRUPT");
    // rustyline's external printer: the message's line, then the prompt and the line typed
    // so far on the next, the cursor back where it was.
    c.wait_for("\r\n<H3C>display sess");
    let shown = screen(&c.raw)[before..].to_vec();
    // The message's time and figures depend on the wall clock: the rest is golden.
    let redact = regex::Regex::new(r"^%\w{3} [ \d]\d \d\d:\d\d:\d\d:\d{3} \d{4} (H3C SESSION/4/SESSION_RATE_ABRUPT: The session creation rate changed from )\d+/s to \d+/s \([+-]\d+\.\d%\) in 10 s, reaching the threshold 50%; start \d+\.\d% of 100000/s, above the base threshold 0%\.$").unwrap();
    let shown: Vec<String> = shown
        .iter()
        .map(|l| {
            redact
                .replace(l, "%TIME ${1}A/s to B/s (CHANGE) ...")
                .into_owned()
        })
        .collect();
    insta::assert_snapshot!("alarm_while_typing", shown.join("\n"));
    // The typed text is still the line being edited: finishing it runs the whole command.
    let t = c.enter("ion aging-time state | include UDP-OPEN", "<H3C>");
    assert!(t.contains("UDP-OPEN"), "{t}");
    c.quit();
}

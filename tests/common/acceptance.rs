//! What the end-to-end ALG tests share (tests/e2e_sip.rs, tests/e2e_rtsp.rs): acceptance items
//! checked and reported one by one, readers of the console's session and relation tables, the
//! engine's counters, and packet counts taken with tcpdump inside a namespace.
#![allow(dead_code)]

use super::engine::console;
use super::lab::dump;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The ACL the packet filter applies (IPv4 and IPv6 advanced ACLs share the number).
pub const ACL: u32 = 3900;

/// The console lines that deny every new session starting on the server's side: ACL 3900
/// denies everything, applied inbound on the engine's port facing the server (`port`), so
/// only sessions from the client side and what claims a relation entry pass.
pub fn deny_server_side(port: &str) -> String {
    format!(
        "system-view\n\
         acl advanced {ACL}\nrule 0 deny ip\nquit\n\
         acl ipv6 advanced {ACL}\nrule 0 deny ipv6\nquit\n\
         interface {port}\n\
         packet-filter {ACL} inbound\npacket-filter ipv6 {ACL} inbound\n\
         quit\nreturn\n"
    )
}

/// The acceptance items, each checked and reported on its own; `finish` fails the test with
/// the list of every item that did not hold.
#[derive(Default)]
pub struct Checks {
    pub passed: Vec<String>,
    pub failed: Vec<String>,
}

impl Checks {
    pub fn check(&mut self, ok: bool, what: &str, detail: impl FnOnce() -> String) {
        if ok {
            eprintln!("ok      {what}");
            self.passed.push(what.to_string());
        } else {
            let detail = detail();
            eprintln!("FAILED  {what}\n{}\n", first_lines(&detail, 40));
            // The details are above; the summary names the item and the first line of why.
            let why: String = detail
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(160)
                .collect();
            self.failed.push(format!("{what}  [{why}]"));
        }
    }

    pub fn result(&mut self, what: &str, r: Result<(), String>) {
        let err = r.as_ref().err().cloned().unwrap_or_default();
        self.check(r.is_ok(), what, || err);
    }

    /// Console lines typed without a `% ...` answer.
    pub fn console_ok(&mut self, socket: &Path, what: &str, lines: &str) -> String {
        let t = console(socket, lines);
        self.result(what, no_console_errors(&t));
        t
    }

    /// Fails the test when an item failed, with the list and the tail of `log`.
    pub fn finish(&self, started: std::time::Instant, log: &str) {
        eprintln!(
            "{} checks passed, {} failed, in {:?}",
            self.passed.len(),
            self.failed.len(),
            started.elapsed()
        );
        assert!(
            self.failed.is_empty(),
            "{} of {} acceptance checks failed:\n- {}\n(engine log tail:\n{})",
            self.failed.len(),
            self.failed.len() + self.passed.len(),
            self.failed.join("\n- "),
            last_lines(log, 10)
        );
    }
}

pub fn first_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().take(n).collect();
    let more = s.lines().count().saturating_sub(n);
    if more > 0 {
        format!("{}\n  ... ({more} more lines)", lines.join("\n"))
    } else {
        lines.join("\n")
    }
}

pub fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Console error lines (` % ...`) with the command each answers.
pub fn console_errors(transcript: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let mut last_command = "";
    for l in transcript.lines() {
        if l.starts_with('<') || l.starts_with('[') {
            last_command = l;
        } else if l.trim_start().starts_with("% ") {
            errors.push(format!("{last_command}  ->  {}", l.trim()));
        }
    }
    errors
}

pub fn no_console_errors(transcript: &str) -> Result<(), String> {
    let errors = console_errors(transcript);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\ntranscript:\n{transcript}", errors.join("\n")))
    }
}

/// Sum of the engine's drop counters whose reason names the packet filter, and every drop
/// counter (for failure messages).
pub fn filter_drops(socket: &Path) -> (u64, String) {
    let stats = dump(socket, "stats");
    let n = stats["drops"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.contains("filter"))
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0);
    (n, stats["drops"].to_string())
}

/// An ALG counter of `sessmgr dump stats` (under `alg`, named `alg_{keyword}_{reason}`:
/// `alg_sip_fragmented_not_inspected`; absent while zero), with the whole `alg` object for
/// failure messages.
pub fn alg_counter(socket: &Path, name: &str) -> (u64, String) {
    let stats = dump(socket, "stats");
    (
        stats["alg"][name].as_u64().unwrap_or(0),
        stats["alg"].to_string(),
    )
}

/// The value of a `Label IP/port: value` (or IPv6 `Label IP: value`) line.
fn labelled(line: &str, label: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix(label)?;
    let rest = rest.trim_start();
    let value = rest
        .strip_prefix("IP/port:")
        .or_else(|| rest.strip_prefix("IP:"))?;
    Some(value.trim().to_string())
}

/// One entry of `display session relation-table` (comware.md §6.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub source: String,
    pub destination: String,
    pub protocol: String,
    pub app: String,
}

pub fn relation_entries(t: &str) -> Vec<Relation> {
    t.split("\n\n")
        .filter_map(|block| {
            let mut r = Relation {
                source: String::new(),
                destination: String::new(),
                protocol: String::new(),
                app: String::new(),
            };
            for l in block.lines() {
                if let Some(v) = labelled(l, "Source") {
                    r.source = v;
                } else if let Some(v) = labelled(l, "Destination") {
                    r.destination = v;
                } else if let Some(rest) = l.strip_prefix("Protocol: ") {
                    r.protocol = rest.split_whitespace().next().unwrap_or_default().into();
                    r.app = rest
                        .split("App: ")
                        .nth(1)
                        .map(|a| a.trim().to_string())
                        .unwrap_or_default();
                }
            }
            (!r.destination.is_empty()).then_some(r)
        })
        .collect()
}

/// Asks `display session relation-table ipv4` and `display session statistics` every `every`
/// until an entry's destination (`address/port`) is `wanted` or `within` has passed: the last
/// transcript and the wanted entries it showed.
pub fn poll_relation_entries(
    socket: &Path,
    within: Duration,
    every: Duration,
    wanted: impl Fn(&str) -> bool,
) -> (String, Vec<Relation>) {
    let started = Instant::now();
    let (mut t, mut shown) = (String::new(), Vec::new());
    while started.elapsed() < within {
        t = console(
            socket,
            "display session relation-table ipv4\ndisplay session statistics\n",
        );
        shown = relation_entries(&t)
            .into_iter()
            .filter(|r| wanted(&r.destination))
            .collect();
        if !shown.is_empty() {
            break;
        }
        std::thread::sleep(every);
    }
    (t, shown)
}

/// `Current relation-table entries: N` of `display session statistics`.
pub fn relation_entries_counted(t: &str) -> Option<u64> {
    t.lines()
        .find_map(|l| l.strip_prefix("Current relation-table entries: "))
        .and_then(|n| n.trim().parse().ok())
}

pub fn relation_total(t: &str) -> Option<u64> {
    t.lines()
        .find_map(|l| l.strip_prefix("Total entries found:"))
        .and_then(|n| n.trim().parse().ok())
}

/// One session of `display session table ... verbose` (comware.md §2.3): its initiator's
/// source and destination (`address/port`), protocol line and application.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub source: String,
    pub destination: String,
    pub protocol: String,
    pub app: String,
}

pub fn verbose_sessions(t: &str) -> Vec<Shown> {
    t.split("Initiator:\n")
        .skip(1)
        .map(|block| {
            let initiator = block.split("Responder:").next().unwrap_or_default();
            let find = |label: &str| {
                initiator
                    .lines()
                    .find_map(|l| labelled(l, label))
                    .unwrap_or_default()
            };
            Shown {
                source: find("Source"),
                destination: find("Destination"),
                protocol: initiator
                    .lines()
                    .find_map(|l| l.trim_start().strip_prefix("Protocol: "))
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
                app: block
                    .lines()
                    .find_map(|l| l.strip_prefix("Application: "))
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            }
        })
        .collect()
}

/// `address/port` as the console prints it (IPv6 addresses bare, as comware.md §6.1 shows).
pub fn at(addr: &str, port: u16) -> String {
    format!("{addr}/{port}")
}

/// The engine's session (`sessmgr dump sessions`) whose initiator goes from `src`/`sport` to
/// `dst`/`dport`.
pub fn dumped_session(socket: &Path, src: &str, sport: u16, dst: &str, dport: u16) -> Value {
    let all = dump(socket, "sessions");
    all["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| {
            s["orig"]["src"] == src
                && s["orig"]["dst"] == dst
                && s["orig"]["sport"] == sport
                && s["orig"]["dport"] == dport
        })
        .cloned()
        .unwrap_or(Value::Null)
}

/// tcpdump counting, inside a namespace, the packets a filter matches: started (and listening)
/// by `start`, read by `stop`. Killed if the test leaves early.
pub struct Capture {
    child: Child,
    lines: Receiver<String>,
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Capture {
    pub fn start(ns: &str, filter: &str) -> Result<Capture, String> {
        Capture::start_on(ns, "eth0", false, filter)
    }

    /// The same on interface `iface`; `inbound_only` counts only what the interface received
    /// (`-Q in`), not what the namespace sent on it.
    pub fn start_on(
        ns: &str,
        iface: &str,
        inbound_only: bool,
        filter: &str,
    ) -> Result<Capture, String> {
        let direction: &[&str] = if inbound_only { &["-Q", "in"] } else { &[] };
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "tcpdump", "-i", iface, "-n", "-p"])
            .args(direction)
            .args(["--immediate-mode", "-w", "/dev/null", filter])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("tcpdump: {e}"))?;
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut c = Capture { child, lines };
        loop {
            match c.lines.recv_timeout(Duration::from_secs(5)) {
                Ok(l) if l.contains("listening on") => return Ok(c),
                Ok(_) => continue,
                Err(_) => {
                    let _ = c.child.kill();
                    return Err(format!("tcpdump in {ns} did not start ({filter})"));
                }
            }
        }
    }

    /// Stops tcpdump (SIGINT) and returns how many packets it captured.
    pub fn stop(self) -> Result<u64, String> {
        // Whatever is still on its way through the engine.
        std::thread::sleep(Duration::from_millis(200));
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let mut said = Vec::new();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            // tcpdump says "1 packet captured", and "N packets captured" otherwise.
            if let Some(n) = l
                .strip_suffix(" packets captured")
                .or_else(|| l.strip_suffix(" packet captured"))
            {
                return n.trim().parse().map_err(|e| format!("{l}: {e}"));
            }
            said.push(l);
        }
        Err(format!("tcpdump said no count: {said:?}"))
    }
}

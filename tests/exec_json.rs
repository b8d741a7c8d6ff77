//! `sessmgr exec [--json]` and the data of every display command (#13 B4).
//!
//! Against a real engine (the demo capture played once, some configuration typed in so the
//! displays have something to show):
//! - the display commands are enumerated from the grammar itself (`?` help, keyword after
//!   keyword, up to the first point where the command is complete), and every one of them
//!   must be covered by a line of `DISPLAYS`: a display added later without a line here fails
//!   this test;
//! - each line of `DISPLAYS` is asked over the control socket with `"data": true`: its data is
//!   valid JSON, and the numbers of its text and of its data are the same (every number of
//!   the text is in the data, and the data has no number the text lacks), from one reply so
//!   that time cannot come between them;
//! - each line is run through `sessmgr exec` and `sessmgr exec --json`: exit status 0, the
//!   text as the console shows it, one valid JSON document with the data's keys;
//! - a refused line makes `sessmgr exec` exit 1 with Comware's error on standard error.

mod common;

use common::engine::start_engine;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A concrete command line for every display the grammar has (and a few variants).
const DISPLAYS: &[&str] = &[
    "display acl 3000",
    "display acl all",
    "display acl ipv6 3002",
    "display acl ipv6 all",
    "display current-configuration",
    "display remote-backup-group status",
    "display history-command",
    "display history-command all",
    "display logbuffer",
    "display packet-drop summary",
    "display port-mapping pre-defined",
    "display port-mapping user-defined",
    "display port-mapping user-defined application web",
    "display session aging-time application",
    "display session aging-time state",
    "display session relation-table",
    "display session relation-table ipv4",
    "display session statistics",
    "display session statistics summary",
    "display session statistics ipv4",
    "display session statistics ipv4 protocol udp",
    "display session statistics ipv4 protocol dns",
    "display session statistics history-max",
    "display session top-statistics last-1-hour",
    "display session top-statistics last-24-hours",
    "display session top-statistics last-30-days",
    "display session table ipv4",
    "display session table ipv4 verbose",
    "display session table ipv6",
    "display this",
    "display userlog export",
    "display version",
];

/// Configuration typed in before the displays run.
const SETUP: &[&str] = &[
    "system-view",
    "acl advanced 3000",
    "rule 5 permit tcp destination-port eq 80",
    "rule 10 deny udp destination-port eq 9999",
    "quit",
    "acl ipv6 advanced 3002",
    "rule 1 deny ipv6 source 2001:2::/48",
    "quit",
    "port-mapping application web port 8080 subnet ip 10.2.0.0 255.255.0.0",
    "port-mapping application web port 8081 protocol tcp",
    "userlog flow export host 127.0.0.1 port 9",
    "userlog flow export host 127.0.0.1 port 4739 ipfix",
    "info-center loghost 127.0.0.1 port 1514 facility local3",
    "session aging-time state syn 40",
    "session top-statistics enable",
    "return",
];

struct Link {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Link {
    fn connect(socket: &Path) -> Link {
        let s = UnixStream::connect(socket).expect("connect");
        Link {
            reader: BufReader::new(s.try_clone().expect("clone")),
            writer: s,
        }
    }

    fn ask(&mut self, req: Value) -> Value {
        writeln!(self.writer, "{req}").expect("send");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("reply");
        serde_json::from_str(&line).expect("a reply is JSON")
    }

    /// Runs `line`; the whole text and the data (a session table's chunks joined).
    fn run(&mut self, line: &str) -> (String, Option<Value>) {
        let r = self.ask(json!({"op": "line", "line": line}));
        assert_ne!(r["failed"], true, "{line}: {}", r["output"]);
        let mut text = r["output"].as_str().unwrap_or("").to_string();
        let mut data = r.get("data").cloned();
        let mut more = r["more"] == true;
        while more {
            let m = self.ask(json!({"op": "more"}));
            text += m["output"].as_str().unwrap_or("");
            let chunk = m.get("data").expect("a chunk's data");
            let d = data.as_mut().expect("the first chunk's data");
            let rows = chunk["sessions"].as_array().expect("rows").clone();
            d["sessions"].as_array_mut().expect("rows").extend(rows);
            if let Some(n) = chunk.get("sessions_found") {
                d["sessions_found"] = n.clone();
            }
            more = m["more"] == true;
        }
        (text, data)
    }
}

/// One word of a display's syntax: a keyword, or an argument (any value).
#[derive(Debug, Clone, PartialEq)]
enum Word {
    Keyword(String),
    Argument,
}

/// The display commands the grammar offers: every path of keywords (and arguments) from
/// `display` to the first point where `<cr>` is offered.
fn displays_in_grammar(link: &mut Link) -> Vec<Vec<Word>> {
    let mut found = Vec::new();
    let mut todo: Vec<(String, Vec<Word>)> = vec![("display".into(), Vec::new())];
    while let Some((line, path)) = todo.pop() {
        assert!(path.len() < 8, "runaway: {line}");
        let help = link.ask(json!({"op": "help", "line": format!("{line} ")}));
        let text = help["output"].as_str().expect("help");
        let items: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        if items.contains(&"<cr>") {
            found.push(path);
            continue;
        }
        for item in items {
            if matches!(item, ">" | ">>" | "|") {
                continue;
            }
            // An argument is shown by its type (`INTEGER<2000-3999>`, `STRING<1-31>`,
            // `X.X.X.X`); a keyword in lower case.
            let is_arg =
                item.contains('<') || item.chars().next().is_some_and(|c| c.is_ascii_uppercase());
            let (next_line, word) = if is_arg {
                (format!("{line} {}", example_value(item)), Word::Argument)
            } else {
                (format!("{line} {item}"), Word::Keyword(item.to_string()))
            };
            let mut p = path.clone();
            p.push(word);
            todo.push((next_line, p));
        }
    }
    found
}

/// A value an argument of this type accepts (to ask the help of what follows it).
fn example_value(item: &str) -> String {
    if let Some(range) = item.strip_prefix("INTEGER<") {
        return range.split('-').next().unwrap_or("1").to_string();
    }
    if item.starts_with("X.X.X.X") {
        return "10.0.0.1".into();
    }
    if item.starts_with("X:X") {
        return "2001::1".into();
    }
    "web".into()
}

/// Whether a DISPLAYS line runs the display of `path` (its first words match it).
fn covers(line: &str, path: &[Word]) -> bool {
    let words: Vec<&str> = line.split_whitespace().skip(1).collect();
    words.len() >= path.len()
        && path.iter().zip(&words).all(|(p, w)| match p {
            Word::Keyword(k) => k == w,
            Word::Argument => true,
        })
}

/// The numbers of a text: every run of digits that is not part of a word (`IPv4`, `h323` and
/// `ICMPv6` hold none; `30s` is 30 seconds), as the text writes it.
fn numbers(text: &str) -> Vec<u128> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let word = |c: u8| c.is_ascii_alphabetic() || c == b'_';
            // A unit of seconds (`TTL: 30s`) ends a number, not a word.
            let unit = i < b.len() && b[i] == b's' && b.get(i + 1).is_none_or(|&c| !word(c));
            let inside_word =
                (start > 0 && word(b[start - 1])) || (i < b.len() && word(b[i]) && !unit);
            if !inside_word && let Ok(n) = text[start..i].parse() {
                out.push(n);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The numbers of a JSON value: its number leaves, and the numbers in its string leaves
/// (addresses, dates, rules), keys left out.
fn json_numbers(v: &Value, out: &mut Vec<u128>) {
    match v {
        Value::Number(n) => out.push(n.as_u64().map(u128::from).expect("a count is unsigned")),
        Value::String(s) => out.extend(numbers(s)),
        Value::Array(a) => a.iter().for_each(|x| json_numbers(x, out)),
        Value::Object(m) => m.values().for_each(|x| json_numbers(x, out)),
        _ => {}
    }
}

fn counts(v: &[u128]) -> BTreeMap<u128, usize> {
    let mut m = BTreeMap::new();
    for &n in v {
        *m.entry(n).or_default() += 1;
    }
    m
}

/// The text's numbers and the data's agree: the same set, and the data holds each number at
/// most as often as the text shows it (the text may repeat one: a host's address in two
/// blocks, the ports of a mapping on TCP and UDP).
fn same_numbers(line: &str, text: &str, data: &Value) {
    let in_text = counts(&numbers(text));
    let mut d = Vec::new();
    json_numbers(data, &mut d);
    let in_data = counts(&d);
    let text_set: BTreeSet<_> = in_text.keys().collect();
    let data_set: BTreeSet<_> = in_data.keys().collect();
    assert_eq!(
        text_set,
        data_set,
        "{line}: the numbers of the text and of the data differ: text alone {:?}, data alone \
         {:?}\n{text}\n{data:#}",
        text_set.difference(&data_set).collect::<Vec<_>>(),
        data_set.difference(&text_set).collect::<Vec<_>>(),
    );
    // A zero may be data the text has no line for when there is nothing to say (`% N
    // core(s) did not answer` is printed only when some did not).
    for (n, k) in in_data.iter().filter(|(n, _)| **n != 0) {
        assert!(
            *k <= in_text[n],
            "{line}: {n} is {k} times in the data, {} in the text\n{text}\n{data:#}",
            in_text[n]
        );
    }
}

fn exec(socket: &Path, json: bool, line: &str) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sessmgr"));
    c.arg("exec").arg("--socket").arg(socket);
    if json {
        c.arg("--json");
    }
    c.args(line.split_whitespace())
        .output()
        .expect("sessmgr exec")
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn every_display_gives_its_numbers_as_json() {
    let dir = std::env::temp_dir().join(format!("sessmgr-exec-json-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let engine = start_engine(&dir, false);
    let mut link = Link::connect(&engine.socket);
    link.ask(json!({"op": "hello", "pager": false, "data": true}));
    for line in SETUP {
        let (out, _) = link.run(line);
        assert!(!out.contains('%'), "{line}: {out}");
    }
    // The capture (1.35 s, played at its own pace) is over: its sessions are in the table
    // and no more come, so that a display asked twice (console, then exec) shows the same.
    // Over means: sessions, at least the capture's length since the engine started, and
    // the same packet count in two answers half a second apart.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(20);
    let mut last = None;
    loop {
        let (_, data) = link.run("display session statistics");
        let data = data.expect("statistics data");
        let packets: u64 = data["protocols"]
            .as_object()
            .map(|m| {
                m.values()
                    .filter_map(|p| p["received_packets"].as_u64())
                    .sum()
            })
            .unwrap_or(0);
        let now = (data["sessions"].as_u64().unwrap_or(0), packets);
        if now.0 > 0 && started.elapsed() > Duration::from_secs(2) && last == Some(now) {
            break;
        }
        last = Some(now);
        assert!(
            Instant::now() < deadline,
            "the capture did not settle: {data}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // Every display of the grammar has a line here.
    let grammar = displays_in_grammar(&mut link);
    assert!(grammar.len() >= 15, "{grammar:?}");
    let uncovered: Vec<_> = grammar
        .iter()
        .filter(|p| !DISPLAYS.iter().any(|l| covers(l, p)))
        .collect();
    assert!(
        uncovered.is_empty(),
        "displays without a line in DISPLAYS (add one, and make the display return \
         Output::display): {uncovered:?}"
    );

    for line in DISPLAYS {
        let (text, data) = link.run(line);
        let data = data.unwrap_or_else(|| panic!("{line}: no data"));
        assert!(data.is_object(), "{line}: {data}");
        assert!(!text.is_empty(), "{line}");
        same_numbers(line, &text, &data);

        let out = exec(&engine.socket, false, line);
        assert!(out.status.success(), "{line}: {out:?}");
        let shown = String::from_utf8(out.stdout).expect("UTF-8");
        // The history is each console's own (exec's has this line alone).
        let own_history = line.starts_with("display history-command");
        assert_eq!(
            shown.lines().count(),
            if own_history { 1 } else { text.lines().count() },
            "{line}: exec shows what the console shows\n{shown}\n{text}"
        );
        let out = exec(&engine.socket, true, line);
        assert!(out.status.success(), "{line}: {out:?}");
        let got: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{line}: exec --json printed no JSON ({e})"));
        assert_eq!(keys(&got), keys(&data), "{line}");
    }
    // Data that does not move with time is printed by exec --json exactly as the console has it.
    for line in [
        "display acl all",
        "display session aging-time state",
        "display version",
    ] {
        let (_, data) = link.run(line);
        let got: Value =
            serde_json::from_slice(&exec(&engine.socket, true, line).stdout).expect("JSON");
        assert_eq!(got, data.expect("data"), "{line}");
    }
    let table = exec(&engine.socket, true, "display session table ipv4 verbose");
    let table: Value = serde_json::from_slice(&table.stdout).expect("JSON");
    assert_eq!(
        table["sessions"].as_array().map(Vec::len),
        table["sessions_found"].as_u64().map(|n| n as usize),
        "{table:#}"
    );

    // A refused line: status 1, Comware's error on standard error, nothing on standard output.
    for json_out in [false, true] {
        let out = exec(&engine.socket, json_out, "display sesion statistics");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("% Unrecognized command found at '^' position."),
            "{err}"
        );
        assert!(err.contains("display sesion statistics\n"), "{err}");
    }
    // A handler's refusal counts too.
    let out = exec(
        &engine.socket,
        false,
        "display session table ipv4 application nosuchapp",
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // No engine: status 2 and why.
    let out = exec(&dir.join("none.sock"), true, "display version");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the engine"));
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}

//! Bad input never crashes the engine (issue #4): the control socket gets random bytes
//! (invalid UTF-8, NULs), JSON of the wrong shape, an oversized line and a burst of lines
//! sent without waiting; every request gets a clear error reply (or its answer), and the
//! engine still answers a normal console line afterwards, on the same connection.

mod common;

use common::engine::start_engine;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

struct Conn {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Conn {
    fn open(socket: &Path) -> Conn {
        let s = UnixStream::connect(socket).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        Conn {
            reader: BufReader::new(s.try_clone().expect("clone")),
            writer: s,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send");
    }

    /// The next reply line, parsed (`None` once the engine closed the connection).
    fn reply(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            // Closed with our unread bytes still queued on its side (a line too long).
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => None,
            Ok(_) => Some(serde_json::from_str(&line).expect("a reply is JSON")),
            Err(e) => panic!("no reply: {e}"),
        }
    }

    fn ask(&mut self, bytes: &[u8]) -> Value {
        self.send(bytes);
        self.reply().expect("a reply")
    }
}

fn error_of(v: &Value) -> &str {
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error reply: {v}"))
}

/// A fixed pseudo-random byte stream (xorshift): the same bytes every run.
fn random_bytes(seed: &mut u64, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed >> 24) as u8
        })
        .collect()
}

#[test]
fn the_control_socket_survives_bad_input() {
    let dir = std::env::temp_dir().join(format!("sessmgr-badinput-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let engine = start_engine(&dir, true);
    let mut c = Conn::open(&engine.socket);

    // Not UTF-8, with NULs: an error naming the encoding, and the connection goes on.
    let e = c.ask(b"\xff\xfe\x00{\"op\":\"hello\"}\x00\xc3\x28\n");
    assert!(error_of(&e).contains("UTF-8"), "{e}");
    let e = c.ask(b"\x00\x00\x00\n");
    assert!(error_of(&e).contains("JSON"), "{e}");

    // Random lines (no newline inside): each one answered with an error.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for n in 0..200 {
        let mut line = random_bytes(&mut seed, 1 + n * 7 % 300);
        line.retain(|&b| b != b'\n');
        line.insert(0, b'#'); // never valid JSON, whatever follows
        line.push(b'\n');
        let e = c.ask(&line);
        error_of(&e);
    }

    // JSON of the wrong shape.
    for (req, says) in [
        (&b"{\"op\":5}\n"[..], "ops:"),
        (b"{\"op\":\"dance\"}\n", "ops:"),
        (b"{\"op\":\"line\",\"line\":42}\n", "string"),
        (b"{\"op\":\"help\",\"line\":[\"dis\"]}\n", "string"),
        (b"{\"op\":\"complete\",\"line\":{}}\n", "string"),
        (b"[1,2,3]\n", "cmd"),
        (b"null\n", "cmd"),
        (b"\"display version\"\n", "cmd"),
        (b"{\"cmd\":7}\n", "cmd"),
        (b"{\"cmd\":\"format-flash\"}\n", "unknown command"),
        (b"{\"op\":\"line\",\"line\":\"display\n", "JSON"),
    ] {
        let e = c.ask(req);
        assert!(
            error_of(&e).contains(says),
            "{}: {e}",
            String::from_utf8_lossy(req)
        );
    }
    // Console lines with control characters and NULs are console errors, not crashes.
    for line in [
        "dis\u{0}play version",
        "\u{0}",
        "display session table ipv4 \u{7f}\u{1b}[",
    ] {
        let r = c.ask(format!("{}\n", serde_json::json!({"op": "line", "line": line})).as_bytes());
        assert!(
            r["output"].as_str().is_some_and(|o| o.contains('%')),
            "{line:?}: {r}"
        );
    }
    // `more` and `stop` with nothing in progress.
    let r = c.ask(b"{\"op\":\"more\"}\n");
    assert_eq!(r["more"], false, "{r}");
    let r = c.ask(b"{\"op\":\"stop\"}\n");
    assert_eq!(r["more"], false, "{r}");

    // A burst: many lines written without waiting for the replies, answered in order.
    const BURST: usize = 2000;
    let mut w = c.writer.try_clone().expect("clone");
    let writer = std::thread::spawn(move || {
        let mut all = Vec::new();
        for i in 0..BURST {
            if i % 2 == 0 {
                all.extend_from_slice(b"{\"op\":\"line\",\"line\":\"display version\"}\n");
            } else {
                all.extend_from_slice(b"not json\n");
            }
        }
        w.write_all(&all).expect("burst");
    });
    for i in 0..BURST {
        let r = c.reply().expect("burst reply");
        if i % 2 == 0 {
            assert!(
                r["output"].as_str().is_some_and(|o| o.contains("sessmgr")),
                "{r}"
            );
        } else {
            error_of(&r);
        }
    }
    writer.join().expect("writer");

    // An oversized line: refused, and that connection is closed.
    let mut big = vec![b'a'; 70 * 1024];
    big.push(b'\n');
    // A too long line is answered with a console line, and the same connection serves the
    // next one.
    let answered_then_served = |c: &mut Conn, e: &serde_json::Value| {
        assert!(
            e["output"]
                .as_str()
                .is_some_and(|o| o.starts_with(" % Too long command line")),
            "{e}"
        );
        let r = c.ask(b"{\"op\":\"line\",\"line\":\"display version\"}\n");
        assert!(
            r["output"].as_str().is_some_and(|o| o.contains("sessmgr")),
            "{r}"
        );
    };
    c.send(&big);
    let e = c.reply().expect("a reply to the long line");
    assert!(error_of(&e).contains("too long"), "{e}");
    // (Issue #11: the engine no longer closes the connection: it skips the rest of the line,
    // answers with a console line and goes on.)
    answered_then_served(&mut c, &e);
    // A console line of 66,000 characters, sent by a console as any other line.
    let long = serde_json::json!({"op": "line", "line": "display version ".repeat(4125)});
    let e = c.ask(format!("{long}\n").as_bytes());
    answered_then_served(&mut c, &e);

    // The engine still answers: a new connection, a normal console line.
    let mut c = Conn::open(&engine.socket);
    let hello = c.ask(b"{\"op\":\"hello\"}\n");
    assert_eq!(hello["prompt"], "<H3C>", "{hello}");
    let r = c.ask(b"{\"op\":\"line\",\"line\":\"display session statistics summary\"}\n");
    assert!(
        r["output"].as_str().is_some_and(|o| o.contains("Sessions")),
        "{r}"
    );
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}

//! The control socket's protocol, below the socket: one JSON request per line in, one JSON
//! reply per line out. `converse` runs one connection over any reader and writer, so the fuzz
//! target (fuzz/fuzz_targets/ctlsock.rs) and the tests drive it with bytes in memory, without
//! a socket, a thread or an engine.
//!
//! - A request is at most `max_request_bytes` long: a longer line is read to its end without
//!   being kept (a client cannot make the engine buffer without bound; a line dripped in
//!   slowly counts what is already buffered), answered with an error that a console shows as
//!   a Comware-style `%` line, and the connection goes on with the next line.
//! - `{"cmd": "sessions"}` and `{"cmd": "stats"}` are `sessmgr dump`; `{"op": ...}` is a
//!   console request, carried to the console service (the ctl actor).
//! - Whatever the bytes, the answer is a JSON object on one line; a bad request gets
//!   `{"error": "..."}` saying what is wrong, and the connection goes on.

use crate::mailbox::CoreMsg;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Requests longer than this are refused (a client cannot make us buffer without bound).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Sessions one `sessions` query returns at most (the console will page through more).
pub const DUMP_LIMIT: usize = 10_000;
/// How long a core may take to answer a query before it is reported as not answering.
const CORE_ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// The console service behind `{"op": ...}` requests: one console per connection, opened when
/// the connection is, closed with it. The engine's is the ctl actor (`actors::ctl`); a fuzz
/// target or a test gives its own.
pub trait ConsoleService: Send + Sync {
    /// A number for a new connection's console.
    fn open(&self) -> u64;
    /// Runs one console request of connection `conn` and returns its answer.
    fn request(&self, conn: u64, req: Value) -> Value;
    /// Connection `conn` is gone.
    fn close(&self, conn: u64);
}

/// What the socket can ask: every core's mailbox, a function giving the counters, and the
/// console service.
pub struct Backends {
    pub cores: Vec<flume::Sender<CoreMsg>>,
    pub stats: Box<dyn Fn() -> Value + Send + Sync>,
    /// The console service (`None`: this socket answers dumps only).
    pub console: Option<Box<dyn ConsoleService>>,
}

/// The socket's own counters, in `sessmgr dump stats` under `control_socket`.
#[derive(Debug, Default)]
pub struct SocketCounters {
    /// Connections served.
    pub accepted: AtomicU64,
    /// Connections refused because the peer is not allowed (SO_PEERCRED).
    pub refused_peers: AtomicU64,
    /// Connections refused because `MAX_CONNECTIONS` were open.
    pub refused_busy: AtomicU64,
    /// Requests answered with an error (not JSON, too long, unknown command).
    pub bad_requests: AtomicU64,
}

impl SocketCounters {
    pub fn to_json(&self) -> Value {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "accepted": n(&self.accepted),
            "refused_peers": n(&self.refused_peers),
            "refused_busy": n(&self.refused_busy),
            "bad_requests": n(&self.bad_requests),
        })
    }
}

/// One connection's side of the conversation.
pub struct Conversation<'a> {
    pub backends: &'a Backends,
    pub counters: &'a SocketCounters,
    /// The connection's console (opened by the caller), when the socket has a console service.
    pub console: Option<u64>,
    pub max_request_bytes: usize,
}

impl Conversation<'_> {
    /// Answers requests read from `reader` on `writer` until the input ends, a reply says
    /// `close`, or `stop` is set. Read timeouts (`WouldBlock`, `TimedOut`) only let the loop
    /// look at `stop`; what was read before one is kept.
    pub fn converse<R: Read, W: Write>(
        &self,
        reader: R,
        mut writer: W,
        stop: &AtomicBool,
    ) -> std::io::Result<()> {
        let mut reader = BufReader::new(reader);
        let limit = self.max_request_bytes;
        // Bytes, not a String: a request that is not UTF-8 gets an error reply, not a dropped
        // connection.
        let mut buf: Vec<u8> = Vec::new();
        // Inside a line too long: its bytes are skipped up to its newline.
        let mut skipping = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            if skipping {
                let (used, ended, eof) = match reader.fill_buf() {
                    Ok([]) => (0, true, true),
                    Ok(bytes) => match bytes.iter().position(|&b| b == b'\n') {
                        Some(at) => (at + 1, true, false),
                        None => (bytes.len(), false, false),
                    },
                    Err(e) if is_timeout(&e) => continue,
                    Err(e) => return Err(e),
                };
                reader.consume(used);
                if ended {
                    skipping = false;
                    self.counters.bad_requests.fetch_add(1, Ordering::Relaxed);
                    writeln!(writer, "{}", too_long(limit))?;
                    if eof {
                        return Ok(());
                    }
                }
                continue;
            }
            // The limit counts what a timed-out read already buffered: a line dripped in
            // slowly is bounded too.
            let room = limit.saturating_sub(buf.len()) as u64;
            let eof = match (&mut reader).take(room).read_until(b'\n', &mut buf) {
                Ok(0) if buf.len() >= limit => false,
                Ok(0) if buf.is_empty() => return Ok(()),
                // End of input after a last line without a newline: answer it, then close.
                Ok(0) => true,
                Ok(_) if buf.ends_with(b"\n") => false,
                Ok(_) if buf.len() < limit => continue,
                Ok(_) => false,
                Err(e) if is_timeout(&e) => continue,
                Err(e) => return Err(e),
            };
            if !buf.ends_with(b"\n") && buf.len() >= limit {
                // What was kept goes; the rest of the line is skipped, then answered.
                buf.clear();
                skipping = true;
                continue;
            }
            let reply = self.reply(&buf);
            writeln!(writer, "{reply}")?;
            let close = reply["close"].as_bool() == Some(true);
            buf.clear();
            if close || eof {
                return Ok(());
            }
        }
    }

    /// The reply to one request line (its newline included or not).
    pub fn reply(&self, line: &[u8]) -> Value {
        let reply = match std::str::from_utf8(line) {
            Err(e) => json!({"error": format!("a request is one line of UTF-8 JSON: {e}")}),
            Ok(text) => match serde_json::from_str::<Value>(text.trim()) {
                Ok(req) if req.get("op").is_some() => {
                    match (&self.backends.console, self.console) {
                        (Some(service), Some(conn)) => service.request(conn, req),
                        _ => json!({"error": "no console on this engine"}),
                    }
                }
                Ok(req) => answer(&req, self.backends, self.counters),
                Err(e) => json!({"error": format!("not a JSON request: {e}")}),
            },
        };
        if reply.get("error").is_some() {
            self.counters.bad_requests.fetch_add(1, Ordering::Relaxed);
        }
        reply
    }
}

/// A read that only timed out (or was interrupted): try again.
fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::Interrupted
    )
}

/// The answer to a line too long: an error for programs, and for a console the line it
/// shows (ours: Comware's edit buffer never lets such a line be typed).
fn too_long(limit: usize) -> Value {
    json!({
        "error": format!("request too long (at most {limit} bytes a line); it was skipped"),
        "output": format!(" % Too long command line: a request is at most {limit} bytes; the line was discarded.\n"),
    })
}

/// `sessmgr dump`'s requests.
fn answer(req: &Value, backends: &Backends, counters: &SocketCounters) -> Value {
    match req["cmd"].as_str() {
        Some("sessions") => {
            let mut rows = Vec::new();
            let mut silent = Vec::new();
            for (core, tx) in backends.cores.iter().enumerate() {
                let (rtx, rrx) = flume::bounded(1);
                let limit = DUMP_LIMIT.saturating_sub(rows.len());
                // try_send: a saturated core is reported, not waited on.
                if tx.try_send(CoreMsg::Dump { reply: rtx, limit }).is_err() {
                    silent.push(core);
                    continue;
                }
                match rrx.recv_timeout(CORE_ANSWER_TIMEOUT) {
                    Ok(mut r) => rows.append(&mut r),
                    Err(_) => silent.push(core),
                }
            }
            let truncated = rows.len() >= DUMP_LIMIT;
            json!({"sessions": rows, "cores_not_answering": silent, "truncated_at": truncated.then_some(DUMP_LIMIT)})
        }
        Some("stats") => {
            let mut stats = (backends.stats)();
            if let Value::Object(m) = &mut stats {
                m.insert("control_socket".into(), counters.to_json());
            }
            stats
        }
        Some(other) => json!({"error": format!("unknown command '{other}' (sessions, stats)")}),
        None => json!({"error": "a request is {\"cmd\": \"sessions\"} or {\"cmd\": \"stats\"}"}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A console that echoes its requests, and remembers which connections closed.
    #[derive(Default)]
    struct Echo {
        closed: Mutex<Vec<u64>>,
    }

    impl ConsoleService for Echo {
        fn open(&self) -> u64 {
            7
        }
        fn request(&self, conn: u64, req: Value) -> Value {
            let close = req["line"] == "quit";
            json!({"conn": conn, "echo": req, "close": close})
        }
        fn close(&self, conn: u64) {
            self.closed.lock().unwrap().push(conn);
        }
    }

    fn backends(console: bool) -> Backends {
        // One core whose mailbox is gone: a dump reports it instead of waiting.
        let (tx, _) = flume::bounded(1);
        Backends {
            cores: vec![tx],
            stats: Box::new(|| json!({"frames": 3})),
            console: console.then(|| Box::new(Echo::default()) as Box<dyn ConsoleService>),
        }
    }

    fn run(b: &Backends, max: usize, input: &[u8]) -> (Vec<Value>, SocketCounters) {
        let counters = SocketCounters::default();
        let conv = Conversation {
            backends: b,
            counters: &counters,
            console: b.console.as_ref().map(|c| c.open()),
            max_request_bytes: max,
        };
        let mut out = Vec::new();
        conv.converse(input, &mut out, &AtomicBool::new(false))
            .expect("in memory");
        let text = String::from_utf8(out).expect("replies are UTF-8");
        let replies = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each reply is JSON"))
            .collect();
        (replies, counters)
    }

    #[test]
    fn one_reply_per_line_and_errors_say_what_is_wrong() {
        let b = backends(true);
        let (r, counters) = run(
            &b,
            MAX_REQUEST_BYTES,
            b"{\"cmd\":\"stats\"}\n\xff\n[1]\n{\"cmd\":\"sessions\"}\n{\"cmd\":\"x\"}\n{\"op\":\"hello\"}",
        );
        assert_eq!(r.len(), 6, "{r:?}");
        assert_eq!(r[0]["frames"], 3);
        assert_eq!(r[0]["control_socket"]["bad_requests"], 0);
        assert!(r[1]["error"].as_str().unwrap().contains("UTF-8"));
        assert!(r[2]["error"].as_str().unwrap().contains("cmd"));
        assert_eq!(r[3]["cores_not_answering"], json!([0]));
        assert!(
            r[4]["error"]
                .as_str()
                .unwrap()
                .contains("unknown command 'x'")
        );
        assert_eq!(r[5]["conn"], 7);
        assert_eq!(counters.bad_requests.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn a_console_request_without_a_console_is_an_error() {
        let (r, _) = run(&backends(false), MAX_REQUEST_BYTES, b"{\"op\":\"hello\"}\n");
        assert_eq!(r[0]["error"], "no console on this engine");
    }

    #[test]
    fn a_line_too_long_is_refused_and_the_next_line_answered() {
        let mut input = vec![b'a'; 100];
        input.extend_from_slice(b"\n{\"cmd\":\"stats\"}\n");
        let (r, counters) = run(&backends(true), 64, &input);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0]["error"].as_str().unwrap().contains("at most 64 bytes"));
        assert_eq!(
            r[0]["output"],
            " % Too long command line: a request is at most 64 bytes; the line was discarded.\n"
        );
        assert_eq!(r[1]["frames"], 3, "{r:?}");
        assert_eq!(counters.bad_requests.load(Ordering::Relaxed), 1);
        // Exactly the limit without its newline is too long as well; one byte less is not.
        let (r, _) = run(&backends(true), 16, &[b' '; 16]);
        assert!(
            r[0]["error"].as_str().unwrap().contains("too long"),
            "{r:?}"
        );
        let (r, _) = run(&backends(true), 16, b"{\"cmd\":\"stats\"}");
        assert_eq!(r[0]["frames"], 3, "{r:?}");
    }

    #[test]
    fn a_close_reply_ends_the_conversation() {
        let (r, _) = run(
            &backends(true),
            MAX_REQUEST_BYTES,
            b"{\"op\":\"line\",\"line\":\"quit\"}\n{\"cmd\":\"stats\"}\n",
        );
        assert_eq!(r.len(), 1, "{r:?}");
    }

    /// `len` bytes of `a`, made as they are read (never held whole), then `tail`.
    struct Endless {
        left: usize,
        tail: &'static [u8],
    }

    impl Read for Endless {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.left > 0 {
                let n = self.left.min(out.len());
                out[..n].fill(b'a');
                self.left -= n;
                return Ok(n);
            }
            let n = self.tail.len().min(out.len());
            out[..n].copy_from_slice(&self.tail[..n]);
            self.tail = &self.tail[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_huge_line_is_skipped_to_its_end_and_the_console_goes_on() {
        let b = backends(true);
        let counters = SocketCounters::default();
        let conv = Conversation {
            backends: &b,
            counters: &counters,
            console: b.console.as_ref().map(|c| c.open()),
            max_request_bytes: MAX_REQUEST_BYTES,
        };
        let mut out = Vec::new();
        // 64 MiB on one line, then a console line; and a last long line that the input ends in.
        let input = Endless {
            left: 64 << 20,
            tail: b"\n{\"op\":\"line\",\"line\":\"display version\"}\n",
        }
        .chain(Endless {
            left: 70_000,
            tail: b"",
        });
        conv.converse(input, &mut out, &AtomicBool::new(false))
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let r: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(r.len(), 3, "{text}");
        assert!(
            r[0]["output"]
                .as_str()
                .unwrap()
                .starts_with(" % Too long command line")
        );
        assert_eq!(r[1]["echo"]["line"], "display version", "{text}");
        assert!(
            r[2]["error"]
                .as_str()
                .unwrap()
                .starts_with("request too long")
        );
    }

    /// A reader that times out between its chunks, as a socket with a read timeout does.
    struct Drip<'a> {
        chunks: std::slice::Chunks<'a, u8>,
        pause: bool,
    }

    impl Read for Drip<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            self.pause = !self.pause;
            if self.pause {
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            match self.chunks.next() {
                Some(c) => {
                    let n = c.len().min(out.len());
                    out[..n].copy_from_slice(&c[..n]);
                    Ok(n)
                }
                None => Ok(0),
            }
        }
    }

    #[test]
    fn a_line_dripped_in_is_answered_whole_and_bounded_whole() {
        let b = backends(true);
        let counters = SocketCounters::default();
        let conv = Conversation {
            backends: &b,
            counters: &counters,
            console: None,
            max_request_bytes: 40,
        };
        let input = b"{\"cmd\":\"stats\"}\n{\"cmd\":  \"stats\"                          }\n";
        let mut out = Vec::new();
        let drip = Drip {
            chunks: input.chunks(3),
            pause: false,
        };
        conv.converse(drip, &mut out, &AtomicBool::new(false))
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("frames"));
        assert!(lines[1].contains("too long"), "{text}");
    }
}

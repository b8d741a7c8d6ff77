//! The control socket's protocol (actors::ctlsock::protocol) with arbitrary bytes as one
//! connection's input: dripped in small chunks with read timeouts between them, as a slow
//! client's bytes arrive, under a request limit small enough for the fuzzer to cross. Behind
//! it: the real console (console_op, ctl::exec::Console) on an engine whose one core is gone,
//! so a dump or a display asks it and reports it instead of waiting.
//!
//! Checked: nothing panics; every reply is one line holding one JSON object; there are never
//! more replies than request lines; a line too long is answered once, with a console line,
//! and the conversation goes on. (`save` is answered with an error here instead of writing
//! files; a `> FILE` redirection is refused, the configuration directory does not exist.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sessmgr::actors::ctl::console_op;
use sessmgr::actors::ctlsock::{Backends, ConsoleService, Conversation, SocketCounters};
use sessmgr::config::Config;
use sessmgr::ctl::engine::Engine;
use sessmgr::ctl::exec::Console;
use sessmgr::ctl::running::Running;
use sessmgr::ctl::{Action, SystemCmd};
use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The consoles of the connection, served in the calling thread.
struct Consoles {
    engine: Arc<Engine>,
    open: Mutex<HashMap<u64, Console>>,
    next: AtomicU64,
}

impl ConsoleService for Consoles {
    fn open(&self) -> u64 {
        let conn = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.open.lock() {
            m.insert(conn, Console::new(self.engine.clone()));
        }
        conn
    }

    fn request(&self, conn: u64, req: Value) -> Value {
        let Ok(mut m) = self.open.lock() else {
            return json!({"error": "poisoned"});
        };
        let Some(console) = m.get_mut(&conn) else {
            return json!({"error": "no such console"});
        };
        // `save [FILE]` writes files: not while fuzzing.
        if req["op"] == "line"
            && let Some(line) = req["line"].as_str()
            && matches!(
                console.terminal.clone().execute(line),
                Ok(Some((cmd, _))) if matches!(cmd.action, Action::System(SystemCmd::Save { .. }))
            )
        {
            return json!({"error": "save is not run while fuzzing"});
        }
        console_op(console, &req)
    }

    fn close(&self, conn: u64) {
        if let Ok(mut m) = self.open.lock() {
            m.remove(&conn);
        }
    }
}

/// A reader that times out between its chunks (as a socket with a read timeout does).
struct Drip<'a> {
    data: &'a [u8],
    chunk: usize,
    pause: bool,
}

impl Read for Drip<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.pause = !self.pause;
        if self.pause && !self.data.is_empty() {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        let n = self.chunk.min(out.len()).min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&shape, input)) = data.split_first() else {
        return;
    };
    let max_request_bytes =
        [64, 512, 4096, sessmgr::actors::ctlsock::MAX_REQUEST_BYTES][usize::from(shape & 3)];
    let chunk = 1 + usize::from(shape >> 2);

    // One core, gone: asked, it is reported as not answering, at once.
    let (core, gone) = flume::bounded(1);
    drop(gone);
    let engine = Arc::new(Engine::new(
        vec![core.clone()],
        Running::factory(&Config::default()),
        "/nonexistent/sessmgr-fuzz/startup.cfg".into(),
    ));
    let backends = Backends {
        cores: vec![core],
        stats: Box::new(|| json!({"frames": 0})),
        console: Some(Box::new(Consoles {
            engine,
            open: Mutex::default(),
            next: AtomicU64::new(1),
        })),
    };
    let counters = SocketCounters::default();
    let conn = backends.console.as_ref().map(|c| c.open());
    let conversation = Conversation {
        backends: &backends,
        counters: &counters,
        console: conn,
        max_request_bytes,
    };
    let mut out = Vec::new();
    let reader = Drip {
        data: input,
        chunk,
        pause: false,
    };
    conversation
        .converse(reader, &mut out, &AtomicBool::new(false))
        .expect("in memory, nothing fails");
    if let (Some(c), Some(conn)) = (backends.console.as_ref(), conn) {
        c.close(conn);
    }

    let text = std::str::from_utf8(&out).expect("replies are UTF-8");
    let requests = input.split(|&b| b == b'\n').count();
    let replies: Vec<&str> = text.lines().collect();
    assert!(
        replies.len() <= requests,
        "{} replies to {requests} lines",
        replies.len()
    );
    for (i, line) in replies.iter().enumerate() {
        let v: Value = serde_json::from_str(line).expect("each reply is JSON");
        assert!(v.is_object(), "reply {i} is not an object: {line}");
        if v["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("request too long"))
        {
            assert!(
                v["output"].as_str().is_some_and(|o| o.starts_with(" % ")),
                "reply {i}: a line too long is answered with a console line: {line}"
            );
        }
    }
});

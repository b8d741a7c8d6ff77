//! The ctl actor (DESIGN.md §2): operators' consoles on the actix control plane.
//!
//! The control socket's connection threads only move bytes: each request of a console is a
//! `ConsoleRequest` message to the ctl actor, which keeps every console's state (view,
//! history, a display in progress) and runs the command against the engine. The actor is a
//! pool of synchronous actors (`SyncArbiter`, `CTL_THREADS` threads): a command blocks while
//! the cores answer from their shards between batches, so it must not run on the arbiter that
//! carries the log and stats actors, and one operator's long display must not hold up
//! another's. A console's requests run one at a time (its state is locked per request); the
//! consoles of different operators run side by side.

use super::ctlsock::ConsoleService;
use crate::ctl::engine::Engine;
use crate::ctl::exec::Console;
use actix::prelude::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Console commands that may run at the same time.
pub const CTL_THREADS: usize = 4;
/// How long a connection waits for the ctl actor's answer (a core that does not answer is
/// reported well before: the engine waits 2 s per core).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

type Consoles = Arc<Mutex<HashMap<u64, Arc<Mutex<Console>>>>>;

pub struct CtlActor {
    engine: Arc<Engine>,
    consoles: Consoles,
}

impl Actor for CtlActor {
    type Context = SyncContext<Self>;
}

/// One console request (`{"op": ...}`) of connection `conn`; the answer goes to `reply`.
pub struct ConsoleRequest {
    pub conn: u64,
    pub req: Value,
    pub reply: flume::Sender<Value>,
}

impl Message for ConsoleRequest {
    type Result = ();
}

/// Connection `conn` is gone: its console with it.
pub struct ConsoleClosed {
    pub conn: u64,
}

impl Message for ConsoleClosed {
    type Result = ();
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking command leaves a console as the last completed request left it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Handler<ConsoleRequest> for CtlActor {
    type Result = ();

    fn handle(&mut self, msg: ConsoleRequest, _: &mut SyncContext<Self>) {
        let console = lock(&self.consoles)
            .entry(msg.conn)
            .or_insert_with(|| Arc::new(Mutex::new(Console::new(self.engine.clone()))))
            .clone();
        let answer = console_op(&mut lock(&console), &msg.req);
        let _ = msg.reply.send(answer);
    }
}

impl Handler<ConsoleClosed> for CtlActor {
    type Result = ();

    fn handle(&mut self, msg: ConsoleClosed, _: &mut SyncContext<Self>) {
        lock(&self.consoles).remove(&msg.conn);
    }
}

/// What the control socket holds: the ctl actor's address and the connection numbering.
#[derive(Clone)]
pub struct CtlHandle {
    addr: Addr<CtlActor>,
    next: Arc<AtomicU64>,
}

impl CtlHandle {
    /// Starts the pool; must run on a thread of the actix System (see
    /// `ControlPlane::start_ctl`).
    pub fn start(engine: Arc<Engine>) -> CtlHandle {
        let consoles: Consoles = Arc::default();
        let addr = SyncArbiter::start(CTL_THREADS, move || CtlActor {
            engine: engine.clone(),
            consoles: consoles.clone(),
        });
        CtlHandle {
            addr,
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl ConsoleService for CtlHandle {
    fn open(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    fn request(&self, conn: u64, req: Value) -> Value {
        let (tx, rx) = flume::bounded(1);
        let msg = ConsoleRequest {
            conn,
            req,
            reply: tx,
        };
        if self.addr.try_send(msg).is_err() {
            return json!({"error": "the console service is not running"});
        }
        rx.recv_timeout(ANSWER_TIMEOUT)
            .unwrap_or_else(|_| json!({"error": "the console service did not answer"}))
    }

    fn close(&self, conn: u64) {
        let _ = self.addr.try_send(ConsoleClosed { conn });
    }
}

/// The console protocol: `hello` (`"pager": false` from a client that does not page,
/// `"data": true` from one that wants a display's data as JSON beside its text: `sessmgr
/// exec --json`), `line`, `more`, `stop`, `help` (`?`), `complete` (Tab).
pub fn console_op(c: &mut Console, req: &Value) -> Value {
    let text = match req.get("line") {
        None => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return json!({"error": "\"line\" is a string"}),
    };
    match req["op"].as_str() {
        Some("hello") => {
            // `"pager": false`: the client reads every chunk at once (a script's transcript).
            if req.get("pager") == Some(&Value::Bool(false)) {
                c.client_pages = false;
            }
            // `"data": true`: replies to `line` and `more` carry the display's `data`.
            if req.get("data") == Some(&Value::Bool(true)) {
                c.wants_data = true;
            }
            // `monitor`: the key a second connection of the client polls with `messages`
            // for what `terminal monitor` shows on this console.
            json!({
                "prompt": c.terminal.prompt(),
                "screen_length": c.terminal.screen_length(),
                "monitor": c.info_id,
            })
        }
        Some("line") => {
            let r = c.line(text);
            // Lines per screen after this line (`null` once `screen-length disable` ran): the
            // client pages the output with `---- More ----` (comware.md §1.6).
            // `more`: the output goes on (a large session table, a chunk at a time); the
            // client asks `more` for the next chunk, or `stop` when the operator quits paging.
            // `failed`: the line was refused (`sessmgr exec` exits non-zero).
            let mut reply = json!({"output": r.output, "prompt": r.prompt, "close": r.close,
                   "more": r.more, "screen_length": c.terminal.screen_length()});
            if r.failed {
                reply["failed"] = true.into();
            }
            if let Some(data) = r.data {
                reply["data"] = data;
            }
            reply
        }
        Some("more") => {
            let r = c.more();
            let mut reply = json!({"output": r.output, "prompt": r.prompt, "more": r.more});
            if let Some(data) = r.data {
                reply["data"] = data;
            }
            reply
        }
        Some("stop") => {
            c.stop();
            json!({"prompt": c.terminal.prompt(), "more": false})
        }
        Some("help") => match c.terminal.help(text) {
            Ok(h) => json!({"output": h, "screen_length": c.terminal.screen_length()}),
            Err(e) => json!({"output": e.caret_lines(&c.terminal.prompt())}),
        },
        Some("complete") => {
            let comp = c.terminal.complete(text);
            json!({"start": comp.start, "candidates": comp.candidates})
        }
        // Polled on a second connection (the first may be busy with a long command): the
        // information centre's messages waiting for console `console`, and how many it lost.
        Some("messages") => match req.get("console").and_then(Value::as_u64) {
            Some(id) => match c.messages_of(id) {
                Some((lines, dropped)) => json!({"lines": lines, "dropped": dropped}),
                None => json!({"error": "no such console"}),
            },
            None => json!({"error": "\"console\" is the number `hello` answered as \"monitor\""}),
        },
        _ => json!({"error": "ops: hello, line, more, stop, help, complete, messages"}),
    }
}

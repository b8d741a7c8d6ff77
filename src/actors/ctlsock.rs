//! The control socket: a Unix socket (mode 0600) answering one JSON request per line with one
//! JSON reply per line. It serves `sessmgr dump` (the session table and the counters) on the
//! connection's thread, and carries the console (`sessmgr console`) to the ctl actor.
//!
//! A query is a message to every core, answered from its own shard between batches, so a
//! query never stalls packet processing.

use super::core::CoreMsg;
use super::ctl::CtlHandle;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Requests longer than this are refused (a client cannot make us buffer without bound).
const MAX_REQUEST_BYTES: u64 = 64 * 1024;
/// Sessions one `sessions` query returns at most (the console will page through more).
pub const DUMP_LIMIT: usize = 10_000;
/// How long a core may take to answer a query before it is reported as not answering.
const CORE_ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

pub struct ControlSocket {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What the socket can ask: every core's mailbox, a function giving the counters, and the
/// console engine (one `Console` per connection).
pub struct Backends {
    pub cores: Vec<flume::Sender<CoreMsg>>,
    pub stats: Box<dyn Fn() -> Value + Send + Sync>,
    /// The ctl actor serving consoles (`None`: this socket answers dumps only).
    pub console: Option<CtlHandle>,
}

/// Consoles connected at once, at most.
const MAX_CONNECTIONS: usize = 16;

impl ControlSocket {
    /// Binds `path` (replacing a stale socket file), mode 0600, and serves it on a thread.
    pub fn start(path: &Path, backends: Backends) -> std::io::Result<ControlSocket> {
        if path.exists() {
            // Only a socket is replaced: never delete a regular file someone pointed us at.
            let meta = std::fs::symlink_metadata(path)?;
            if !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) {
                return Err(std::io::Error::other(format!(
                    "{} exists and is not a socket",
                    path.display()
                )));
            }
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sessmgr-ctl".into())
            .spawn(move || serve(listener, backends, flag))?;
        Ok(ControlSocket {
            path: path.to_path_buf(),
            stop,
            thread: Some(thread),
        })
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve(listener: UnixListener, backends: Backends, stop: Arc<AtomicBool>) {
    let backends = Arc::new(backends);
    let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        threads.retain(|t| !t.is_finished());
        match listener.accept() {
            Ok((mut stream, _)) => {
                if open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
                    let _ = writeln!(
                        stream,
                        "{}",
                        json!({"error": "too many consoles connected"})
                    );
                    continue;
                }
                // Several consoles at once: a thread each (control plane, not packet path).
                open.fetch_add(1, Ordering::Relaxed);
                let (b, o, st) = (backends.clone(), open.clone(), stop.clone());
                let spawned = std::thread::Builder::new()
                    .name("sessmgr-console".into())
                    .spawn(move || {
                        let _ = handle(stream, &b, &st);
                        o.fetch_sub(1, Ordering::Relaxed);
                    });
                match spawned {
                    Ok(t) => threads.push(t),
                    Err(_) => {
                        open.fetch_sub(1, Ordering::Relaxed);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn handle(stream: UnixStream, backends: &Backends, stop: &AtomicBool) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    // Short reads so a connected console notices shutdown.
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let reader = BufReader::new(stream.try_clone()?);
    let writer = stream;
    let console = backends.console.as_ref().map(|h| (h, h.open()));
    let result = serve_connection(reader, writer, backends, console, stop);
    if let Some((h, conn)) = console {
        h.close(conn);
    }
    result
}

fn serve_connection(
    mut reader: BufReader<UnixStream>,
    mut writer: UnixStream,
    backends: &Backends,
    console: Option<(&CtlHandle, u64)>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    // Bytes, not a String: a request that is not UTF-8 gets an error reply, not a dropped
    // connection.
    let mut buf: Vec<u8> = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        // The limit counts what a timed-out read already buffered: a line dripped in slowly
        // is bounded too.
        let room = MAX_REQUEST_BYTES.saturating_sub(buf.len() as u64);
        let eof = match (&mut reader).take(room).read_until(b'\n', &mut buf) {
            Ok(0) if buf.len() as u64 >= MAX_REQUEST_BYTES => false,
            Ok(0) if buf.is_empty() => return Ok(()),
            // End of input after a last line without a newline: answer it, then close.
            Ok(0) => true,
            Ok(_) if buf.ends_with(b"\n") => false,
            Ok(_) if (buf.len() as u64) < MAX_REQUEST_BYTES => continue,
            Ok(_) => false,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        if !buf.ends_with(b"\n") && buf.len() as u64 >= MAX_REQUEST_BYTES {
            writeln!(
                writer,
                "{}",
                json!({"error": format!("request too long (at most {MAX_REQUEST_BYTES} bytes a line)")})
            )?;
            return Ok(());
        }
        let reply = match std::str::from_utf8(&buf) {
            Err(e) => json!({"error": format!("a request is one line of UTF-8 JSON: {e}")}),
            Ok(text) => match serde_json::from_str::<Value>(text.trim()) {
                Ok(req) if req.get("op").is_some() => match console {
                    Some((h, conn)) => h.request(conn, req),
                    None => json!({"error": "no console on this engine"}),
                },
                Ok(req) => answer(&req, backends),
                Err(e) => json!({"error": format!("not a JSON request: {e}")}),
            },
        };
        writeln!(writer, "{reply}")?;
        let close = reply["close"].as_bool() == Some(true);
        buf.clear();
        if close || eof {
            return Ok(());
        }
    }
}

fn answer(req: &Value, backends: &Backends) -> Value {
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
        Some("stats") => (backends.stats)(),
        Some(other) => json!({"error": format!("unknown command '{other}' (sessions, stats)")}),
        None => json!({"error": "a request is {\"cmd\": \"sessions\"} or {\"cmd\": \"stats\"}"}),
    }
}

/// The client side (`sessmgr dump`): sends one request, returns the reply line.
pub fn request(path: &Path, cmd: &str) -> std::io::Result<String> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    writeln!(s, "{}", json!({ "cmd": cmd }))?;
    s.shutdown(std::net::Shutdown::Write)?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line)?;
    Ok(line)
}

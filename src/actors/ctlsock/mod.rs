//! The control socket: a Unix socket answering one JSON request per line with one JSON reply
//! per line. It serves `sessmgr dump` (the session table and the counters) on the
//! connection's thread, and carries the console (`sessmgr console`) to the ctl actor.
//!
//! - `place`: taking the path before the engine starts anything else (its directory, the
//!   lock against a second engine, a live socket left alone, the bind that appears with its
//!   final mode).
//! - `access`: who may connect (root, the engine's user, `runtime.control_group`), checked
//!   with the peer's credentials on every connection.
//! - `protocol`: requests and replies, below the socket (fuzzed).
//!
//! A query is a message to every core, answered from its own shard between batches, so a
//! query never stalls packet processing.

pub mod access;
pub mod place;
pub mod protocol;

pub use access::{Access, Peer};
pub use place::SocketError;
pub use protocol::{
    Backends, ConsoleService, Conversation, DUMP_LIMIT, MAX_REQUEST_BYTES, SocketCounters,
};

use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Consoles connected at once, at most.
const MAX_CONNECTIONS: usize = 16;

/// The engine's control socket: bound first (`bind`), served once the engine is up (`serve`).
/// Connections made in between wait in the listen queue. Dropping it stops the service and
/// removes the socket file, if it is still this engine's.
pub struct ControlSocket {
    path: PathBuf,
    identity: (u64, u64),
    access: Access,
    listener: Option<UnixListener>,
    /// Held until the socket is gone: the path is this engine's.
    _lock: std::fs::File,
    counters: Arc<SocketCounters>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ControlSocket {
    /// Takes `path` for this engine: refuses to start when another engine serves it, and binds
    /// a socket that only the peers `access` admits can reach (see `place`).
    pub fn bind(path: &Path, access: Access) -> Result<ControlSocket, SocketError> {
        let claim = place::claim(path, &access)?;
        Ok(ControlSocket {
            path: path.to_path_buf(),
            identity: claim.identity,
            access,
            listener: Some(claim.listener),
            _lock: claim.lock,
            counters: Arc::default(),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        })
    }

    /// Serves the socket on a thread of its own.
    pub fn serve(&mut self, backends: Backends) -> std::io::Result<()> {
        let Some(listener) = self.listener.take() else {
            return Err(std::io::Error::other(
                "the control socket is already served",
            ));
        };
        listener.set_nonblocking(true)?;
        let served = Served {
            backends,
            access: self.access.clone(),
            counters: self.counters.clone(),
            open: AtomicUsize::new(0),
        };
        let stop = self.stop.clone();
        self.thread = Some(
            std::thread::Builder::new()
                .name("sessmgr-ctl".into())
                .spawn(move || serve(listener, Arc::new(served), stop))?,
        );
        Ok(())
    }

    /// The socket's counters (`sessmgr dump stats` shows them).
    pub fn counters(&self) -> Arc<SocketCounters> {
        self.counters.clone()
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.listener = None;
        // Only this engine's socket: never one that took its place.
        if let Ok(meta) = std::fs::symlink_metadata(&self.path)
            && (meta.dev(), meta.ino()) == self.identity
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What the accepting thread shares with the connections' threads.
struct Served {
    backends: Backends,
    access: Access,
    counters: Arc<SocketCounters>,
    open: AtomicUsize,
}

fn serve(listener: UnixListener, served: Arc<Served>, stop: Arc<AtomicBool>) {
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        threads.retain(|t| !t.is_finished());
        match listener.accept() {
            Ok((stream, _)) => {
                if let Some(t) = admit(stream, &served, &stop) {
                    threads.push(t);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    for t in threads {
        let _ = t.join();
    }
}

/// A refusal: one JSON line, then the connection closes.
fn refuse(mut stream: UnixStream, why: &str) {
    // An accepted socket is blocking, its send buffer empty: the line goes out at once. The
    // timeout keeps a peer that never reads from holding the accepting thread.
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = writeln!(stream, "{}", json!({ "error": why }));
}

/// Checks the peer of a new connection and starts its thread.
fn admit(
    stream: UnixStream,
    served: &Arc<Served>,
    stop: &Arc<AtomicBool>,
) -> Option<JoinHandle<()>> {
    let verdict = match Peer::of(&stream) {
        Ok(peer) => served.access.admit(&peer),
        Err(e) => Err(format!(
            "permission denied: the peer's credentials are unknown ({e})"
        )),
    };
    if let Err(why) = verdict {
        served
            .counters
            .refused_peers
            .fetch_add(1, Ordering::Relaxed);
        refuse(stream, &why);
        return None;
    }
    if served.open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
        served.counters.refused_busy.fetch_add(1, Ordering::Relaxed);
        refuse(stream, "too many consoles connected");
        return None;
    }
    served.counters.accepted.fetch_add(1, Ordering::Relaxed);
    // Several consoles at once: a thread each (control plane, not packet path).
    served.open.fetch_add(1, Ordering::Relaxed);
    let (s, st) = (served.clone(), stop.clone());
    let spawned = std::thread::Builder::new()
        .name("sessmgr-console".into())
        .spawn(move || {
            let _ = handle(stream, &s, &st);
            s.open.fetch_sub(1, Ordering::Relaxed);
        });
    match spawned {
        Ok(t) => Some(t),
        Err(_) => {
            served.open.fetch_sub(1, Ordering::Relaxed);
            None
        }
    }
}

fn handle(stream: UnixStream, served: &Served, stop: &AtomicBool) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    // Short reads so a connected console notices shutdown.
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let reader = stream.try_clone()?;
    let console = served.backends.console.as_ref();
    let conn = console.map(|c| c.open());
    let conversation = Conversation {
        backends: &served.backends,
        counters: &served.counters,
        console: conn,
        max_request_bytes: MAX_REQUEST_BYTES,
    };
    let result = conversation.converse(reader, &stream, stop);
    if let (Some(c), Some(conn)) = (console, conn) {
        c.close(conn);
    }
    result
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

//! The sync actor (H1, H2; issue #16): one thread that drives the synchronization link
//! (`sync::link`) over a UDP socket on the data channel. It takes the cores' changes from a
//! bounded channel, sends them to the peer, installs what the peer sends on the owner cores,
//! serves bulks a page at a time (paced by the peer's acknowledgements, so no core is ever
//! stalled for more than one page), switches the cores between forwarding and not with the
//! running status, and publishes the report `display remote-backup-group status` shows.
//!
//! A plain thread, like the cores, not an actix actor: it waits on a socket with a short
//! timeout and must keep its heartbeats on time whatever the control plane is doing.

use crate::infocenter::{InfoCenter, Message, severity, wall_ms};
use crate::io::owner_core;
use crate::mailbox::CoreMsg;
use crate::sync::link::{Action, Link};
use crate::sync::{RbmConfig, Report, Request, Status, SyncHandle};
use crate::table::image::SyncItem;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Change batches the cores' channel holds (a full channel is counted by the core).
pub const CHANGES_CHANNEL: usize = 4096;
/// Sessions per bulk page asked of a core (slots scanned, at most).
const PAGE_SLOTS: usize = 8192;
/// A new bulk page is asked for only while fewer items than this wait for the window.
const BULK_LOW_WATER: usize = 16_384;
/// Datagrams read per turn at most (the rest wait for the next turn).
const RX_PER_TURN: usize = 512;
const CORE_TIMEOUT: Duration = Duration::from_millis(500);
/// The data channel socket's buffers (bytes).
const SOCKET_BUFFER: usize = 4 << 20;

pub struct SyncActor {
    thread: JoinHandle<()>,
}

impl SyncActor {
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// Starts the actor. `stop` ends it (after the cores have stopped).
pub fn start(
    handle: Arc<SyncHandle>,
    cores: Vec<flume::Sender<CoreMsg>>,
    changes: flume::Receiver<Vec<SyncItem>>,
    info: Arc<InfoCenter>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<SyncActor> {
    let thread = std::thread::Builder::new()
        .name("sessmgr-sync".into())
        .spawn(move || {
            let mut a = Actor {
                handle,
                cores,
                changes,
                info,
                generation: u64::MAX,
                channel: None,
                bulk: None,
                problem: None,
                full_seen: 0,
                status_changes: 0,
                installs: Vec::new(),
            };
            a.installs = vec![Vec::new(); a.cores.len()];
            while !stop.load(Ordering::Relaxed) {
                a.turn();
            }
        })?;
    Ok(SyncActor { thread })
}

struct Channel {
    socket: UdpSocket,
    remote: SocketAddr,
    local: SocketAddr,
    interface: Option<String>,
    link: Link,
}

/// A bulk in progress: which core's which page comes next.
struct Bulk {
    core: usize,
    from: usize,
    relations: bool,
}

struct Actor {
    handle: Arc<SyncHandle>,
    cores: Vec<flume::Sender<CoreMsg>>,
    changes: flume::Receiver<Vec<SyncItem>>,
    info: Arc<InfoCenter>,
    generation: u64,
    channel: Option<Channel>,
    bulk: Option<Bulk>,
    problem: Option<String>,
    full_seen: u64,
    status_changes: u64,
    /// Items for each core, gathered over a turn.
    installs: Vec<Vec<SyncItem>>,
}

fn open(c: &RbmConfig, now_ms: u64) -> Result<Channel, String> {
    let (Some(local_ip), Some(remote_ip)) = (c.local_ip, c.remote_ip) else {
        return Err("local-ip and remote-ip are required".into());
    };
    let local = SocketAddr::new(local_ip, c.port);
    let remote = SocketAddr::new(remote_ip, c.port);
    let socket =
        UdpSocket::bind(local).map_err(|e| format!("cannot bind the data channel {local}: {e}"))?;
    if let Some(ifname) = &c.interface {
        let name = std::ffi::OsString::from(ifname);
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::BindToDevice, &name)
            .map_err(|e| format!("data-channel interface {ifname}: {e}"))?;
    }
    socket
        .set_read_timeout(Some(Duration::from_millis(2)))
        .map_err(|e| e.to_string())?;
    // Room for a whole window (link::WINDOW datagrams) in both directions, with margin:
    // forced past net.core.rmem_max where we may (root), else as much as the kernel gives.
    use nix::sys::socket::{setsockopt, sockopt};
    if setsockopt(&socket, sockopt::RcvBufForce, &SOCKET_BUFFER).is_err() {
        let _ = setsockopt(&socket, sockopt::RcvBuf, &SOCKET_BUFFER);
    }
    if setsockopt(&socket, sockopt::SndBufForce, &SOCKET_BUFFER).is_err() {
        let _ = setsockopt(&socket, sockopt::SndBuf, &SOCKET_BUFFER);
    }
    let epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    Ok(Channel {
        socket,
        remote,
        local,
        interface: c.interface.clone(),
        link: Link::new(c.link_config(), epoch, now_ms),
    })
}

impl Actor {
    fn turn(&mut self) {
        let now = wall_ms();
        self.reconfigure(now);
        let Some(ch) = self.channel.as_mut() else {
            // No group: every change is for nobody (the cores send none unless
            // synchronization is on; counted if they do).
            while self.changes.try_recv().is_ok() {}
            self.publish_report(now);
            std::thread::sleep(Duration::from_millis(10));
            return;
        };
        let mut actions = Vec::new();
        // Requests from the console (switchover).
        let requests: Vec<Request> = self
            .handle
            .requests
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default();
        for r in requests {
            let Request::Switchover(s) = r;
            ch.link.switchover(s, now, &mut actions);
        }
        // The cores' changes.
        while let Ok(batch) = self.changes.try_recv() {
            ch.link.queue(batch, now);
        }
        let full = self.handle.core_channel_full.load(Ordering::Relaxed);
        if full != self.full_seen {
            // Changes were lost before they reached us: the peer's copy needs a bulk.
            self.full_seen = full;
            ch.link.lost_changes();
        }
        // The peer.
        let mut buf = [0u8; 2048];
        for _ in 0..RX_PER_TURN {
            match ch.socket.recv_from(&mut buf) {
                Ok((n, from)) => {
                    if from.ip() != ch.remote.ip() {
                        ch.link.counters.wrong_source += 1;
                        continue;
                    }
                    ch.link.on_datagram(&buf[..n], now, &mut actions);
                }
                Err(_) => break,
            }
        }
        ch.link.poll(now, &mut actions);
        self.act(actions, now);
        self.flush_installs();
        self.pace_bulk(now);
        self.publish_report(now);
    }

    fn reconfigure(&mut self, now: u64) {
        let (generation, config) = match self.handle.config.lock() {
            Ok(g) => (g.0, g.1.clone()),
            Err(_) => return,
        };
        if generation == self.generation {
            return;
        }
        self.generation = generation;
        self.channel = None;
        self.bulk = None;
        self.problem = None;
        match config {
            None => self.handle.forwarding.store(true, Ordering::Relaxed),
            Some(c) => {
                // Until the peer is heard (or found silent), forward nothing.
                self.handle.forwarding.store(false, Ordering::Relaxed);
                if let Some(m) = c.missing() {
                    self.problem = Some(format!("{m} is not configured"));
                    // An incomplete group cannot fail over: this engine works alone.
                    self.handle.forwarding.store(true, Ordering::Relaxed);
                    return;
                }
                match open(&c, now) {
                    Ok(ch) => self.channel = Some(ch),
                    Err(e) => {
                        self.info.publish(Message::event(
                            now,
                            severity::WARNING,
                            "RBM_CHANNEL",
                            format!("The remote backup group's data channel is down: {e}."),
                        ));
                        self.problem = Some(e);
                        self.handle.forwarding.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    fn act(&mut self, actions: Vec<Action>, now: u64) {
        let cores = self.cores.len();
        for a in actions {
            match a {
                Action::Send(d) => {
                    if let Some(ch) = &mut self.channel
                        && ch.socket.send_to(&d, ch.remote).is_err()
                    {
                        ch.link.counters.send_errors += 1;
                    }
                }
                Action::Apply(items) => {
                    // Gathered per core for the whole turn: one mailbox message per core and
                    // turn, however many datagrams arrived.
                    for i in items {
                        let (s, d) = i.owner_addresses();
                        self.installs[owner_core(s, d, cores)].push(i);
                    }
                }
                Action::ClearCopy => {
                    // Installs gathered so far come before the clear, in order.
                    self.flush_installs();
                    for c in &self.cores {
                        let (tx, rx) = flume::bounded(1);
                        if c.send_timeout(CoreMsg::SyncClear(tx), CORE_TIMEOUT).is_ok() {
                            let _ = rx.recv_timeout(CORE_TIMEOUT * 4);
                        }
                    }
                }
                Action::BulkDone => {}
                Action::StartBulk => {
                    if let Some(ch) = &mut self.channel {
                        ch.link.begin_bulk();
                    }
                    self.bulk = Some(Bulk {
                        core: 0,
                        from: 0,
                        relations: false,
                    });
                }
                Action::Became(s) => {
                    self.status_changes += 1;
                    self.handle
                        .forwarding
                        .store(s == Status::Active, Ordering::Relaxed);
                    if s != Status::Active {
                        self.bulk = None;
                    }
                    self.info.publish(Message::event(
                        now,
                        severity::WARNING,
                        "RBM_STATUS",
                        format!("The device running status changed to {}.", s.name()),
                    ));
                }
            }
        }
    }

    /// Hands each core the installs of this turn, in order. A core that does not take them
    /// in time loses them, counted (`install_lost`, per item).
    fn flush_installs(&mut self) {
        for (core, batch) in self.installs.iter_mut().enumerate() {
            if batch.is_empty() {
                continue;
            }
            let items = std::mem::take(batch);
            let n = items.len() as u64;
            if self.cores[core]
                .send_timeout(CoreMsg::SyncInstall(items), CORE_TIMEOUT)
                .is_err()
                && let Some(ch) = &mut self.channel
            {
                ch.link.counters.install_lost += n;
            }
        }
    }

    /// Asks the next bulk page of a core while the link has room for it.
    fn pace_bulk(&mut self, _now: u64) {
        let Some(ch) = &mut self.channel else {
            return;
        };
        let mut pages = 0;
        while let Some(b) = &mut self.bulk {
            if ch.link.outbox_len() >= BULK_LOW_WATER || pages >= 4 {
                return;
            }
            pages += 1;
            let Some(core) = self.cores.get(b.core) else {
                if b.relations {
                    ch.link.end_bulk();
                    self.bulk = None;
                } else {
                    *b = Bulk {
                        core: 0,
                        from: 0,
                        relations: true,
                    };
                }
                continue;
            };
            let (tx, rx) = flume::bounded(1);
            let msg = CoreMsg::SyncExport {
                from: b.from,
                slots: PAGE_SLOTS,
                relations: b.relations,
                reply: tx,
            };
            let answer = core
                .send_timeout(msg, CORE_TIMEOUT)
                .ok()
                .and_then(|_| rx.recv_timeout(CORE_TIMEOUT * 4).ok());
            match answer {
                Some((items, next)) => {
                    ch.link.queue_bulk(items);
                    match next {
                        Some(n) => b.from = n,
                        None => {
                            b.core += 1;
                            b.from = 0;
                        }
                    }
                }
                // A core that does not answer: try the page again next turn.
                None => return,
            }
        }
    }

    fn publish_report(&mut self, now: u64) {
        let configured = self
            .handle
            .config
            .lock()
            .map(|g| g.1.is_some())
            .unwrap_or(false);
        let mut r = Report {
            configured,
            problem: self.problem.clone(),
            status_changes: self.status_changes,
            ..Default::default()
        };
        if let Some(ch) = &self.channel {
            let l = &ch.link;
            r.status = l.status();
            r.role = l.config().role;
            r.local = Some(ch.local);
            r.remote = Some(ch.remote);
            r.interface = ch.interface.clone();
            r.data_channel_up = true;
            r.peer_connected = l.peer_connected(now);
            r.peer_status = l.peer_hello.map(|h| h.status);
            r.peer_sessions = l.peer_hello.map_or(0, |h| h.sessions);
            r.awaiting_bulk = l.awaiting_bulk();
            r.bulk_in_progress = self.bulk.is_some();
            r.outbox = l.outbox_len();
            r.unacked = l.unacked();
            r.counters = l.counters.clone();
        }
        if let Ok(mut g) = self.handle.report.lock() {
            *g = r;
        }
    }
}

//! `sessmgr run`: the wiring of the runtime and its shutdown (SPEC P1-P4).
//!
//! Start: the signal handler, the control plane (actix System with the log and stats actors),
//! one core actor per configured core with its own packet I/O, the control socket.
//! Stop (Ctrl-C or SIGTERM): intake stops (every core sees the flag between batches, finishes
//! what is queued, sends its last events and counters), the control socket closes, the
//! control plane drains every queue and flushes the log; the process exits 0. Every event a
//! core produced is accounted for: delivered to the log actor, or counted as dropped.

use super::collectors::counters_json;
use super::control::{ControlError, ControlPlane, install_signal_handler};
use super::core::{CoreExit, CoreMsg, CoreSetup, EventsMode, spawn};
use super::ctlsock::{Access, Backends, ControlSocket, SocketError};
use super::events::{CoreSnapshot, EventBatch};
use super::log::{TerminalLog, discard_logger};
use super::top_store;
use crate::alarm::SecondTotals;
use crate::config::{Backend, Config};
use crate::ctl::engine::Engine;
use crate::ctl::startup::{Source, startup_configuration};
use crate::export::config::{ExportHandle, HostCounters};
use crate::infocenter::{Alarms, InfoCenter, Message, severity, wall_ms};
use crate::io::PacketIo;
use crate::io::pcap::PcapLive;
use crate::pipeline::Pipeline;
use crate::proto::key::FlowHasher;
use crate::table::relation::RelationTable;
use serde_json::json;
use slog::info;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Event batches the log actor's channel holds (it drains every 10 ms; see log.rs).
const EVENT_CHANNEL: usize = 4096;
const SNAPSHOT_CHANNEL: usize = 1024;
const MAILBOX_DEPTH: usize = 256;
/// Second reports waiting for the alarm watch: a minute of 16 cores' (a full channel is
/// counted by the core, never waited for).
const SECONDS_CHANNEL: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("core {core}: {what}")]
    Backend { core: usize, what: String },
    #[error(transparent)]
    Socket(#[from] SocketError),
    #[error("starting the control socket's thread: {0}")]
    SocketThread(std::io::Error),
    #[error("starting core threads: {0}")]
    Spawn(std::io::Error),
    #[error("{0}")]
    Startup(String),
    #[error("metrics.listen: cannot listen on {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// How a run ended.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub events_produced: u64,
    pub events_delivered: u64,
    pub events_dropped: u64,
    pub frames: u64,
    pub complete: bool,
    /// Every collector's final counters: its logs, each sent or counted as dropped.
    pub collectors: Vec<HostCounters>,
    /// Logs produced while no collector was configured for them.
    pub logs_unrouted: u64,
}

/// Opens core `core`'s packet I/O as configured.
fn open_backend(cfg: &Config, core: usize) -> Result<Box<dyn PacketIo>, RunError> {
    let rt = &cfg.runtime;
    let fail = |what: String| RunError::Backend { core, what };
    match &rt.backend {
        Backend::Pcap {
            capture,
            looping,
            flat_out,
        } => Ok(Box::new(
            PcapLive::open(
                capture,
                |link, frame| crate::pipeline::frame_owner(link, frame, rt.cores) == core,
                *looping,
            )
            .map_err(|e| fail(e.to_string()))?
            .flat_out(*flat_out),
        )),
        Backend::AfPacket { interfaces } => open_afpacket(cfg, core, interfaces).map_err(fail),
        Backend::Netmap { interfaces } => open_netmap(cfg, core, interfaces).map_err(fail),
        Backend::AfXdp { interfaces } => open_afxdp(cfg, core, interfaces).map_err(fail),
    }
}

fn open_afxdp(
    cfg: &Config,
    core: usize,
    interfaces: &[String],
) -> Result<Box<dyn PacketIo>, String> {
    use crate::io::afxdp::{AfXdp, AfXdpConfig};
    let xc = AfXdpConfig {
        interfaces: interfaces.to_vec(),
        mode: cfg.runtime.io_mode,
        core,
        cores: cfg.runtime.cores,
        attach: cfg.runtime.xdp.attach,
        fast_path: cfg.runtime.xdp.fast_path,
        ..AfXdpConfig::default()
    };
    Ok(Box::new(AfXdp::open(&xc).map_err(|e| e.to_string())?))
}

fn open_afpacket(
    cfg: &Config,
    core: usize,
    interfaces: &[String],
) -> Result<Box<dyn PacketIo>, String> {
    use crate::io::afpacket::{AfPacket, AfPacketConfig};
    let ac = AfPacketConfig {
        interfaces: interfaces.to_vec(),
        mode: cfg.runtime.io_mode,
        core,
        cores: cfg.runtime.cores,
        // One fanout group per interface, unique to this process so that two engines in one
        // network namespace never join each other's groups.
        fanout_group: (std::process::id() % 1000) as u16 * 64,
        ..AfPacketConfig::default()
    };
    Ok(Box::new(AfPacket::open(&ac).map_err(|e| e.to_string())?))
}

#[cfg(feature = "netmap")]
fn open_netmap(
    cfg: &Config,
    core: usize,
    interfaces: &[String],
) -> Result<Box<dyn PacketIo>, String> {
    use crate::io::netmap::{Netmap, NetmapConfig};
    let nc = NetmapConfig {
        interfaces: interfaces.to_vec(),
        mode: cfg.runtime.io_mode,
        core,
        cores: cfg.runtime.cores,
    };
    Ok(Box::new(Netmap::open(&nc).map_err(|e| e.to_string())?))
}

#[cfg(not(feature = "netmap"))]
fn open_netmap(
    _cfg: &Config,
    _core: usize,
    _interfaces: &[String],
) -> Result<Box<dyn PacketIo>, String> {
    Err("this binary was built without the netmap back-end (cargo feature `netmap`); use backend = \"afpacket\"".into())
}

/// The relation table's size and counters for `sessmgr dump stats`.
fn relation_counters(t: &RelationTable) -> serde_json::Value {
    let c = t.counters();
    json!({
        "entries": t.len(), "published": c.published, "claimed": c.claimed,
        "expired": c.expired, "replaced": c.replaced, "evicted": c.evicted,
        "removed_with_master": c.removed_with_master, "withdrawn": c.withdrawn, "reset": c.reset,
        "refused_full": c.refused_full,
    })
}

/// Says where the configuration came from, and every line of the startup file the console
/// refused.
fn log_startup(logger: &slog::Logger, source: &Source) {
    match source {
        Source::File {
            path,
            refused,
            seed_ignored,
        } => {
            info!(logger, "startup configuration applied"; "file" => path.display().to_string(), "failed_lines" => refused.len());
            for (n, why) in refused {
                slog::warn!(logger, "startup configuration line refused"; "line" => n, "error" => why);
            }
            if *seed_ignored {
                slog::warn!(logger, "config.toml's [session] settings and [[acl]] sections are ignored: the startup configuration exists and is the configuration (they only seed a device without one; change it at the console and `save`)"; "file" => path.display().to_string());
            }
        }
        Source::Seed { path } => {
            info!(logger, "no startup configuration yet: config.toml's [session] and [[acl]] settings seed the configuration until `save` writes one"; "file" => path.display().to_string());
        }
    }
}

/// Runs until SIGINT/SIGTERM. `logger` is the daemon's own log.
pub fn run(cfg: Config) -> Result<RunReport, RunError> {
    // The control socket's path first: a second engine on the same path stops here, before
    // it opens a port or starts a core, and the first engine's socket is left alone.
    let socket_path = cfg.runtime.control_socket.clone();
    let mut socket = ControlSocket::bind(
        &socket_path,
        Access::for_this_process(cfg.runtime.control_group.clone()),
    )?;
    let stop = install_signal_handler()?;
    let terminal = TerminalLog::new();
    let logger = terminal.daemon.clone();
    let events_lost = terminal.events_lost.clone();
    let cores = cfg.runtime.cores;
    info!(logger, "sessmgr starting"; "cores" => cores, "backend" => format!("{:?}", cfg.runtime.backend), "io_mode" => format!("{:?}", cfg.runtime.io_mode), "session_mode" => format!("{:?}", cfg.table.mode));
    // The session table's arenas ask for transparent huge pages (crate::arena); without them
    // every lookup at millions of sessions also misses the TLB. Said once, here.
    match crate::arena::thp_mode().as_deref() {
        Some("always") | Some("madvise") => {}
        other => {
            slog::warn!(logger, "transparent huge pages are unavailable: the session table runs on 4 KiB pages (slower at millions of sessions); `echo madvise > /sys/kernel/mm/transparent_hugepage/enabled` enables them"; "thp" => other.unwrap_or("not built in").to_string())
        }
    }

    let (events_tx, events_rx) = flume::bounded::<EventBatch>(EVENT_CHANNEL);
    let (snaps_tx, snaps_rx) = flume::bounded::<CoreSnapshot>(SNAPSHOT_CHANNEL);
    let session_log = TerminalLog::session_log(
        if cfg.runtime.log_events {
            terminal.events.clone()
        } else {
            discard_logger()
        },
        events_lost.clone(),
        terminal.flush,
    );
    // Where the console sets the collectors and the log actor publishes their counters: one
    // handle, given to both.
    let export: Arc<ExportHandle> = Arc::default();
    // The information centre (alarms, the daemon's events): its log-host messages go out
    // with the log actor's turns.
    let info: Arc<InfoCenter> = Arc::default();
    let control = Arc::new(ControlPlane::start_with_info(
        session_log,
        events_rx,
        snaps_rx,
        export.clone(),
        Some(info.clone()),
    )?);

    // Every core's I/O first: a back-end that cannot open stops the start cleanly.
    let mut ios = Vec::new();
    for core in 0..cores {
        ios.push(open_backend(&cfg, core)?);
    }
    let channels: Vec<_> = (0..cores)
        .map(|_| flume::bounded::<CoreMsg>(MAILBOX_DEPTH))
        .collect();
    let peers: Vec<_> = channels.iter().map(|(tx, _)| tx.clone()).collect();
    // The configuration before the first packet: every core starts with it, so a packet
    // filter of the startup configuration guards the very first frame (the rings are open
    // and may already hold frames, but no core reads one before it has its configuration).
    let startup = startup_configuration(&cfg).map_err(RunError::Startup)?;
    log_startup(&logger, &startup.source);
    let running = startup.running;
    let hasher = FlowHasher::new();
    let mut table = running.resolved();
    // The configured capacity is the engine's; each core holds its share.
    table.capacity = table.capacity.div_ceil(cores);
    let mut handles = Vec::new();
    // The relation table every core shares (R5).
    let relations: Arc<RelationTable> = Arc::default();
    // Each core's second reports (the alarms' input) go to the watch thread below.
    let (seconds_tx, seconds_rx) = flume::bounded::<SecondTotals>(SECONDS_CHANNEL);
    // Failover (issue #16): the group's handle; with a group configured, no core forwards
    // before the sync actor knows its status.
    let sync = Arc::new(crate::sync::SyncHandle::default());
    sync.set_config(running.rbm.clone());
    if running.rbm.as_ref().is_some_and(|r| r.missing().is_none()) {
        sync.forwarding.store(false, Ordering::Relaxed);
    }
    let (changes_tx, changes_rx) = flume::bounded(super::sync::CHANGES_CHANNEL);
    // The state file: saved at a clean stop, restored now, before the first packet is read.
    let state_file = super::restart::state_file(&cfg);
    let mut pipelines: Vec<Pipeline> = (0..cores)
        .map(|core| {
            let mut p = Pipeline::new(core as u8, table.clone(), cfg.fragment, hasher.clone());
            p.shard.algs.attach(relations.clone());
            p.shard.seconds.attach(seconds_tx.clone());
            p
        })
        .collect();
    if let Some(path) = &state_file {
        super::restart::restore(path, &mut pipelines, &logger, &info);
    }
    for (((core, (_, rx)), io), pipeline) in
        channels.into_iter().enumerate().zip(ios).zip(pipelines)
    {
        let setup = CoreSetup {
            core,
            cores,
            pipeline,
            io: Some(io),
            io_mode: cfg.runtime.io_mode,
            mailbox: rx,
            peers: peers.clone(),
            events: Some(events_tx.clone()),
            events_mode: EventsMode::Live,
            snapshots: Some(snaps_tx.clone()),
            results: None,
            stop: stop.clone(),
            pin: cores > 1,
            sync: Some(super::core::CoreSync {
                changes: changes_tx.clone(),
                handle: sync.clone(),
                save_at_exit: state_file.is_some(),
            }),
        };
        handles.push(spawn(setup).map_err(RunError::Spawn)?);
    }
    drop(events_tx);
    drop(snaps_tx);
    drop(changes_tx);
    let sync_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sync_actor = super::sync::start(
        sync.clone(),
        peers.clone(),
        changes_rx,
        info.clone(),
        sync_stop.clone(),
    )
    .map_err(RunError::Spawn)?;
    // Top statistics' history from the last run (a core takes it in), saved every minute
    // and at shutdown beside the startup configuration.
    let top_path = top_store::path_beside(&cfg.runtime.startup_config);
    top_store::restore(&top_path, &peers, &logger);
    let mut top_saver = top_store::TopSaver::new(top_path);

    // The console engine: the running configuration every console edits, the one the cores
    // started with.
    drop(seconds_tx);
    let capacity = running.table.capacity as u64;
    let alarms = Arc::new(Alarms::new(cores, capacity, info.clone()));
    let engine = Arc::new(Engine {
        relations: relations.clone(),
        events_lost: events_lost.clone(),
        export: export.clone(),
        info: info.clone(),
        alarms: alarms.clone(),
        sync: sync.clone(),
        ..Engine::new(peers.clone(), running, cfg.runtime.startup_config.clone())
    });
    // The log actor's hosts from the start: the handle given above is the one it reads.
    engine.publish_export_config();
    if let Ok(r) = engine.running.lock() {
        engine.publish_info_config(&r);
    }
    // The watch: sums the cores' seconds per 10-second period and runs the alarm rules. It
    // ends when the cores (the senders) are gone.
    let watch = std::thread::Builder::new()
        .name("sessmgr-alarms".into())
        .spawn(move || {
            while let Ok(r) = seconds_rx.recv() {
                alarms.feed(r);
            }
        })
        .map_err(RunError::Spawn)?;
    info.publish(Message::event(
        wall_ms(),
        severity::NOTIFICATION,
        "ENGINE_START",
        format!(
            "The engine started: {cores} core(s), backend {:?}, capacity {capacity} sessions.",
            cfg.runtime.backend
        ),
    ));

    // The Prometheus endpoint (config.toml [metrics] listen), on the control plane: a scrape
    // asks the cores as a console's display does.
    let metrics = match cfg.metrics.listen {
        Some(addr) => {
            let m = super::metrics::start(addr, engine.clone(), Vec::new())
                .map_err(|source| RunError::Metrics { addr, source })?;
            info!(logger, "metrics endpoint"; "listen" => m.local_addr.to_string());
            Some(m)
        }
        None => None,
    };

    // The ctl actor serves the consoles on the control plane.
    let ctl = control.start_ctl(engine)?;
    let stats_source = control.clone();
    let stats_relations = relations.clone();
    let stats_events_lost = events_lost.clone();
    let stats_export = export.clone();
    socket
        .serve(Backends {
            cores: peers.clone(),
            stats: Box::new(move || match stats_source.totals() {
                Ok(t) => json!({
                    "sessions": t.sessions,
                    "created": t.table.created,
                    "aged_out": t.table.aged_out,
                    "closed": t.table.closed,
                    "refused": t.table.refused,
                    "evicted": t.table.evicted,
                    "frames": t.frames,
                    "frames_per_s": t.rates.frames_per_s,
                    "new_sessions_per_s": t.rates.new_sessions_per_s,
                    "drops": t.drops.nonzero().map(|(r, n)| (r.name().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                    "io": {"rx_frames": t.io.rx_frames, "tx_frames": t.io.tx_frames, "tx_errors": t.io.tx_errors, "kernel_drops": t.io.kernel_drops},
                    "fast_path": {"offloaded": t.fast_path.offloaded, "withdrawn": t.fast_path.withdrawn, "refused": t.fast_path.refused, "errors": t.fast_path.errors, "packets": t.fast_path.packets, "bytes": t.fast_path.bytes, "live": t.fast_path.live},
                    "events_dropped": t.events_dropped + stats_events_lost.load(Ordering::Relaxed),
                    "not_ip": {"arp": t.not_ip.arp, "other_ethertypes": t.not_ip.other},
                    "alg": t.alg.named().into_iter().map(|(k, n)| (k, json!(n))).collect::<serde_json::Map<_, _>>(),
                    "relations": relation_counters(&stats_relations),
                    "collectors": stats_export.counters().iter().map(counters_json).collect::<Vec<_>>(),
                    "collector_logs_unrouted": stats_export.unrouted(),
                }),
                Err(e) => json!({"error": e.to_string()}),
            }),
            console: Some(Box::new(ctl)),
        })
        .map_err(RunError::SocketThread)?;
    info!(logger, "running"; "control_socket" => socket_path.display().to_string(), "control_group" => cfg.runtime.control_group.as_ref().map_or("(none)", |g| g.name.as_str()));

    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        top_saver.tick(&peers, &logger);
    }
    info!(logger, "stopping");
    info.publish(Message::event(
        wall_ms(),
        severity::NOTIFICATION,
        "ENGINE_STOP",
        "The engine is stopping.".into(),
    ));
    if let Some(m) = metrics {
        m.stop();
    }
    socket.stop();
    for tx in &peers {
        let _ = tx.send_timeout(CoreMsg::Stop, Duration::from_millis(500));
    }
    drop(peers);
    let exits: Vec<CoreExit> = handles.into_iter().map(|h| h.join()).collect();
    // The cores stopped with the same signal: their last counts come with their exits.
    let mut top = crate::table::top::TopHistory::default();
    for e in &exits {
        top.merge_from(&e.top);
    }
    top_saver.write(&top, &logger);
    sync_stop.store(true, Ordering::Relaxed);
    sync_actor.join();
    if let Some(path) = &state_file {
        super::restart::save(path, &exits, &logger);
    }
    // The cores' senders are gone with them: the watch takes what is left and ends.
    let _ = watch.join();
    let control = Arc::try_unwrap(control).map_err(|_| ControlError::Stopped)?;
    let report = control.shutdown();
    let run = RunReport {
        events_produced: exits.iter().map(|e| e.events_produced).sum(),
        // Lost at the cores' channel, or refused by the log's writer queue.
        events_dropped: exits.iter().map(|e| e.snapshot.events_dropped).sum::<u64>()
            + report.events_dropped_by_log,
        events_delivered: report.events_delivered,
        frames: exits.iter().map(|e| e.snapshot.frames).sum(),
        complete: report.complete,
        collectors: report.collectors,
        logs_unrouted: export.unrouted(),
    };
    Ok(run)
}

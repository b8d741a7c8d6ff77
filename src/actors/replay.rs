//! `replay --cores N`: a capture through N per-core actors. A dispatcher reads the capture
//! in shared chunks (`io::capture::for_each_chunk`, each byte read once) and hands each core
//! the positions of the frames it owns (`pipeline::frame_owner`) in each chunk, never a copy;
//! each core keeps the capture order of its own frames, and the per-frame results are merged
//! back into capture order, so the output matches a one-core run (session ids aside: they
//! name the core).

use super::core::{CoreMsg, CoreSetup, EventsMode, FrameResult, spawn};
use super::replay_log::{ReplayLog, ReplaySender};
use crate::ctl::engine::Engine;
use crate::ctl::engine::info_centre;
use crate::ctl::exec::Console;
use crate::ctl::running::Running;
use crate::drop::{DropCounters, DropReason};
use crate::export::config::{ExportHandle, HostCounters, HostDrop};
use crate::infocenter::{Alarms, InfoCenter};
use crate::io::IoMode;
use crate::io::capture::for_each_chunk;
use crate::mailbox::{CaptureFrames, ReplayClock, StateCounts};
use crate::pipeline::{FrameOutcome, Pipeline, frame_owner, frame_owner_by_ports};
use crate::proto::key::FlowHasher;
use crate::proto::wire::LinkType;
use crate::replay::{ReplayError, ReplayOptions, Steering, frame_json};
use crate::table::relation::RelationTable;
use crate::table::shard::ShardStats;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Messages a core's mailbox holds before the dispatcher waits (back-pressure, not loss).
const MAILBOX_DEPTH: usize = 64;

/// What a multi-core replay leaves behind.
pub struct MultiCoreResult {
    pub frames: u64,
    /// Live sessions at the end of the capture, by protocol and state.
    pub by_state: StateCounts,
    pub results: Vec<FrameResult>,
    pub drops: DropCounters,
    pub table: ShardStats,
    /// The capture ended inside a record: everything before it was replayed.
    pub capture_error: Option<crate::io::pcap::CaptureError>,
    /// Each collector's counters at the end (session logs configured by `--startup`).
    pub collectors: Vec<HostCounters>,
}

/// The summary of a multi-core replay: sessions by protocol and state, drops by reason.
pub fn summary(r: &MultiCoreResult, cores: usize, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "Frames: {} on {cores} cores", r.frames)?;
    writeln!(
        out,
        "Sessions created: {}  aged out: {}  closed: {}  refused (table full): {}  evicted (early drop): {}",
        r.table.created, r.table.aged_out, r.table.closed, r.table.refused, r.table.evicted
    )?;
    writeln!(
        out,
        "Sessions at end of capture: {}",
        r.by_state.values().sum::<u64>()
    )?;
    for ((proto, state), n) in &r.by_state {
        writeln!(out, "  {proto:<8} {state:<18} {n}")?;
    }
    writeln!(out, "Dropped or invalid: {}", r.drops.total())?;
    for (reason, n) in r.drops.nonzero() {
        writeln!(out, "  {:<34} {n}", reason.name())?;
    }
    collectors_summary(&r.collectors, out)
}

/// The summary's lines for the collectors of a replay with session logs.
fn collectors_summary(collectors: &[HostCounters], out: &mut dyn Write) -> std::io::Result<()> {
    for h in collectors {
        writeln!(
            out,
            "Session logs to {} ({}): logs {}, sent {}, datagrams {}, dropped {}",
            std::net::SocketAddr::new(h.addr, h.port),
            super::collectors::kind_name(h.kind),
            h.logs,
            h.sent,
            h.datagrams,
            h.dropped()
        )?;
        for d in HostDrop::ALL {
            let n = h.drop_count(d);
            if n > 0 {
                writeln!(out, "  {:<34} {n}", d.name())?;
            }
        }
    }
    Ok(())
}

/// A one-core replay under a console (`--startup`, `--exec`, `--cores 1`): the batched
/// one-core path of `crate::replay` (no dispatcher thread, no copy of the frames), its logs
/// encoded and sent by the collectors on the same thread as each batch ends, on capture time.
/// For `--exec` the final pipeline then moves into one core actor, which the console asks as
/// it asks the cores of `run`. Prints the summary (and the collectors' counters) when there
/// is no `--exec`; returns the capture's error, if it ended inside a record.
pub fn replay_one_core(
    opts: &ReplayOptions,
    console: &ReplayConsole,
    out: &mut dyn Write,
) -> Result<Option<crate::io::pcap::CaptureError>, ReplayError> {
    let mut opts = opts.clone();
    opts.config.table = console.running.resolved();
    let export: Arc<ExportHandle> = Arc::default();
    // Log hosts take session logs and the information centre's messages (the alarms).
    let export_config = console.running.export_config();
    let mut sender = (opts.config.table.session_log.active()
        || !export_config.log_hosts.is_empty())
    .then(|| ReplaySender::new(export_config));
    // The alarm watch on capture time: fed the shard's second reports as each batch ends;
    // what it raises goes to the information centre (the log buffer `--exec "display
    // logbuffer"` shows) and to the log hosts, in order with the session logs.
    let (info, alarms) = info_centre(&console.running, 1);
    let mut messages = Vec::new();
    let mut sink = |logs: &[crate::table::events::SessionEvent],
                    seconds: &[crate::alarm::SecondTotals]| {
        if let Some(s) = sender.as_mut() {
            s.take(logs, false);
        }
        for r in seconds {
            alarms.feed(*r);
        }
        messages.clear();
        info.take_for_hosts(&mut messages);
        if let Some(s) = sender.as_mut() {
            s.messages(&messages);
        }
    };
    let mut result = crate::replay::replay_logged(&opts, &mut sink)?;
    let counters = sender
        .as_mut()
        .map(|s| s.finish(&export))
        .unwrap_or_default();
    let capture_error = result.capture_error.take();
    if console.exec.is_empty() {
        crate::replay::summary(&result, out)?;
        collectors_summary(&counters, out)?;
        return Ok(capture_error);
    }
    let relations = result
        .pipeline
        .shard
        .algs
        .relations()
        .cloned()
        .unwrap_or_default();
    let (tx, rx) = flume::bounded::<CoreMsg>(MAILBOX_DEPTH);
    let handle = spawn(CoreSetup {
        core: 0,
        cores: 1,
        pipeline: result.pipeline,
        io: None,
        io_mode: IoMode::Monitor,
        mailbox: rx,
        peers: vec![tx.clone()],
        events: None,
        events_mode: EventsMode::LogsInOrder,
        snapshots: None,
        results: None,
        stop: Arc::new(AtomicBool::new(false)),
        pin: false,
        sync: None,
    })?;
    let peers = [tx];
    let watch = Some((info, alarms));
    run_exec(
        console,
        &peers,
        &relations,
        &export,
        watch,
        &opts.config,
        out,
    )?;
    let _ = peers[0].send(CoreMsg::Stop);
    drop(peers);
    handle.join();
    Ok(capture_error)
}

/// `--exec`: each command through a console of the replay's cores, its output printed as
/// the console would show it (paging off, every chunk).
fn run_exec(
    console: &ReplayConsole,
    peers: &[flume::Sender<CoreMsg>],
    relations: &Arc<RelationTable>,
    export: &Arc<ExportHandle>,
    watch: Option<(Arc<InfoCenter>, Arc<Alarms>)>,
    cfg: &crate::config::Config,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if console.exec.is_empty() {
        return Ok(());
    }
    let mut engine = Engine {
        relations: relations.clone(),
        // The replay's log thread publishes its counters here (`display userlog export`).
        export: export.clone(),
        ..Engine::new(
            peers.to_vec(),
            console.running.clone(),
            cfg.runtime.startup_config.clone(),
        )
    };
    // The replay's information centre: what its alarms raised (`display logbuffer`).
    if let Some((info, alarms)) = watch {
        engine.info = info;
        engine.alarms = alarms;
    }
    let engine = Arc::new(engine);
    let mut term = Console::new(engine);
    term.client_pages = false;
    for command in &console.exec {
        // As a transcript: the prompt and the command, then its output (an error's caret
        // then points into the line above it).
        writeln!(out, "{}{command}", term.terminal.prompt())?;
        let mut reply = term.line(command);
        let mut ended = reply.output.is_empty() || reply.output.ends_with('\n');
        out.write_all(reply.output.as_bytes())?;
        while reply.more {
            reply = term.more();
            out.write_all(reply.output.as_bytes())?;
            ended = reply.output.is_empty() || reply.output.ends_with('\n');
        }
        if !ended {
            writeln!(out)?;
        }
    }
    term.stop();
    Ok(())
}

/// The alarm watch of a replay on several cores: a thread feeding it the cores' second
/// reports until the end of the capture. (Alarms reach the log buffer here; the log hosts
/// of a multi-core replay get session logs only.)
struct ReplayWatch {
    tx: flume::Sender<crate::alarm::SecondTotals>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    info: Arc<InfoCenter>,
    alarms: Arc<Alarms>,
}

impl ReplayWatch {
    fn start(running: &Running, cores: usize) -> ReplayWatch {
        let (info, alarms) = info_centre(running, cores);
        let (tx, rx) = flume::bounded::<crate::alarm::SecondTotals>(1024);
        let done = Arc::new(AtomicBool::new(false));
        let (feed, stop) = (alarms.clone(), done.clone());
        let thread = std::thread::Builder::new()
            .name("sessmgr-replay-alarms".into())
            .spawn(move || {
                loop {
                    match rx.recv_timeout(Duration::from_millis(20)) {
                        Ok(r) => feed.feed(r),
                        Err(flume::RecvTimeoutError::Timeout)
                            if stop.load(std::sync::atomic::Ordering::Relaxed) =>
                        {
                            return;
                        }
                        Err(flume::RecvTimeoutError::Timeout) => {}
                        Err(flume::RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .ok();
        ReplayWatch {
            tx,
            done,
            thread,
            info,
            alarms,
        }
    }

    /// Every report sent so far is taken (the channel runs dry), then the thread ends.
    fn finish(mut self) -> (Arc<InfoCenter>, Arc<Alarms>) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        (self.info, self.alarms)
    }
}

/// Spots frames of the control sessions an enabled ALG follows (by the port-mapping table).
struct AlgControl {
    apps: crate::table::port_map::AppMap,
    algs: crate::alg::AlgSet,
    /// Per port of TCP (first half) and UDP (second): 0 not looked at yet, 1 no enabled
    /// ALG's port, 2 one. Most frames are answered from here, at fixed offsets, without a
    /// parse (the dispatcher looks at every frame of the capture).
    ported: Vec<u8>,
}

impl AlgControl {
    fn new(table: &crate::table::TableConfig) -> AlgControl {
        AlgControl {
            apps: crate::table::port_map::AppMap::with_user(&table.port_map, &table.port_map_acls),
            algs: table.algs,
            ported: vec![0; 2 << 16],
        }
    }

    /// Some enabled ALG follows sessions on this port of `proto`.
    fn alg_port(&self, proto: u8, port: u16) -> bool {
        self.apps.any_app(proto, port, |app| {
            crate::table::algs::for_app(app).is_some_and(|a| self.algs.has(a))
        })
    }

    /// The ports of an untagged IPv4 TCP or UDP frame that is not a fragment, read at fixed
    /// offsets, and where they sit in `ported`.
    fn fixed_ports(link: LinkType, frame: &[u8]) -> Option<(u8, [u16; 2], usize)> {
        use crate::proto::wire::ipproto;
        if link != LinkType::Ethernet || frame.get(12..14)? != [0x08, 0x00] {
            return None;
        }
        let ip = frame.get(14..34)?;
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let fragment = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
        if ip[0] >> 4 != 4 || ihl < 20 || fragment {
            return None;
        }
        let half = match ip[9] {
            ipproto::TCP => 0,
            ipproto::UDP => 1 << 16,
            _ => return None,
        };
        let p = frame.get(14 + ihl..18 + ihl)?;
        Some((
            ip[9],
            [
                u16::from_be_bytes([p[0], p[1]]),
                u16::from_be_bytes([p[2], p[3]]),
            ],
            half,
        ))
    }

    fn announces(&mut self, link: LinkType, frame: &[u8]) -> bool {
        if self.algs == crate::alg::AlgSet::NONE {
            return false;
        }
        // The common frame: neither port is an ALG's, so it announces nothing whatever the
        // full parse would say (the ports are the ones it reads).
        if let Some((proto, ports, half)) = Self::fixed_ports(link, frame) {
            let mut any = false;
            for port in ports {
                let cell = half + usize::from(port);
                if self.ported[cell] == 0 {
                    self.ported[cell] = if self.alg_port(proto, port) { 2 } else { 1 };
                }
                any |= self.ported[cell] == 2;
            }
            if !any {
                return false;
            }
        }
        let Some((proto, sport, dport)) = crate::pipeline::frame_ports(link, frame) else {
            return false;
        };
        // By port alone: a host, subnet or ACL mapping counts for any server (a barrier
        // too many costs time, one too few the R5 order).
        [sport, dport]
            .into_iter()
            .any(|port| self.alg_port(proto, port))
    }
}

/// A replay under a console configuration (`--startup FILE`), with console commands run on
/// the state at the end of the capture (`--exec`).
#[derive(Debug, Clone)]
pub struct ReplayConsole {
    /// The configuration the capture is replayed under: its resolved table replaces
    /// config.toml's, so every console-configurable feature applies (ALGs, port mappings,
    /// packet filters, session logs ...). The capture's frames come in on its one interface,
    /// `capture` (`ctl::startup::replay_configuration`).
    pub running: Running,
    /// Console commands run, in order, at the end of the capture (paging off); each is
    /// printed after the prompt, then its output, instead of the summary.
    pub exec: Vec<String>,
}

pub fn replay_cores(
    opts: &ReplayOptions,
    cores: usize,
    console: Option<&ReplayConsole>,
    out: &mut dyn Write,
) -> Result<MultiCoreResult, ReplayError> {
    let cores = cores.max(1);
    let table = console.map_or_else(|| opts.config.table.clone(), |c| c.running.resolved());
    // Session logs go to their collectors during the replay (`--startup` configures them).
    let export: Arc<ExportHandle> = Arc::default();
    let log = match console {
        Some(c) if table.session_log.active() => {
            Some(ReplayLog::start(c.running.export_config(), export.clone())?)
        }
        _ => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (results_tx, results_rx) = flume::unbounded::<Vec<FrameResult>>();
    let channels: Vec<_> = (0..cores)
        .map(|_| flume::bounded::<CoreMsg>(MAILBOX_DEPTH))
        .collect();
    let peers: Vec<_> = channels.iter().map(|(tx, _)| tx.clone()).collect();
    let mut handles = Vec::new();
    // One relation table for every core (R5).
    let relations: Arc<RelationTable> = Arc::default();
    // Under a console, the alarm watch on capture time: a thread takes the cores' second
    // reports while they replay (`--exec "display logbuffer"` shows what it raised).
    let watch = console.map(|c| ReplayWatch::start(&c.running, cores));
    for (core, (_, rx)) in channels.into_iter().enumerate() {
        let mut pipeline = Pipeline::new(
            core as u8,
            table.clone(),
            opts.config.fragment,
            FlowHasher::with_seed(0x5e55),
        );
        pipeline.shard.algs.attach(relations.clone());
        if let Some(w) = &watch {
            pipeline.shard.seconds.attach(w.tx.clone());
        }
        let setup = CoreSetup {
            core,
            cores,
            pipeline,
            io: None,
            io_mode: IoMode::Monitor,
            mailbox: rx,
            peers: peers.clone(),
            events: log.as_ref().map(|l| l.events.clone()),
            events_mode: EventsMode::LogsInOrder,
            snapshots: None,
            // Per-frame results only when they are printed.
            results: opts.verdicts.then(|| results_tx.clone()),
            stop: stop.clone(),
            pin: false,
            sync: None,
        };
        handles.push(spawn(setup)?);
    }
    drop(results_tx);

    let mut alg_control = AlgControl::new(&table);
    let mut local_results = Vec::new();
    let mut drops = DropCounters::default();
    let mut clock: Option<ReplayClock> = None;
    let mut last_now = 0u64;
    // Formats results of frames no core sees (they never reach a shard).
    let no_shard = crate::table::Shard::new(0, Default::default(), FlowHasher::with_seed(0));
    let barrier = |core: usize| {
        let (tx, rx) = flume::bounded(1);
        if peers[core].send(CoreMsg::Barrier(tx)).is_ok() {
            let _ = rx.recv();
        }
    };
    // Each core's frames of the current chunk, by position.
    let mut picks: Vec<Vec<u32>> = vec![Vec::new(); cores];
    let frames = for_each_chunk(&opts.capture, |chunk| {
        let clock = *clock.get_or_insert(ReplayClock {
            first_ts: chunk.ts_ns(0),
            pps: opts.pps,
        });
        let Some(link) = chunk.link else {
            for i in 0..chunk.len() {
                let number = chunk.number(i);
                last_now = last_now.max(clock.at(number, chunk.ts_ns(i)));
                drops.count(DropReason::UnsupportedLinkType);
                let outcome = FrameOutcome::Dropped(DropReason::UnsupportedLinkType);
                local_results.push(FrameResult {
                    number,
                    json: frame_json(number, &outcome, &no_shard, &[]),
                    outcome,
                });
            }
            return;
        };
        // What a core is sent: the positions of its frames in the shared chunk, never a copy.
        let send = |core: usize, picks: &mut Vec<u32>| {
            if picks.is_empty() {
                return;
            }
            let frames = CaptureFrames {
                chunk: chunk.clone(),
                picks: std::mem::take(picks),
                clock,
            };
            // A core gone is a bug elsewhere; its frames then have no result and the output
            // says so.
            let _ = peers[core].send(CoreMsg::Captured { link, frames });
        };
        for i in 0..chunk.len() {
            let data = chunk.data(i);
            let owner = match opts.steer {
                Steering::Addresses => frame_owner(link, data, cores),
                Steering::Ports => frame_owner_by_ports(link, data, cores),
            };
            let control = cores > 1 && alg_control.announces(link, data);
            if control {
                // R5 on the wire: an ALG's announcement takes effect in frame order.
                // Everything before this control frame is processed first, on every core (an
                // earlier data connection must find the entry an earlier announcement made,
                // before this one can replace it), ...
                for (core, p) in picks.iter_mut().enumerate() {
                    send(core, p);
                }
                for core in 0..cores {
                    barrier(core);
                }
                // ... and the frame itself, with the relation entries it publishes, before
                // any later frame is handed out. Replayed at full speed, nothing else orders
                // the cores; live traffic has this order by itself. Only ALG control frames
                // wait.
                picks[owner].push(i as u32);
                send(owner, &mut picks[owner]);
                barrier(owner);
            } else {
                picks[owner].push(i as u32);
            }
        }
        // The chunk's last frame is its latest in `--pps` time; at capture time, any may be.
        last_now = match opts.pps {
            Some(_) => chunk.len().checked_sub(1).map_or(last_now, |last| {
                last_now.max(clock.at(chunk.number(last), 0))
            }),
            None => (0..chunk.len()).fold(last_now, |t, i| t.max(chunk.ts_ns(i))),
        };
        for (core, p) in picks.iter_mut().enumerate() {
            send(core, p);
        }
    });
    // A capture that ends inside a record is replayed up to it, and the error is reported
    // with the results; one that cannot be read at all is an error now.
    let (frames, capture_error) = match frames {
        Ok(n) => (n, None),
        Err(e @ crate::io::pcap::CaptureError::Record { after, .. }) => (after, Some(e)),
        Err(e) => return Err(e.into()),
    };
    // Every core's clock to the end of the capture, then the tables.
    let mut rows = Vec::new();
    for tx in &peers {
        let _ = tx.send(CoreMsg::Advance(last_now));
    }
    let mut collectors = Vec::new();
    if let Some(console) = console {
        // Logged sessions still alive get their final record (with their totals) ...
        for tx in &peers {
            let (rtx, rrx) = flume::bounded(1);
            if tx.send(CoreMsg::EndOfCapture(rtx)).is_ok() {
                let _ = rrx.recv();
            }
        }
        // ... every log is sent or counted ...
        if let Some(log) = &log {
            collectors = log.finish();
        }
        // ... every second report taken by the watch (all were sent before the cores
        // answered) ...
        let watch = watch.map(ReplayWatch::finish);
        // ... then the operator's commands, on the state the capture left.
        run_exec(
            console,
            &peers,
            &relations,
            &export,
            watch,
            &opts.config,
            out,
        )?;
    }
    let mut by_state = StateCounts::new();
    for tx in &peers {
        if opts.verdicts {
            // The final table of `--verdicts`: every live session.
            let (rtx, rrx) = flume::bounded(1);
            if tx
                .send(CoreMsg::Dump {
                    reply: rtx,
                    limit: usize::MAX,
                })
                .is_ok()
                && let Ok(mut r) = rrx.recv()
            {
                rows.append(&mut r);
            }
        }
        // The summary's counts, from each core's own count (no row per session).
        let (ctx, crx) = flume::bounded(1);
        if tx.send(CoreMsg::StateCounts(ctx)).is_ok()
            && let Ok(counts) = crx.recv()
        {
            for (k, n) in counts {
                *by_state.entry(k).or_default() += n;
            }
        }
        let _ = tx.send(CoreMsg::Stop);
    }
    drop(peers);
    let mut table = ShardStats::default();
    for h in handles {
        let exit = h.join();
        drops.merge(&exit.snapshot.drops);
        let t = exit.snapshot.table;
        table.created += t.created;
        table.aged_out += t.aged_out;
        table.closed += t.closed;
        table.reset += t.reset;
        table.refused += t.refused;
        table.evicted += t.evicted;
    }
    // The cores (and their senders) are gone: the log thread ends.
    drop(log);
    let mut results: Vec<FrameResult> = results_rx.into_iter().flatten().collect();
    results.append(&mut local_results);
    results.sort_by_key(|r| r.number);
    if opts.verdicts {
        for r in &results {
            writeln!(out, "{}", r.json)?;
        }
        let rel: Vec<Value> = relations
            .entries(None)
            .iter()
            .map(|e| crate::replay::relation_json(e, relations.clock_ms()))
            .collect();
        writeln!(out, "{}", json!({"table": rows, "relations": rel}))?;
    }
    Ok(MultiCoreResult {
        frames,
        by_state,
        results,
        drops,
        table,
        capture_error,
        collectors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An untagged IPv4 frame of `proto` with `ihl` header words, `frag` in its flags and
    /// offset field, and these ports.
    fn frame(proto: u8, ihl: u8, frag: u16, sport: u16, dport: u16) -> Vec<u8> {
        let hl = usize::from(ihl) * 4;
        let total = hl + 20;
        let mut f = vec![0u8; 14 + total];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x40 | ihl;
        f[16..18].copy_from_slice(&(total as u16).to_be_bytes());
        f[20..22].copy_from_slice(&frag.to_be_bytes());
        f[22] = 64;
        f[23] = proto;
        f[26..30].copy_from_slice(&[198, 18, 0, 1]);
        f[30..34].copy_from_slice(&[198, 19, 0, 2]);
        f[14 + hl..16 + hl].copy_from_slice(&sport.to_be_bytes());
        f[16 + hl..18 + hl].copy_from_slice(&dport.to_be_bytes());
        if proto == crate::proto::wire::ipproto::TCP {
            f[14 + hl + 12] = 5 << 4;
        } else {
            f[14 + hl + 4..14 + hl + 6].copy_from_slice(&20u16.to_be_bytes());
        }
        f
    }

    /// What the check said before its fixed-offset path: the full parse for every frame.
    fn by_full_parse(c: &AlgControl, f: &[u8]) -> bool {
        crate::pipeline::frame_ports(LinkType::Ethernet, f).is_some_and(|(proto, sport, dport)| {
            c.alg_port(proto, sport) || c.alg_port(proto, dport)
        })
    }

    /// The cached, fixed-offset answer is the full parse's for every kind of frame, asked
    /// twice (the second answer from the cache).
    #[test]
    fn control_frames_found_at_fixed_offsets_as_by_the_full_parse() {
        use crate::proto::wire::ipproto::{TCP, UDP};
        let mut c = AlgControl::new(&crate::table::TableConfig::default());
        let mut frames = Vec::new();
        for proto in [TCP, UDP] {
            for (sport, dport) in [
                (40000, 21),
                (21, 40000),
                (40000, 69),
                (5060, 5060),
                (40000, 443),
                (40000, 554),
                (53, 40001),
            ] {
                for ihl in [5, 6] {
                    for frag in [0, 0x2000, 0x0010, 0x4000] {
                        frames.push(frame(proto, ihl, frag, sport, dport));
                    }
                }
            }
        }
        let mut alg = 0;
        for f in &frames {
            let full = by_full_parse(&c, f);
            alg += usize::from(full);
            assert_eq!(c.announces(LinkType::Ethernet, f), full, "{f:?}");
            assert_eq!(c.announces(LinkType::Ethernet, f), full, "{f:?} (cached)");
        }
        // Both answers occur: the ALG ports of whole frames say yes, the rest no.
        assert!(alg > 0 && alg < frames.len(), "{alg} of {}", frames.len());
        // No ALG enabled: nothing announces.
        c.algs = crate::alg::AlgSet::NONE;
        assert!(frames.iter().all(|f| !c.announces(LinkType::Ethernet, f)));
    }
}

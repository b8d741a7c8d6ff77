//! `sessmgr replay`: runs a capture through the engine in capture order, deterministically
//! (time is the capture's own, or a fixed packet rate with `--pps`).

use crate::config::Config;
use crate::drop::DropCounters;
use crate::io::capture::{CaptureBatch, for_each_batch};
use crate::io::pcap::CaptureError;
use crate::pipeline::{FrameOutcome, FrameSource, Pipeline};
use crate::proto::key::{FlowHasher, FlowKey, addr_to_ip};
use crate::proto::wire::ipproto;
use crate::table::aging::ttl_s;
use crate::table::events::SessionEvent;
use crate::table::relation::RelationEntry;
use crate::table::track::BATCH;
use crate::table::track::state_name;
use crate::table::{Session, Shard, Verdict};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub capture: PathBuf,
    pub config: Config,
    /// `Some(n)`: time advances as if the capture were sent at n packets per second.
    pub pps: Option<u64>,
    /// Print one JSON object per frame and the final table.
    pub verdicts: bool,
    /// How `--cores N` spreads frames over the cores.
    pub steer: Steering,
}

/// Which core a replayed frame goes to (`replay --cores N --steer ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Steering {
    /// By the two addresses, as the AF_PACKET fanout does (`io::owner_core`).
    #[default]
    Addresses,
    /// By addresses and ports, as a NIC's 4-tuple RSS would (`io::owner_core_ports`): an
    /// ALG's data connection then usually lands on another core than its control session.
    Ports,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// What a replay leaves behind, for the summary and for tests.
pub struct ReplayResult {
    pub pipeline: Pipeline,
    pub frames: u64,
    pub unsupported_link: u64,
    /// The capture ended inside a record (or a record was malformed): every frame before it
    /// was processed and reported, and this names the error.
    pub capture_error: Option<CaptureError>,
}

/// A batch of the capture as the pipeline takes it: each frame at its capture time, or at
/// the time `--pps` gives it.
struct Timed<'a, 'b> {
    batch: &'a CaptureBatch<'b>,
    first_ts: u64,
    pps: Option<u64>,
}

impl FrameSource for Timed<'_, '_> {
    fn len(&self) -> usize {
        self.batch.len()
    }
    fn data(&self, i: usize) -> &[u8] {
        self.batch.frame(i).map_or(&[], |f| f.data)
    }
    fn time(&self, i: usize) -> u64 {
        let Some(f) = self.batch.frame(i) else {
            return self.first_ts;
        };
        match self.pps {
            Some(pps) => self.first_ts + (f.number - 1) * 1_000_000_000 / pps.max(1),
            None => f.ts_ns,
        }
    }
    fn cut(&self, i: usize) -> bool {
        self.batch.frame(i).is_some_and(|f| f.cut())
    }
}

/// What `drive` tells its caller about each frame: its number, its outcome, the shard after
/// it, and the relation entries it published.
type OnFrame<'a> =
    dyn FnMut(u64, &FrameOutcome, &Shard, &[RelationEntry]) -> std::io::Result<()> + 'a;

/// What `drive` hands a batch's logs to, with the shard's second reports of that batch
/// (the alarm watch's input, `alarm::SecondTotals`); called when either is not empty.
pub type OnLogs<'a> = dyn FnMut(&[SessionEvent], &[crate::alarm::SecondTotals]) + 'a;

/// A summary-mode replay whose logged sessions' logs go to `on_logs` as each batch ends (on
/// the batched one-core path, no thread). At the end of the capture, time runs out on every
/// session (as `replay --cores` does) and each logged session still alive gets its final
/// record, handed over last.
pub fn replay_logged(
    opts: &ReplayOptions,
    on_logs: &mut OnLogs<'_>,
) -> Result<ReplayResult, ReplayError> {
    let mut r = drive(opts, None, Some(&mut *on_logs))?;
    let shard = &mut r.pipeline.shard;
    let now_ns = shard.now_ms() * 1_000_000;
    r.pipeline.tick(now_ns, usize::MAX);
    r.pipeline.shard.log_final();
    let mut logs = Vec::new();
    r.pipeline.shard.take_events(&mut logs);
    let seconds: Vec<_> = r.pipeline.shard.take_seconds().collect();
    if !logs.is_empty() || !seconds.is_empty() {
        on_logs(&logs, &seconds);
    }
    Ok(r)
}

/// The replay loop: every frame of the capture through one pipeline, in batches
/// (`Pipeline::process_frames`, the path live cores take). With `on_frame`, a frame at a
/// time, so that each frame's outcome can be reported with the table as it then was.
/// With `on_logs`, the session events the shard produced (the logs of its logged sessions:
/// offline, the shard produces no others) after each batch.
fn drive(
    opts: &ReplayOptions,
    mut on_frame: Option<&mut OnFrame<'_>>,
    mut on_logs: Option<&mut OnLogs<'_>>,
) -> Result<ReplayResult, ReplayError> {
    let mut p = Pipeline::new(
        0,
        opts.config.table.clone(),
        opts.config.fragment,
        FlowHasher::with_seed(0x5e55),
    );
    p.shard.algs.attach(Default::default());
    p.shard.algs.record_published = on_frame.is_some();
    let batch_size = if on_frame.is_some() { 1 } else { BATCH };
    let mut outcomes: Vec<FrameOutcome> = Vec::with_capacity(BATCH);
    let mut logs: Vec<SessionEvent> = Vec::new();
    let mut seconds: Vec<crate::alarm::SecondTotals> = Vec::new();
    let mut published: Vec<RelationEntry> = Vec::new();
    let mut first_ts: Option<u64> = None;
    let mut unsupported_link = 0u64;
    let mut failed: Option<std::io::Error> = None;
    let read = for_each_batch(&opts.capture, batch_size, |batch| {
        let Some(first) = batch.frame(0) else {
            return;
        };
        let first_ts = *first_ts.get_or_insert(first.ts_ns);
        let Some(link) = batch.link else {
            // Frames of a link type we do not decode: counted, reported.
            let reason = crate::drop::DropReason::UnsupportedLinkType;
            for i in 0..batch.len() {
                unsupported_link += 1;
                p.shard.drops.count(reason);
                if let (Some(report), None, Some(f)) =
                    (on_frame.as_deref_mut(), failed.as_ref(), batch.frame(i))
                    && let Err(e) = report(f.number, &FrameOutcome::Dropped(reason), &p.shard, &[])
                {
                    failed = Some(e);
                }
            }
            return;
        };
        outcomes.clear();
        let timed = Timed {
            batch,
            first_ts,
            pps: opts.pps,
        };
        p.process_frames(link, &timed, &mut outcomes);
        // Taken after every batch (and dropped when nobody wants them), so the shard never
        // holds them.
        p.shard.take_events(&mut logs);
        if let Some(f) = on_logs.as_deref_mut() {
            seconds.extend(p.shard.take_seconds());
            if !logs.is_empty() || !seconds.is_empty() {
                f(&logs, &seconds);
            }
        }
        logs.clear();
        seconds.clear();
        if let Some(report) = on_frame.as_deref_mut()
            && failed.is_none()
        {
            for (i, outcome) in outcomes.iter().enumerate() {
                let Some(f) = batch.frame(i) else {
                    break;
                };
                published.clear();
                published.extend(p.shard.algs.take_published());
                if let Err(e) = report(f.number, outcome, &p.shard, &published) {
                    failed = Some(e);
                    break;
                }
            }
        }
    });
    if let Some(e) = failed {
        return Err(e.into());
    }
    let (frames, capture_error) = match read {
        Ok(n) => (n, None),
        // Nothing could be read at all: no replay happened.
        Err(e @ (CaptureError::Open { .. } | CaptureError::Format { .. })) => {
            return Err(e.into());
        }
        Err(e @ CaptureError::Record { after, .. }) => (after, Some(e)),
    };
    Ok(ReplayResult {
        pipeline: p,
        frames,
        unsupported_link,
        capture_error,
    })
}

/// Replays the capture, writing JSON lines (`verdicts`) or nothing; returns the engine. A
/// capture that ends inside a record is replayed up to it: the result names the error
/// (`capture_error`) and the JSON lines, the final table included, are all written.
pub fn replay(opts: &ReplayOptions, out: &mut dyn Write) -> Result<ReplayResult, ReplayError> {
    if !opts.verdicts {
        return drive(opts, None, None);
    }
    let mut line =
        |number: u64, outcome: &FrameOutcome, shard: &Shard, published: &[RelationEntry]| {
            writeln!(out, "{}", frame_json(number, outcome, shard, published))
        };
    let result = drive(opts, Some(&mut line), None)?;
    writeln!(out, "{}", table_json(&result.pipeline.shard))?;
    Ok(result)
}

/// The relation entries each frame of a capture published, as `(frame number, entry)`, with
/// the engine's default configuration in `mode`, replayed on one core at the capture's own
/// timing: the ALG author's view of a whole capture (docs/writing-an-alg.md).
pub fn published_by_capture(
    path: &std::path::Path,
    mode: crate::table::SessionMode,
) -> Result<Vec<(u64, RelationEntry)>, ReplayError> {
    let mut config = Config::default();
    config.table.mode = mode;
    let opts = ReplayOptions {
        capture: path.to_path_buf(),
        config,
        pps: None,
        verdicts: false,
        steer: Steering::Addresses,
    };
    let mut out = Vec::new();
    let mut collect = |number: u64, _: &FrameOutcome, _: &Shard, published: &[RelationEntry]| {
        out.extend(published.iter().map(|e| (number, *e)));
        Ok(())
    };
    let result = drive(&opts, Some(&mut collect), None)?;
    match result.capture_error {
        Some(e) => Err(e.into()),
        None => Ok(out),
    }
}

/// One relation entry as `--verdicts` and `sessmgr dump` show it (TTL from `clock_ms`).
pub fn relation_json(e: &RelationEntry, clock_ms: u64) -> Value {
    let sp = &e.spec;
    json!({
        "proto": sp.proto,
        "src": sp.src.map(|a| addr_to_ip(sp.family, &a).to_string()),
        "sport": sp.sport,
        "dst": addr_to_ip(sp.family, &sp.dst).to_string(),
        "dport": sp.dport,
        "app": crate::table::apps::name(sp.app),
        "alg": crate::alg::info(e.alg).map(|i| i.keyword),
        "master": e.master.to_u64(),
        "ttl_s": e.ttl_s(clock_ms),
    })
}

/// One frame's line of `--verdicts`; `published` = the relation entries it announced.
pub fn frame_json(
    number: u64,
    outcome: &FrameOutcome,
    shard: &Shard,
    published: &[RelationEntry],
) -> Value {
    let expect: Vec<Value> = published
        .iter()
        .map(|e| relation_json(e, shard.now_ms()))
        .collect();
    let untracked = |why: &str| json!({"frame": number, "verdict": "untracked", "dir": null, "session": null, "state": null, "expect": [], "why": why});
    match outcome {
        FrameOutcome::NotIp { ethertype } => untracked(&format!("ethertype 0x{ethertype:04x}")),
        FrameOutcome::FragmentHeld => untracked("fragment held for reassembly"),
        FrameOutcome::FragmentPassed => {
            untracked("late copy of a fragment of a datagram that passed")
        }
        FrameOutcome::Dropped(reason) => {
            json!({"frame": number, "verdict": "invalid", "dir": null, "session": null, "state": null, "expect": [], "reason": reason.name()})
        }
        FrameOutcome::Tracked(t) | FrameOutcome::Released(t) => {
            let mut v = json!({
                "frame": number,
                "verdict": t.verdict.name(),
                "dir": t.dir.map(|d| d.name()),
                "session": t.slot.map(|slot| shard.id_of(slot).to_u64()),
                "state": t.slot.map(|_| state_name(t.proto, t.state)),
                "expect": expect,
            });
            if let Verdict::Invalid(reason) = t.verdict {
                v["reason"] = json!(reason.name());
            }
            v
        }
    }
}

/// Protocol name as the replay output shows it (`tcp`, `udplite`, `rawip`).
pub fn proto_name(proto: u8) -> &'static str {
    crate::proto::descriptor(proto).short
}

fn tuple_json(k: &FlowKey) -> Value {
    let mut v = json!({
        "src": addr_to_ip(k.family, &k.src).to_string(),
        "dst": addr_to_ip(k.family, &k.dst).to_string(),
        "sport": k.sport,
        "dport": k.dport,
    });
    if k.is_icmp() {
        v["sport"] = json!(k.sport);
        v["dport"] = json!(0);
        v["id"] = json!(k.sport);
        v["type"] = json!(k.dport >> 8);
        v["code"] = json!(k.dport & 0xff);
    }
    if k.proto != ipproto::TCP
        && !matches!(
            k.proto,
            ipproto::UDP | ipproto::UDPLITE | ipproto::SCTP | ipproto::DCCP
        )
        && !k.is_icmp()
    {
        v["protocol"] = json!(k.proto);
    }
    v
}

fn session_json(id: u64, s: &Session, shard: &Shard) -> Value {
    let slot = crate::table::SessionId::from_u64(id).slot;
    json!({
        "session": id,
        "proto": proto_name(s.key.proto),
        "state": state_name(s.key.proto, s.state),
        "orig": tuple_json(&s.orig_key()),
        "reply": tuple_json(&s.reply_key()),
        "app": shard.config.user_apps.display_name(s.app),
        "ttl_s": ttl_s(&shard.config.aging, s, shard.now_ms()),
        "master": shard.algs.master_of(slot).map(|m| m.to_u64()),
        "alg": shard.algs.alg_of(slot).and_then(crate::alg::info).map(|i| i.keyword),
        "packets": [s.counters[0].packets, s.counters[1].packets],
        "bytes": [s.counters[0].bytes, s.counters[1].bytes],
    })
}

/// At most `limit` live sessions of one shard as JSON rows (the `table` of `--verdicts`).
pub fn table_rows(shard: &Shard, limit: usize) -> Vec<Value> {
    let now = shard.now_ms();
    shard
        .iter()
        .filter(|(_, s, _)| !crate::table::aging::is_expired(&shard.config.aging, s, now))
        .take(limit)
        .map(|(id, s, _)| session_json(id.to_u64(), &s, shard))
        .collect()
}

/// The final table object of `--verdicts`.
pub fn table_json(shard: &Shard) -> Value {
    json!({"table": table_rows(shard, usize::MAX), "relations": relations_json(shard)})
}

/// The live relation entries the shard sees (the engine's, shared).
pub fn relations_json(shard: &Shard) -> Vec<Value> {
    shard.algs.relations().map_or_else(Vec::new, |t| {
        t.entries(None)
            .iter()
            .map(|e| relation_json(e, t.clock_ms()))
            .collect()
    })
}

/// A shard's live sessions by protocol and state name (what the summaries list).
pub fn state_counts(shard: &Shard) -> crate::mailbox::StateCounts {
    let now = shard.now_ms();
    let mut by_state = BTreeMap::new();
    for (_, s, _) in shard.iter() {
        if !crate::table::aging::is_expired(&shard.config.aging, &s, now) {
            *by_state
                .entry((proto_name(s.key.proto), state_name(s.key.proto, s.state)))
                .or_default() += 1;
        }
    }
    by_state
}

/// The human summary: sessions by protocol and state, drops by reason.
pub fn summary(r: &ReplayResult, out: &mut dyn Write) -> std::io::Result<()> {
    let shard = &r.pipeline.shard;
    let by_state = state_counts(shard);
    writeln!(
        out,
        "Frames: {}  (not IP: {}, unsupported link type: {})",
        r.frames,
        r.pipeline.not_ip.total(),
        r.unsupported_link
    )?;
    writeln!(
        out,
        "Sessions created: {}  aged out: {}  closed: {}  refused (table full): {}  evicted (early drop): {}",
        shard.stats.created,
        shard.stats.aged_out,
        shard.stats.closed,
        shard.stats.refused,
        shard.stats.evicted
    )?;
    writeln!(
        out,
        "Sessions at end of capture: {}",
        by_state.values().sum::<u64>()
    )?;
    for ((proto, state), n) in &by_state {
        writeln!(out, "  {proto:<8} {state:<18} {n}")?;
    }
    write_sessions(shard, out)?;
    write_drops(&shard.drops, out)?;
    write_relations(shard, out)
}

/// Relation entries and ALG counters (when the capture had any).
fn write_relations(shard: &Shard, out: &mut dyn Write) -> std::io::Result<()> {
    let Some(t) = shard.algs.relations() else {
        return Ok(());
    };
    let c = t.counters();
    let named = shard.algs.counters.named();
    if c.published == 0 && named.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "Relation entries: published {}  claimed {}  expired {}  replaced {}  evicted {}  refused (full) {}  left {}",
        c.published,
        c.claimed,
        c.expired,
        c.replaced,
        c.evicted,
        c.refused_full,
        t.len()
    )?;
    for (name, n) in named {
        writeln!(out, "  {name:<34} {n}")?;
    }
    Ok(())
}

/// Sessions listed in the summary at most (the JSON output has them all).
const SUMMARY_SESSIONS: usize = 40;

/// An endpoint as operators write it: `addr:port`, `[v6]:port`, or the bare address.
fn endpoint(k: &FlowKey) -> String {
    let ip = addr_to_ip(k.family, &k.src);
    match (ip, k.is_icmp() || !ipproto::has_ports(k.proto)) {
        (_, true) => ip.to_string(),
        (std::net::IpAddr::V6(_), false) => format!("[{ip}]:{}", k.sport),
        (std::net::IpAddr::V4(_), false) => format!("{ip}:{}", k.sport),
    }
}

fn write_sessions(shard: &Shard, out: &mut dyn Write) -> std::io::Result<()> {
    let now = shard.now_ms();
    let aging = &shard.config.aging;
    let live: Vec<_> = shard
        .iter()
        .filter(|(_, s, _)| !crate::table::aging::is_expired(aging, s, now))
        .collect();
    if live.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n  {:<7} {:<30} {:<30} {:<12} {:<12} {:>6} {:>13}",
        "Proto", "Initiator", "Responder", "State", "Application", "TTL(s)", "Pkts in/out"
    )?;
    for (_, s, _) in live.iter().take(SUMMARY_SESSIONS) {
        let ttl = ttl_s(aging, s, now).map_or("never".to_string(), |t| t.to_string());
        let pkts = format!("{}/{}", s.counters[0].packets, s.counters[1].packets);
        writeln!(
            out,
            "  {:<7} {:<30} {:<30} {:<12} {:<12} {:>6} {:>13}",
            proto_name(s.key.proto),
            endpoint(&s.orig_key()),
            endpoint(&s.reply_key()),
            state_name(s.key.proto, s.state),
            shard.config.user_apps.display_name(s.app),
            ttl,
            pkts
        )?;
    }
    if live.len() > SUMMARY_SESSIONS {
        writeln!(
            out,
            "  ... and {} more (--verdicts prints them all as JSON)",
            live.len() - SUMMARY_SESSIONS
        )?;
    }
    writeln!(out)
}

fn write_drops(d: &DropCounters, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "Dropped or invalid: {}", d.total())?;
    for (reason, n) in d.nonzero() {
        writeln!(out, "  {:<34} {n}", reason.name())?;
    }
    Ok(())
}

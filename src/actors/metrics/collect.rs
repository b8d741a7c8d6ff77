//! The engine's series, gathered at each scrape the way the console gathers its displays:
//! every core is asked through its mailbox (`CoreMsg::Statistics` without filters, answered
//! from the shard's census at once; `CoreMsg::Counters`), the relation table and the log
//! actor's export counters are read where the console reads them. Nothing here runs on a
//! core, and a core that does not answer in time is left out and counted
//! (`sessmgr_cores_not_answering`), as `display packet-drop summary` says it.
//!
//! Each series and its labels are listed in docs/metrics.md.

use crate::ctl::engine::Engine;
use crate::drop::DropReason;
use crate::export::config::{FlowFormat, HostDrop, HostKind};
use crate::mailbox::{CoreCounters, CoreMsg};
use crate::proto::Protocol;
use crate::proto::wire::Family;
use crate::table::query::{SessionFilter, StatisticsCounts};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The label value of a family (`display session statistics ipv4`).
pub fn family_label(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

/// A console keyword or state name as a label value: `udp-lite` -> `udp_lite`,
/// `SYN_SENT` -> `syn_sent`.
pub fn label(word: &str) -> String {
    word.replace('-', "_").to_lowercase()
}

/// What one scrape asked of the engine.
struct Gathered {
    /// Unfiltered statistics of each family, every core merged.
    by_family: [(Family, StatisticsCounts); 2],
    /// Each core's counters; `None` for a core that did not answer.
    cores: Vec<Option<CoreCounters>>,
}

fn gather(engine: &Engine) -> Gathered {
    let stats = |family| {
        let mut v = StatisticsCounts::default();
        // Unfiltered: a core answers from its census in one message (`next` is `None`).
        for (part, _) in engine.ask(|reply| CoreMsg::Statistics {
            family: Some(family),
            filter: Box::new(SessionFilter::default()),
            from: 0,
            reply,
        }) {
            v.merge(&part);
        }
        v.relation_entries = engine.relations.count(family) as u64;
        v
    };
    Gathered {
        by_family: [
            (Family::V4, stats(Family::V4)),
            (Family::V6, stats(Family::V6)),
        ],
        cores: (0..engine.cores.len())
            .map(|c| engine.ask_core(c, CoreMsg::Counters))
            .collect(),
    }
}

/// The engine's series (sessions, rates, drops, relation entries, ALGs, log export, cores).
#[derive(Clone)]
pub struct EngineCollector {
    pub engine: Arc<Engine>,
}

impl std::fmt::Debug for EngineCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineCollector")
    }
}

type Labels = Vec<(&'static str, String)>;

/// One series family: its descriptor, then each sample with its labels.
fn family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (Labels, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    let sample = |e: MetricEncoder<'_>, value: u64| match kind {
        MetricType::Counter => ConstCounter::new(value).encode(e),
        _ => ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX)).encode(e),
    };
    for (labels, value) in samples {
        // A series without labels is the family's only one, written without braces.
        if labels.is_empty() {
            return sample(m, value);
        }
        sample(m.encode_family(&labels)?, value)?;
    }
    Ok(())
}

impl Collector for EngineCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let g = gather(&self.engine);
        let answered: Vec<&CoreCounters> = g.cores.iter().flatten().collect();

        // Sessions by family, protocol and state (`display session statistics`). A state
        // Comware does not list (SCTP's HEARTBEAT_SENT) counts under `other`, so the states
        // of a protocol add up to its `sessions`.
        let mut sessions = Vec::new();
        let mut rates = Vec::new();
        for (fam, v) in &g.by_family {
            for p in Protocol::ALL.into_iter().filter(|p| p.of_family(*fam)) {
                let s = v.protocol(p);
                let d = p.descriptor();
                let mut listed = 0;
                for (n, st) in d.listed_states() {
                    let count = s.by_state.get(usize::from(n) - 1).copied().unwrap_or(0);
                    listed += count;
                    sessions.push((
                        vec![
                            ("family", family_label(*fam).to_string()),
                            ("protocol", label(p.keyword())),
                            ("state", label(st.name)),
                        ],
                        count,
                    ));
                }
                if s.sessions > listed {
                    sessions.push((
                        vec![
                            ("family", family_label(*fam).to_string()),
                            ("protocol", label(p.keyword())),
                            ("state", "other".to_string()),
                        ],
                        s.sessions - listed,
                    ));
                }
                rates.push((
                    vec![
                        ("family", family_label(*fam).to_string()),
                        ("protocol", label(p.keyword())),
                    ],
                    s.rate_per_s,
                ));
            }
        }
        family(
            &mut enc,
            "sessmgr_sessions",
            "Current sessions by family, protocol and state (display session statistics)",
            MetricType::Gauge,
            sessions,
        )?;
        family(
            &mut enc,
            "sessmgr_session_creation_rate",
            "New sessions per second over the last whole second, by family and protocol \
             (display session statistics: Session establishment rate)",
            MetricType::Gauge,
            rates,
        )?;
        let created: u64 = answered.iter().map(|c| c.table.created).sum();
        let refused: u64 = answered.iter().map(|c| c.table.refused).sum();
        family(
            &mut enc,
            "sessmgr_sessions_created",
            "Sessions created since start or reset session statistics",
            MetricType::Counter,
            [(vec![], created)],
        )?;
        // The alarms' never-reset totals (try-rate-abrupt counts these).
        family(
            &mut enc,
            "sessmgr_session_attempts",
            "Attempts to create a session since start: every packet that would have created \
             one, created, refused at capacity or denied by the packet filter (never reset)",
            MetricType::Counter,
            [(vec![], answered.iter().map(|c| c.totals.attempts).sum())],
        )?;
        family(
            &mut enc,
            "sessmgr_session_refused_at_capacity",
            "Attempts refused because the session table was full, since start or reset \
             session statistics",
            MetricType::Counter,
            [(vec![], refused)],
        )?;
        family(
            &mut enc,
            "sessmgr_sessions_evicted",
            "Unanswered sessions evicted by early drop at capacity",
            MetricType::Counter,
            [(vec![], answered.iter().map(|c| c.table.evicted).sum())],
        )?;

        // Drops by reason (display packet-drop summary), every reason, zeros included.
        let drops = DropReason::ALL.iter().map(|&r| {
            let n = answered.iter().map(|c| c.drops.get(r)).sum();
            (vec![("reason", r.name().to_string())], n)
        });
        family(
            &mut enc,
            "sessmgr_packets_dropped",
            "Packets dropped by session management, by reason (display packet-drop summary)",
            MetricType::Counter,
            drops,
        )?;

        family(
            &mut enc,
            "sessmgr_relation_entries",
            "Current relation-table entries (ALG expectations), by family",
            MetricType::Gauge,
            g.by_family.iter().map(|(f, v)| {
                (
                    vec![("family", family_label(*f).to_string())],
                    v.relation_entries,
                )
            }),
        )?;

        // ALG counters, every ALG and reason.
        let mut alg = crate::alg::AlgCounters::default();
        for c in &answered {
            alg.merge(&c.alg);
        }
        family(
            &mut enc,
            "sessmgr_alg_events",
            "What the ALGs refused or noticed, by ALG and reason",
            MetricType::Counter,
            alg.each()
                .into_iter()
                .map(|(a, r, n)| (vec![("alg", a.to_string()), ("reason", label(r))], n)),
        )?;
        family(
            &mut enc,
            "sessmgr_alg_class_limit_hits",
            "Entries that gave way because a control session reached its class's limit",
            MetricType::Counter,
            alg.class_limits()
                .into_iter()
                .map(|(a, c, n)| (vec![("alg", a.to_string()), ("class", c.to_string())], n)),
        )?;

        self.encode_export(&mut enc)?;

        // Per core: frames, batches (from the core), mailbox depth (read here, from the
        // channel the control plane sends on).
        let per_core = |f: fn(&CoreCounters) -> u64| {
            g.cores
                .iter()
                .enumerate()
                .filter_map(move |(i, c)| Some((vec![("core", i.to_string())], f(c.as_ref()?))))
        };
        family(
            &mut enc,
            "sessmgr_core_packets",
            "Frames each core processed",
            MetricType::Counter,
            per_core(|c| c.frames),
        )?;
        family(
            &mut enc,
            "sessmgr_core_batches",
            "Batches of frames each core processed (received or handed over)",
            MetricType::Counter,
            per_core(|c| c.batches),
        )?;
        family(
            &mut enc,
            "sessmgr_core_mailbox_depth",
            "Messages waiting in each core's mailbox",
            MetricType::Gauge,
            self.engine
                .cores
                .iter()
                .enumerate()
                .map(|(i, tx)| (vec![("core", i.to_string())], tx.len() as u64)),
        )?;
        family(
            &mut enc,
            "sessmgr_cores_not_answering",
            "Cores that did not answer this scrape in time (their series are missing)",
            MetricType::Gauge,
            [(
                vec![],
                g.cores.iter().filter(|c| c.is_none()).count() as u64,
            )],
        )?;
        self.encode_fast_path(&mut enc, &answered)?;
        let huge = crate::arena::huge_page_notes();
        family(
            &mut enc,
            "sessmgr_table_huge_page_advice",
            "Session table arenas advised for transparent huge pages, and advice the kernel refused (THP off: 4 KiB pages)",
            MetricType::Counter,
            [
                (vec![("outcome", "advised".to_string())], huge.advised),
                (vec![("outcome", "refused".to_string())], huge.refused),
            ],
        )?;
        family(
            &mut enc,
            "sessmgr_events_dropped",
            "Session events lost because the log queue was full",
            MetricType::Counter,
            [(
                vec![],
                answered.iter().map(|c| c.events_dropped).sum::<u64>()
                    + self.engine.events_lost.load(Ordering::Relaxed),
            )],
        )
    }
}

impl EngineCollector {
    /// The in-kernel fast path (AF_XDP `fast_path = true`), every core summed: what `dump
    /// stats` shows as `fast_path`. Zeros when it is off, so a dashboard's queries hold.
    fn encode_fast_path(
        &self,
        enc: &mut DescriptorEncoder,
        answered: &[&CoreCounters],
    ) -> Result<(), std::fmt::Error> {
        let mut f = crate::io::FastPathCounters::default();
        for c in answered {
            f.add(&c.fast_path);
        }
        family(
            enc,
            "sessmgr_fast_path_sessions",
            "Sessions whose packets the kernel forwards now (AF_XDP fast path)",
            MetricType::Gauge,
            [(vec![], f.live)],
        )?;
        family(
            enc,
            "sessmgr_fast_path_session_changes",
            "Sessions handed to the kernel (offloaded), taken back (withdrawn) or refused by it \
             (flow map full)",
            MetricType::Counter,
            [
                (vec![("change", "offloaded".to_string())], f.offloaded),
                (vec![("change", "withdrawn".to_string())], f.withdrawn),
                (vec![("change", "refused".to_string())], f.refused),
            ],
        )?;
        family(
            enc,
            "sessmgr_fast_path_map_errors",
            "Flow-map reads or deletions that failed (tried again at the next pass)",
            MetricType::Counter,
            [(vec![], f.errors)],
        )?;
        family(
            enc,
            "sessmgr_fast_path_packets",
            "Packets the kernel forwarded for offloaded sessions (also in their counters)",
            MetricType::Counter,
            [(vec![], f.packets)],
        )?;
        family(
            enc,
            "sessmgr_fast_path_bytes",
            "IP bytes the kernel forwarded for offloaded sessions",
            MetricType::Counter,
            [(vec![], f.bytes)],
        )
    }

    /// The log export counters of every host (display userlog export), by host and kind.
    fn encode_export(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let hosts = self.engine.export.counters();
        let labels = |h: &crate::export::config::HostCounters| -> Labels {
            let kind = match h.kind {
                HostKind::Syslog(..) => "syslog",
                HostKind::Flow(FlowFormat::FlowLog3) => "flow_log",
                HostKind::Flow(FlowFormat::Ipfix) => "ipfix",
            };
            vec![
                (
                    "host",
                    std::net::SocketAddr::new(h.addr, h.port).to_string(),
                ),
                ("kind", kind.to_string()),
            ]
        };
        family(
            enc,
            "sessmgr_log_export_logs_sent",
            "Session logs sent to each log host",
            MetricType::Counter,
            hosts.iter().map(|h| (labels(h), h.sent)),
        )?;
        family(
            enc,
            "sessmgr_log_export_packets_sent",
            "Datagrams (UDP) or messages (TCP) sent to each log host",
            MetricType::Counter,
            hosts.iter().map(|h| (labels(h), h.datagrams)),
        )?;
        let mut dropped = Vec::new();
        for h in &hosts {
            for d in HostDrop::ALL {
                let mut l = labels(h);
                l.push(("reason", d.name().to_string()));
                dropped.push((l, h.drop_count(d)));
            }
        }
        family(
            enc,
            "sessmgr_log_export_logs_dropped",
            "Session logs not delivered to each log host, by reason",
            MetricType::Counter,
            dropped,
        )?;
        family(
            enc,
            "sessmgr_log_export_logs_queued",
            "Session logs waiting in each log host's queue",
            MetricType::Gauge,
            hosts.iter().map(|h| (labels(h), h.queued)),
        )?;
        family(
            enc,
            "sessmgr_log_export_logs_unrouted",
            "Session logs produced while no log host was configured for them",
            MetricType::Counter,
            [(vec![], self.engine.export.unrouted())],
        )?;
        self.encode_alarms(enc)
    }

    /// The abrupt-change alarms (`session alarm ...`) and the information centre.
    fn encode_alarms(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let status = self.engine.alarms.status();
        let per_alarm = |f: fn(&crate::alarm::AlarmStatus) -> u64| {
            status
                .iter()
                .map(move |(k, s)| (vec![("alarm", label(k.keyword()))], f(s)))
        };
        family(
            enc,
            "sessmgr_alarm_enabled",
            "1 when the alarm is enabled (session alarm ... enable)",
            MetricType::Gauge,
            per_alarm(|s| u64::from(s.enabled)),
        )?;
        family(
            enc,
            "sessmgr_alarm_active",
            "1 when the last 10-second period that ended raised the alarm",
            MetricType::Gauge,
            per_alarm(|s| u64::from(s.active)),
        )?;
        family(
            enc,
            "sessmgr_alarm_raised",
            "Times the alarm was raised since start",
            MetricType::Counter,
            per_alarm(|s| s.fired),
        )?;
        family(
            enc,
            "sessmgr_alarm_samples_dropped",
            "Cores' per-second reports the alarm watch lost (a full channel, a silent core)",
            MetricType::Counter,
            [(vec![], self.engine.alarms.samples_dropped())],
        )?;
        let buffer = self.engine.info.buffer();
        family(
            enc,
            "sessmgr_logbuffer_messages",
            "Messages in the log buffer (display logbuffer)",
            MetricType::Gauge,
            [(vec![], buffer.lines.len() as u64)],
        )?;
        family(
            enc,
            "sessmgr_logbuffer_overwritten",
            "Log buffer messages overwritten by newer ones since start or reset logbuffer",
            MetricType::Counter,
            [(vec![], buffer.overwritten)],
        )?;
        family(
            enc,
            "sessmgr_infocenter_host_messages_dropped",
            "Information-centre messages the log hosts' queue lost",
            MetricType::Counter,
            [(vec![], self.engine.info.hosts_dropped())],
        )
    }
}

/// Wraps the engine collector for a registry (`Box<dyn Collector>`).
pub fn boxed(engine: Arc<Engine>) -> Box<dyn Collector> {
    Box::new(EngineCollector { engine })
}

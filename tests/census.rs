//! The shard's census (live sessions by family, protocol and state, kept as sessions change)
//! against a walk of the table, after every capture of the corpus in both session modes:
//! `display session statistics` answered from counters must say what counting the sessions
//! says. The census counts a session until the wheel removes it (at most about a second after
//! its aging time ran out, when the table display already hides it), so the walk here counts
//! every session the shard holds. Received packets are the protocol's since the last reset, so
//! they must be at least what the live sessions carry.

mod common;

use sessmgr::io::pcap::for_each_frame;
use sessmgr::pipeline::Pipeline;
use sessmgr::proto::Protocol;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::Family;
use sessmgr::table::query::{StatisticsCounts, census_statistics};
use sessmgr::table::{SessionMode, TableConfig};

#[test]
fn census_agrees_with_a_walk_of_the_table() {
    let mut checked = 0;
    let corpus = common::all_captures();
    let mut captures_checked = 0;
    for cap in &corpus {
        for mode in [SessionMode::Bidirectional, SessionMode::Hybrid] {
            let table = TableConfig {
                mode,
                statistics: true,
                ..TableConfig::default()
            };
            let mut p = Pipeline::new(0, table, Default::default(), FlowHasher::with_seed(7));
            p.shard.algs.attach(Default::default());
            let mut last = 0;
            for_each_frame(cap, |f| {
                if let Some(link) = f.link {
                    p.process_frame(link, f.data, f.ts_ns);
                    last = last.max(f.ts_ns);
                }
            })
            .expect("capture");
            // Half-way through aging (some sessions gone, some not): both views reap first.
            for at in [last, last + 20_000_000_000] {
                p.tick(at, usize::MAX);
                for family in [None, Some(Family::V4), Some(Family::V6)] {
                    let mut walked = StatisticsCounts::default();
                    for (_, s, _) in p.shard.iter() {
                        if family.is_none_or(|f| f == s.key.family) {
                            walked.count_session(s.key.proto, s.state);
                            let g = walked.protocol_mut(Protocol::of(s.key.proto));
                            g.received_packets += s.counters[0].packets + s.counters[1].packets;
                            g.received_bytes += s.counters[0].bytes + s.counters[1].bytes;
                        }
                    }
                    let counted = census_statistics(&p.shard, family);
                    assert_eq!(walked.sessions, counted.sessions, "{}", cap.display());
                    for (w, c) in walked.protocols.iter().zip(counted.protocols.iter()) {
                        assert_eq!(w.sessions, c.sessions, "{}", cap.display());
                        assert_eq!(w.by_state, c.by_state, "{}", cap.display());
                    }
                    // By protocol the two differ: an ICMP error is an ICMP packet received
                    // but counts on the session it quotes (S3). In all, the census holds at
                    // least what live sessions carry.
                    let sum = |v: &StatisticsCounts| -> (u64, u64) {
                        v.protocols.iter().fold((0, 0), |a, p| {
                            (a.0 + p.received_packets, a.1 + p.received_bytes)
                        })
                    };
                    let (wp, wb) = sum(&walked);
                    let (cp, cb) = sum(&counted);
                    assert!(cp >= wp && cb >= wb, "{}", cap.display());
                    checked += 1;
                }
            }
        }
        captures_checked += 1;
    }
    // Every capture of the corpus (one per kernel oracle, plus the project's demo capture),
    // in both modes, at both times, for the three family views.
    let oracles = common::pcaps_dir().map_or(0, |d| {
        std::fs::read_dir(d).map_or(0, |rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name.ends_with(".oracle.json")
                })
                .count()
        })
    });
    assert_eq!(captures_checked, corpus.len(), "captures checked");
    assert_eq!(
        captures_checked,
        oracles + 1,
        "the corpus is every capture with an oracle"
    );
    assert_eq!(checked, corpus.len() * 2 * 2 * 3);
    assert!(corpus.len() > 1, "the corpus is the demo capture alone");
}

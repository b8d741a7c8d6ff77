//! The fast path at the table's level (issue #15): which sessions a shard offers for
//! offloading and when it takes them back, what an offloaded session's refresh does to its
//! counters and aging, and that an offloaded TCP session's close passes although the engine
//! missed the segments in between. Through real pipelines and frames; the kernel's side is
//! `src/io/afxdp/tests.rs` and tests/e2e_fast_path.rs.

mod common;

use common::frames::{tcp4, udp4};
use common::packets::{ACK, FINACK, SYN, SYNACK};
use sessmgr::actors::fast_path::CoreFastPath;
use sessmgr::io::{FastPath, OneWay};
use sessmgr::pipeline::{FrameOutcome, Pipeline};
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::LinkType;
use sessmgr::table::offload::OffloadNote;
use sessmgr::table::session::DirCounters;
use sessmgr::table::{TableConfig, Verdict};

const T0: u64 = 1_800_000_000_000_000_000;
const MS: u64 = 1_000_000;
const C: [u8; 4] = [198, 18, 10, 1];
const S: [u8; 4] = [198, 18, 20, 1];

fn pipeline() -> Pipeline {
    let table = TableConfig {
        statistics: true,
        ..TableConfig::default()
    };
    let mut p = Pipeline::new(0, table, Default::default(), FlowHasher::with_seed(9));
    p.shard.algs.attach(Default::default());
    p.shard.offload.enabled = true;
    p
}

/// `frame` arriving on `port` at `at`.
fn feed(p: &mut Pipeline, frame: &[u8], port: u8, at: u64) -> Verdict {
    match p.process_frame_from(LinkType::Ethernet, frame, port, at) {
        FrameOutcome::Tracked(t) => t.verdict,
        other => panic!("not tracked: {other:?}"),
    }
}

fn notes(p: &mut Pipeline) -> Vec<OffloadNote> {
    let mut v = Vec::new();
    p.shard.take_offload(&mut v);
    v
}

/// The client on port 1, the server behind port 0.
fn handshake(p: &mut Pipeline, sport: u16, dport: u16) {
    feed(p, &tcp4(C, sport, S, dport, SYN, 1000, 0, &[]), 1, T0);
    feed(
        p,
        &tcp4(S, dport, C, sport, SYNACK, 5000, 1001, &[]),
        0,
        T0 + MS,
    );
    feed(
        p,
        &tcp4(C, sport, S, dport, ACK, 1001, 5001, &[]),
        1,
        T0 + 2 * MS,
    );
}

#[test]
fn an_established_tcp_session_is_offered_once_with_its_initiators_port_and_taken_back_at_fin() {
    let mut p = pipeline();
    handshake(&mut p, 40000, 8080);
    let n = notes(&mut p);
    let [
        OffloadNote::Ready {
            slot,
            generation,
            orig,
            orig_port,
        },
    ] = n[..]
    else {
        panic!("{n:?}");
    };
    assert_eq!(orig_port, 1, "the initiator's frames arrive on port 1");
    assert_eq!((orig.sport, orig.dport, orig.proto), (40000, 8080, 6));
    assert_eq!(&orig.src[..4], &C);
    // Data both ways: nothing new to say.
    feed(
        &mut p,
        &tcp4(C, 40000, S, 8080, ACK, 1001, 5001, b"GET"),
        1,
        T0 + 3 * MS,
    );
    assert!(notes(&mut p).is_empty());
    assert!(p.shard.offloaded(slot, generation));
    // The kernel forwarded a megabyte the engine never saw; its FIN, far beyond the windows
    // the engine knew, still passes and takes the session back.
    assert!(p.shard.refresh_offloaded(
        slot,
        generation,
        [
            DirCounters {
                packets: 10,
                bytes: 600
            },
            DirCounters {
                packets: 700,
                bytes: 1_000_000
            },
        ]
    ));
    let fin = tcp4(S, 8080, C, 40000, FINACK, 5001 + 1_000_000, 1004, &[]);
    assert_eq!(feed(&mut p, &fin, 0, T0 + 4 * MS), Verdict::Est);
    assert_eq!(notes(&mut p), [OffloadNote::Gone { orig }]);
    let s = p.shard.iter().next().expect("the session").1;
    assert_eq!(
        s.counters[1].packets,
        700 + 2,
        "SYN-ACK and FIN besides the kernel's"
    );
    assert_eq!(s.counters[0].packets, 10 + 3);
    assert!(s.counters[1].bytes > 1_000_000);
}

#[test]
fn without_the_offload_mark_a_fin_beyond_the_window_is_refused() {
    // The control of the test above: the engine's window check is what `offloaded` relaxes.
    let mut p = pipeline();
    handshake(&mut p, 40001, 8080);
    notes(&mut p);
    let fin = tcp4(S, 8080, C, 40001, FINACK, 5001 + 1_000_000, 1004, &[]);
    assert!(matches!(
        feed(&mut p, &fin, 0, T0 + 4 * MS),
        Verdict::Invalid(_)
    ));
}

#[test]
fn udp_is_offered_when_answered_and_taken_back_when_removed() {
    let mut p = pipeline();
    feed(&mut p, &udp4(C, 5000, S, 53, b"q"), 0, T0);
    assert!(notes(&mut p).is_empty(), "unanswered: not yet");
    feed(&mut p, &udp4(S, 53, C, 5000, b"a"), 1, T0 + MS);
    let n = notes(&mut p);
    let [
        OffloadNote::Ready {
            orig, orig_port, ..
        },
    ] = n[..]
    else {
        panic!("{n:?}");
    };
    assert_eq!(orig_port, 0);
    assert_eq!((orig.sport, orig.dport), (5000, 53));
    let removed = p.shard.reset_where(|_| true);
    assert_eq!(removed, 1);
    assert_eq!(notes(&mut p), [OffloadNote::Gone { orig }]);
}

#[test]
fn a_refreshed_session_ages_from_the_refresh_and_a_stale_id_is_refused() {
    let mut p = pipeline();
    feed(&mut p, &udp4(C, 5001, S, 9999, b"q"), 0, T0);
    feed(&mut p, &udp4(S, 9999, C, 5001, b"a"), 1, T0 + MS);
    let [
        OffloadNote::Ready {
            slot, generation, ..
        },
    ] = notes(&mut p)[..]
    else {
        panic!("no note");
    };
    let aging_ms = {
        let s = p.shard.iter().next().unwrap().1;
        p.shard.config.aging.timeout_ms(&s)
    };
    // Just before the session would age out, the kernel reports traffic: it lives on.
    let almost = T0 + (aging_ms - 1000) * MS;
    p.tick(almost, usize::MAX);
    assert!(p.shard.refresh_offloaded(
        slot,
        generation,
        [
            DirCounters {
                packets: 5,
                bytes: 500
            },
            DirCounters::default()
        ]
    ));
    p.tick(T0 + (aging_ms + 5000) * MS, usize::MAX);
    assert_eq!(
        p.shard.len(),
        1,
        "aged out although the kernel forwarded for it"
    );
    // No traffic since: it ages out a full aging time after the refresh.
    p.tick(almost + (aging_ms + 1000) * MS, usize::MAX);
    assert_eq!(p.shard.len(), 0);
    let n = notes(&mut p);
    assert!(matches!(n[..], [OffloadNote::Gone { .. }]), "{n:?}");
    assert!(
        !p.shard
            .refresh_offloaded(slot, generation, Default::default())
    );
    assert!(!p.shard.offloaded(slot, generation));
}

#[test]
fn alg_followed_sessions_stay_with_the_engine_and_nothing_is_noted_when_off() {
    let mut p = pipeline();
    p.shard.config.algs = sessmgr::alg::AlgSet::ALL;
    handshake(&mut p, 40002, 21);
    assert!(notes(&mut p).is_empty(), "FTP control is read by its ALG");
    // Off: nothing is noted at all.
    let mut q = pipeline();
    q.shard.offload.enabled = false;
    handshake(&mut q, 40003, 8080);
    assert!(notes(&mut q).is_empty());
}

/// A fast path in memory: a flow map of `room` one-way entries whose counts the test sets,
/// as the XDP program would.
struct MapInMemory {
    room: usize,
    flows: std::collections::HashMap<(u8, OneWay), (u64, u64)>,
}

impl FastPath for MapInMemory {
    fn offload(&mut self, port: u8, flow: &OneWay) -> std::io::Result<()> {
        if self.flows.len() >= self.room {
            return Err(std::io::Error::from_raw_os_error(7)); // E2BIG, as the kernel says
        }
        self.flows.insert((port, *flow), (0, 0));
        Ok(())
    }
    fn withdraw(&mut self, port: u8, flow: &OneWay) -> std::io::Result<bool> {
        Ok(self.flows.remove(&(port, *flow)).is_some())
    }
    fn forwarded(&mut self, port: u8, flow: &OneWay) -> std::io::Result<Option<(u64, u64)>> {
        Ok(self.flows.get(&(port, *flow)).copied())
    }
}

#[test]
fn a_core_offloads_refreshes_withdraws_and_counts_what_the_kernel_forwarded() {
    let mut p = pipeline();
    let mut kernel = MapInMemory {
        room: 4,
        flows: Default::default(),
    };
    let mut core = CoreFastPath::default();
    handshake(&mut p, 40010, 8080);
    core.apply(&mut p.shard, &mut kernel);
    assert_eq!(kernel.flows.len(), 2, "both directions");
    let up = OneWay {
        src: C,
        dst: S,
        sport: 40010,
        dport: 8080,
        proto: 6,
    };
    let down = OneWay {
        src: S,
        dst: C,
        sport: 8080,
        dport: 40010,
        proto: 6,
    };
    assert!(kernel.flows.contains_key(&(1, up)), "client side: port 1");
    assert!(kernel.flows.contains_key(&(0, down)));
    // The kernel forwards; a refresh brings it in once, a second one adds nothing.
    kernel.flows.insert((1, up), (40, 2_400));
    kernel.flows.insert((0, down), (60, 90_000));
    core.refresh(&mut p.shard, &mut kernel);
    let s = p.shard.iter().next().unwrap().1;
    assert_eq!(
        (s.counters[0].packets, s.counters[1].packets),
        (2 + 40, 1 + 60)
    );
    let before = p.shard.iter().next().unwrap().1.counters;
    core.refresh(&mut p.shard, &mut kernel);
    assert_eq!(p.shard.iter().next().unwrap().1.counters, before);
    assert_eq!(core.counters.packets, 100);
    // A second connection fills the map; a third is refused and stays with the engine.
    handshake(&mut p, 40011, 8080);
    handshake(&mut p, 40012, 8080);
    core.apply(&mut p.shard, &mut kernel);
    assert_eq!((core.counters.offloaded, core.counters.refused), (2, 1));
    assert_eq!(kernel.flows.len(), 4);
    // The first one's FIN (the engine sees it) takes it back, with the kernel's last counts.
    kernel.flows.insert((0, down), (70, 100_000));
    let fin = tcp4(S, 8080, C, 40010, FINACK, 5001 + 100_000, 1001 + 2_400, &[]);
    assert_eq!(feed(&mut p, &fin, 0, T0 + 5 * MS), Verdict::Est);
    core.apply(&mut p.shard, &mut kernel);
    assert!(!kernel.flows.contains_key(&(1, up)) && !kernel.flows.contains_key(&(0, down)));
    assert_eq!(core.counters.withdrawn, 1);
    assert_eq!(core.counters.packets, 110);
    // The engine stops forwarding (a standby): everything goes back.
    core.withdraw_all(&mut p.shard, &mut kernel);
    assert!(kernel.flows.is_empty());
    assert_eq!((core.counters.withdrawn, core.counters.live), (2, 0));
}

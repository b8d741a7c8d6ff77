//! A core actor over the in-memory back-end, inline (issue #3, SPEC P3, S6, S8): what session
//! management accepts leaves by the peer port, what it rejects does not, and the drops are
//! counted per reason in the core's final snapshot.

mod common;

use common::frames::{ipv4_fragment, udp4_fragments};
use sessmgr::actors::core::{CoreMsg, CoreSetup, EventsMode, spawn};
use sessmgr::io::mem::MemIo;
use sessmgr::io::{IoMode, PacketIo};
use sessmgr::pipeline::Pipeline;
use sessmgr::proto::frag::FragLimits;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::LinkType;
use sessmgr::table::{SessionMode, TableConfig};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

fn tcp(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16, flags: u8, seq: u32, ack: u32) -> Vec<u8> {
    let mut f = vec![0u8; 54];
    f[12] = 0x08;
    f[14] = 0x45;
    f[16..18].copy_from_slice(&40u16.to_be_bytes());
    f[22] = 64;
    f[23] = 6;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    f[34..36].copy_from_slice(&sp.to_be_bytes());
    f[36..38].copy_from_slice(&dp.to_be_bytes());
    f[38..42].copy_from_slice(&seq.to_be_bytes());
    f[42..46].copy_from_slice(&ack.to_be_bytes());
    f[46] = 5 << 4;
    f[47] = flags;
    f[48..50].copy_from_slice(&65535u16.to_be_bytes());
    f
}

const A: [u8; 4] = [198, 18, 0, 1];
const B: [u8; 4] = [198, 18, 0, 2];

/// A running core over an in-memory back-end: its mailbox, thread and sent frames.
struct Running {
    tx: flume::Sender<CoreMsg>,
    handle: sessmgr::actors::core::CoreHandle,
    sent: sessmgr::io::mem::SentFrames,
}

/// Starts a core on `frames` and waits until `expect_sent` have left (or 5 s). The whole
/// injected queue goes in one batch, so by then every frame has been processed.
fn start_core(
    mode: SessionMode,
    capacity: usize,
    frames: &[(u8, Vec<u8>)],
    expect_sent: usize,
) -> Running {
    let table = TableConfig {
        mode,
        capacity,
        ..TableConfig::default()
    };
    start_core_with(table, frames, expect_sent)
}

fn start_core_with(table: TableConfig, frames: &[(u8, Vec<u8>)], expect_sent: usize) -> Running {
    let mut io = MemIo::new(LinkType::Ethernet, IoMode::Inline);
    for (i, (port, f)) in frames.iter().enumerate() {
        io.inject(*port, f, 1_700_000_000_000_000_000 + i as u64 * 1000);
    }
    let sent = io.sent();
    let (tx, rx) = flume::bounded(16);
    let setup = CoreSetup {
        core: 0,
        cores: 1,
        pipeline: Pipeline::new(0, table, FragLimits::default(), FlowHasher::with_seed(5)),
        io: Some(Box::new(io) as Box<dyn PacketIo>),
        io_mode: IoMode::Inline,
        mailbox: rx,
        peers: vec![tx.clone()],
        events: None,
        events_mode: EventsMode::Live,
        snapshots: None,
        results: None,
        stop: Arc::new(AtomicBool::new(false)),
        pin: false,
        sync: None,
    };
    let handle = spawn(setup).expect("spawn core");
    let deadline = Instant::now() + Duration::from_secs(5);
    while sent.lock().map(|s| s.len()).unwrap_or(0) < expect_sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    Running { tx, handle, sent }
}

impl Running {
    fn stop(self) -> (Vec<(u8, Vec<u8>)>, sessmgr::actors::core::CoreExit) {
        self.tx.send(CoreMsg::Stop).expect("stop");
        let exit = self.handle.join();
        let out = self.sent.lock().map(|s| s.clone()).unwrap_or_default();
        (out, exit)
    }
}

fn run_core(
    mode: SessionMode,
    capacity: usize,
    frames: &[(u8, Vec<u8>)],
    expect_sent: usize,
) -> (Vec<(u8, Vec<u8>)>, sessmgr::actors::core::CoreExit) {
    start_core(mode, capacity, frames, expect_sent).stop()
}

#[test]
fn bidirectional_inline_passes_connections_and_drops_stray_segments() {
    let frames = vec![
        (0, tcp(A, 40000, B, 80, 0x02, 1000, 0)), // SYN: new session, forwarded to port 1
        (1, tcp(B, 80, A, 40000, 0x12, 5000, 1001)), // SYN-ACK from the other side, to port 0
        (0, tcp(A, 40000, B, 80, 0x10, 1001, 5001)), // ACK
        (0, tcp(A, 40001, B, 80, 0x10, 7, 9)),    // ACK of no connection: dropped (S6)
        (0, vec![0u8; 10]),                       // malformed: dropped with its reason
    ];
    let (sent, exit) = run_core(SessionMode::Bidirectional, 100, &frames, 3);
    let ports: Vec<u8> = sent.iter().map(|s| s.0).collect();
    assert_eq!(ports, vec![1, 0, 1], "forwarded frames and their ports");
    assert_eq!(sent[0].1, frames[0].1, "forwarded unchanged");
    let drops = &exit.snapshot.drops;
    assert_eq!(drops.get(sessmgr::drop::DropReason::TcpNotSynFirst), 1);
    assert_eq!(drops.get(sessmgr::drop::DropReason::TruncatedLinkHeader), 1);
    assert_eq!(exit.snapshot.sessions, 1);
}

#[test]
fn hybrid_inline_passes_the_stray_segment() {
    let frames = vec![(0, tcp(A, 40001, B, 80, 0x10, 7, 9))];
    let (sent, exit) = run_core(SessionMode::Hybrid, 100, &frames, 1);
    assert_eq!(sent.len(), 1);
    assert_eq!(exit.snapshot.sessions, 1);
}

/// Three established connections (SYN, SYN-ACK, ACK each) on client ports 40000-40002.
fn three_established() -> Vec<(u8, Vec<u8>)> {
    (0..3u16)
        .flat_map(|i| {
            [
                (0, tcp(A, 40000 + i, B, 80, 0x02, 1000, 0)),
                (1, tcp(B, 80, A, 40000 + i, 0x12, 5000, 1001)),
                (0, tcp(A, 40000 + i, B, 80, 0x10, 1001, 5001)),
            ]
        })
        .collect()
}

#[test]
fn at_capacity_established_sessions_stay_and_new_ones_are_dropped_and_counted() {
    let mut frames = three_established();
    frames.extend((0..2).map(|i| (0, tcp(A, 41000 + i, B, 80, 0x02, 1000, 0))));
    let (sent, exit) = run_core(SessionMode::Bidirectional, 3, &frames, 9);
    assert_eq!(
        sent.len(),
        9,
        "the three handshakes pass, the two new SYNs do not"
    );
    assert_eq!(
        exit.snapshot
            .drops
            .get(sessmgr::drop::DropReason::TableFull),
        2
    );
    assert_eq!(exit.snapshot.table.refused, 2);
    assert_eq!(
        exit.snapshot.table.evicted, 0,
        "established is never evicted"
    );
    assert_eq!(exit.snapshot.sessions, 3);
}

#[test]
fn at_capacity_a_new_session_evicts_an_unanswered_one() {
    // Two established connections and one SYN nobody answered fill the table; each new SYN
    // takes the place of an unanswered one (S8 early drop), never an established one.
    let mut frames: Vec<_> = three_established().into_iter().take(6).collect();
    frames.extend((0..3).map(|i| (0, tcp(A, 41000 + i, B, 80, 0x02, 1000, 0))));
    let (sent, exit) = run_core(SessionMode::Bidirectional, 3, &frames, 9);
    assert_eq!(sent.len(), 9, "every frame passes");
    assert_eq!(exit.snapshot.table.evicted, 2);
    assert_eq!(exit.snapshot.table.refused, 0);
    assert_eq!(exit.snapshot.sessions, 3);
}

#[test]
fn with_early_drop_off_at_capacity_new_sessions_are_refused() {
    let frames: Vec<_> = (0..5)
        .map(|i| (0, tcp(A, 40000 + i, B, 80, 0x02, 1000, 0)))
        .collect();
    let table = TableConfig {
        capacity: 3,
        early_drop: false,
        ..TableConfig::default()
    };
    let (sent, exit) = start_core_with(table, &frames, 3).stop();
    assert_eq!(sent.len(), 3, "only three sessions fit");
    assert_eq!(exit.snapshot.table.refused, 2);
    assert_eq!(exit.snapshot.table.evicted, 0);
}

#[test]
fn reset_through_the_mailbox_removes_matching_sessions() {
    let frames: Vec<_> = (0..4u16)
        .map(|i| {
            (
                0,
                tcp(A, 40000 + i, B, if i < 3 { 80 } else { 443 }, 0x02, 1000, 0),
            )
        })
        .collect();
    let core = start_core(SessionMode::Bidirectional, 100, &frames, 4);
    let (rtx, rrx) = flume::bounded(1);
    let to_port_80 = sessmgr::table::query::SessionFilter {
        destination_port: Some(80),
        ..Default::default()
    };
    core.tx
        .send(CoreMsg::Reset {
            family: None,
            filter: Box::new(to_port_80),
            reply: rtx,
        })
        .expect("reset");
    assert_eq!(rrx.recv_timeout(Duration::from_secs(5)), Ok(3));
    let (_, exit) = core.stop();
    assert_eq!(exit.snapshot.sessions, 1);
    assert_eq!(exit.snapshot.table.reset, 3);
}

/// Issue #10: inline, the fragments of a datagram wait for its verdict and then leave
/// together, in arrival order, unchanged, out of the peer port; a teardrop pair takes its
/// held first fragment down with it (before the fix that one had already been forwarded).
#[test]
fn fragments_leave_together_after_the_verdict() {
    let payload: Vec<u8> = (0..100u8).collect();
    let mut good = udp4_fragments(A, 40000, B, 53, 77, &payload, 40);
    good.swap(0, 2);
    let tear_first = ipv4_fragment(A, B, 17, 78, 0, true, &[0u8; 32]);
    let tear = ipv4_fragment(A, B, 17, 78, 24, false, &[0u8; 4]);
    let mut frames: Vec<(u8, Vec<u8>)> = vec![(0, tear_first), (0, tear)];
    frames.extend(good.iter().map(|f| (0, f.clone())));
    // A whole datagram after them, so the core has done everything before it once it left.
    let after = tcp(A, 40000, B, 80, 0x02, 1000, 0);
    frames.push((0, after.clone()));
    let (sent, exit) = run_core(SessionMode::Bidirectional, 100, &frames, 4);
    let mut want: Vec<(u8, Vec<u8>)> = good.iter().map(|f| (1, f.clone())).collect();
    want.push((1, after));
    // The back-end sends the batch's forwarded frames, the core the released ones after.
    let mut got = sent.clone();
    got.sort_by_key(|(_, f)| f.len() < 60);
    assert_eq!(got.len(), 4, "{sent:?}");
    assert_eq!(
        &got[..3],
        &want[..3],
        "released in arrival order, unchanged"
    );
    assert!(sent.contains(&want[3]));
    let drops = &exit.snapshot.drops;
    assert_eq!(drops.get(sessmgr::drop::DropReason::FragmentOverlap), 2);
}

//! Issue #11: `display session statistics` with and without filters, after sessions close.
//!
//! Without filters the `Received` figures are every packet of the protocol since the last
//! `reset session statistics` (comware.md §3.2): a closed session's packets stay in them.
//! With filters the cores walk their tables and sum the selected current sessions' counters:
//! a closed session's packets are not there. The console says which (ours): the filtered
//! form heads its `Received` block with `RECEIVED_BY_SELECTED`; the sessions counted agree.
//!
//! Two real core threads (replay mode: frames come through their mailboxes) hold UDP
//! sessions; the console runs against them through the engine, as `sessmgr run` does.

mod common;

use common::frames::udp4;
use sessmgr::actors::core::{CoreHandle, CoreMsg, CoreSetup, EventsMode, FrameBatch, spawn};
use sessmgr::config::Config;
use sessmgr::ctl::engine::Engine;
use sessmgr::ctl::exec::Console;
use sessmgr::ctl::render::RECEIVED_BY_SELECTED;
use sessmgr::ctl::running::Running;
use sessmgr::io::IoMode;
use sessmgr::pipeline::Pipeline;
use sessmgr::proto::frag::FragLimits;
use sessmgr::proto::key::FlowHasher;
use sessmgr::proto::wire::LinkType;
use sessmgr::table::TableConfig;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

const T0: u64 = 1_700_000_000_000_000_000;

/// Ethernet + IPv4 + UDP, 42 bytes: 10.0.`net`.`i`:4000 -> 198.18.0.1:`dport` (or back).
fn udp(net: u8, i: u8, dport: u16, reply: bool) -> Vec<u8> {
    let (client, server) = ([10, 0, net, i], [198, 18, 0, 1]);
    if reply {
        udp4(server, dport, client, 4000, b"")
    } else {
        udp4(client, 4000, server, dport, b"")
    }
}

/// `n` sessions of 3 packets (2 out, 1 back) to port 53 and `n` to port 5353, on core `net`.
fn frames(net: u8, n: u8) -> FrameBatch {
    let mut b = FrameBatch::default();
    let mut k = 0;
    for dport in [53, 5353] {
        for i in 1..=n {
            for reply in [false, true, false] {
                b.push(k, T0 + k * 1000, 0, &udp(net, i, dport, reply));
                k += 1;
            }
        }
    }
    b
}

fn start(cores: usize) -> (Vec<CoreHandle>, Vec<flume::Sender<CoreMsg>>) {
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..cores).map(|_| flume::bounded(64)).unzip();
    let handles = rxs
        .into_iter()
        .enumerate()
        .map(|(core, rx)| {
            let table = TableConfig {
                statistics: true,
                ..TableConfig::default()
            };
            spawn(CoreSetup {
                core,
                cores,
                pipeline: Pipeline::new(
                    core as u8,
                    table,
                    FragLimits::default(),
                    FlowHasher::with_seed(3),
                ),
                io: None,
                io_mode: IoMode::Inline,
                mailbox: rx,
                peers: txs.clone(),
                events: None,
                events_mode: EventsMode::Live,
                snapshots: None,
                results: None,
                stop: Arc::new(AtomicBool::new(false)),
                pin: false,
                sync: None,
            })
            .expect("spawn core")
        })
        .collect();
    (handles, txs)
}

/// `Received UDP      :   P packets   B bytes` of a statistics display.
fn received_udp(text: &str) -> (u64, u64) {
    let line = text
        .lines()
        .find(|l| l.starts_with("Received UDP "))
        .unwrap_or_else(|| panic!("no Received UDP line in:\n{text}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    (words[3].parse().unwrap(), words[5].parse().unwrap())
}

fn current(text: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.starts_with("Current sessions:"))
        .unwrap_or_else(|| panic!("no Current sessions line in:\n{text}"));
    line.split(':').nth(1).unwrap().trim().parse().unwrap()
}

#[test]
fn filtered_statistics_say_they_count_current_sessions_only() {
    let (handles, cores) = start(2);
    for (core, tx) in cores.iter().enumerate() {
        let n = if core == 0 { 6 } else { 4 };
        tx.send(CoreMsg::Frames {
            link: LinkType::Ethernet,
            frames: frames(core as u8, n),
        })
        .unwrap();
    }
    let engine = Arc::new(Engine::new(
        cores.clone(),
        Running::factory(&Config::default()),
        std::env::temp_dir().join("sessmgr-console-statistics.cfg"),
    ));
    let mut c = Console::new(engine);
    // 20 sessions of 3 packets, 42-byte frames (28 bytes of IPv4 each).
    let (all, udp_all) = ("display session statistics ipv4", (60, 60 * 28));
    let every_udp = "display session statistics ipv4 protocol udp";
    let before = c.line(all).output;
    assert_eq!((current(&before), received_udp(&before)), (20, udp_all));
    assert!(!before.contains(RECEIVED_BY_SELECTED), "{before}");
    // While no session has closed, both forms count the same packets.
    let filtered = c.line(every_udp).output;
    assert_eq!((current(&filtered), received_udp(&filtered)), (20, udp_all));
    assert!(filtered.contains(RECEIVED_BY_SELECTED), "{filtered}");

    // The port-5353 sessions close (10 of them, 30 packets).
    assert!(
        c.line("reset session table ipv4 destination-port 5353")
            .output
            .is_empty()
    );
    let after = c.line(all).output;
    assert_eq!(current(&after), 10, "{after}");
    // Without filters: every UDP packet since the last reset, the closed sessions' included.
    assert_eq!(received_udp(&after), udp_all, "{after}");
    assert!(!after.contains(RECEIVED_BY_SELECTED), "{after}");
    // With filters: the current sessions' counters only, and said so, in the block's head.
    let filtered = c.line(every_udp).output;
    assert_eq!(current(&filtered), 10, "{filtered}");
    assert_eq!(received_udp(&filtered), (30, 30 * 28), "{filtered}");
    let head = filtered
        .lines()
        .position(|l| format!("{l}\n") == RECEIVED_BY_SELECTED)
        .expect("the head line");
    assert!(
        filtered
            .lines()
            .nth(head + 1)
            .unwrap()
            .starts_with("Received TCP "),
        "{filtered}"
    );
    let dns = c
        .line("display session statistics ipv4 destination-port 53")
        .output;
    assert_eq!(received_udp(&dns), (30, 30 * 28), "{dns}");
    assert!(dns.contains(RECEIVED_BY_SELECTED), "{dns}");

    // `reset session statistics`: the running totals start again; the filtered walk still
    // shows what the current sessions carry.
    assert!(c.line("reset session statistics").output.is_empty());
    let after_reset = c.line(all).output;
    assert_eq!(received_udp(&after_reset), (0, 0), "{after_reset}");
    let filtered = c.line(every_udp).output;
    assert_eq!(received_udp(&filtered), (30, 30 * 28), "{filtered}");
    for tx in &cores {
        tx.send(CoreMsg::Stop).unwrap();
    }
    for h in handles {
        h.join();
    }
}

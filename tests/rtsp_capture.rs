//! RTSP conformance on ../shared/pcaps/ndpi-rtsp.pcap (issue #14): every RTP/RTCP flow a
//! SETUP announces in the capture is `rel` and linked to its RTSP control session.
//!
//! No kernel result exists for RTSP (mainline Linux has no RTSP helper), so the test derives
//! the flows from the capture's own bytes: it decodes the frames itself (Linux cooked or
//! Ethernet, IPv4, TCP) and reads the `Transport` line of every 2xx reply the server sent
//! (`client_port` a-b, `server_port` c-d: RTP c->a and RTCP d->b, from the server to the
//! client), independently of the ALG and its parser.
//!
//! The capture holds the RTSP sessions only (VLC 3.0.16 playing from a VLC 3.0.12 server on
//! port 8554): its media flows are not in it. So the test checks the relation entries each
//! reply published, then sends the first packet of every announced flow through the same
//! engine right after the reply that announced it, and checks its verdict and master. The
//! same run with `undo alg rtsp` shows that without the ALG those packets are new sessions.

mod common;

use common::frames::udp4;
use sessmgr::alg::AlgSet;
use sessmgr::io::capture::for_each_batch;
use sessmgr::pipeline::{FrameOutcome, Pipeline};
use sessmgr::proto::key::{FlowHasher, addr_to_ip};
use sessmgr::proto::wire::{LinkType, ipproto};
use sessmgr::table::port_map::{MatchScope, PortMapping};
use sessmgr::table::{TableConfig, Verdict};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

/// The capture's RTSP server port (not the well-known 554: the port-mapping table is told).
const RTSP_PORT: u16 = 8554;

struct Frame {
    number: u64,
    ts_ns: u64,
    link: LinkType,
    data: Vec<u8>,
}

/// One media flow a SETUP reply announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Flow {
    /// The reply's frame.
    frame: u64,
    server: Ipv4Addr,
    sport: u16,
    client: Ipv4Addr,
    dport: u16,
}

fn read_capture(path: &std::path::Path) -> Vec<Frame> {
    let mut frames = Vec::new();
    for_each_batch(path, 64, |batch| {
        let link = batch.link.expect("a link type the engine decodes");
        for i in 0..batch.len() {
            let f = batch.frame(i).expect("frame");
            frames.push(Frame {
                number: f.number,
                ts_ns: f.ts_ns,
                link,
                data: f.data.to_vec(),
            });
        }
    })
    .expect("read the capture");
    frames
}

/// An IPv4 TCP segment as the test's own decoder sees it.
struct Segment<'a> {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    payload: &'a [u8],
}

fn tcp_segment(f: &Frame) -> Option<Segment<'_>> {
    let d = &f.data;
    let ip = match f.link {
        // Linux cooked capture: 16 bytes, the protocol last.
        LinkType::LinuxSll => (d.get(14..16)? == [8, 0]).then(|| &d[16..])?,
        LinkType::Ethernet => (d.get(12..14)? == [8, 0]).then(|| &d[14..])?,
        _ => return None,
    };
    if ip.first()? >> 4 != 4 || *ip.get(9)? != 6 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let tcp = ip.get(ihl..total.min(ip.len()))?;
    let sport = u16::from_be_bytes([tcp[0], tcp[1]]);
    let dport = u16::from_be_bytes([tcp[2], tcp[3]]);
    let seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
    let off = usize::from(tcp.get(12)? >> 4) * 4;
    Some(Segment {
        src,
        dst,
        sport,
        dport,
        seq,
        payload: tcp.get(off..)?,
    })
}

/// `a-b` of `name=a-b` in a Transport value.
fn port_pair(transport: &str, name: &str) -> Option<(u16, u16)> {
    let v = transport
        .split(';')
        .find_map(|p| p.trim().strip_prefix(name)?.strip_prefix('='))?;
    let (a, b) = v.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// Every flow announced by a 2xx reply with a Transport line, from the capture's bytes.
fn announced_flows(frames: &[Frame]) -> Vec<Flow> {
    let mut seen = BTreeSet::new();
    let mut flows = Vec::new();
    for f in frames {
        let Some(Segment {
            src,
            dst,
            sport,
            dport,
            seq,
            payload,
        }) = tcp_segment(f)
        else {
            continue;
        };
        if sport != RTSP_PORT || !payload.starts_with(b"RTSP/1.0 2") {
            continue;
        }
        // The capture's retransmissions: a reply counts once.
        if !seen.insert((dport, seq)) {
            continue;
        }
        let text = std::str::from_utf8(payload).expect("an RTSP reply is text");
        assert!(
            text.contains("\r\n\r\n"),
            "frame {}: the test reads replies whole in one segment",
            f.number
        );
        let Some(transport) = text.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("transport")
                .then_some(value)
        }) else {
            continue;
        };
        let (a, b) = port_pair(transport, "client_port").expect("client_port");
        let (c, d) = port_pair(transport, "server_port").expect("server_port");
        for (sport, dport) in [(c, a), (d, b)] {
            flows.push(Flow {
                frame: f.number,
                server: src,
                sport,
                client: dst,
                dport,
            });
        }
    }
    flows
}

/// What one run of the capture (with the flows' first packets) gave.
struct Run {
    /// Per flow: its first packet's verdict, and whether its master is the control session of
    /// the reply that announced it.
    verdicts: Vec<(Flow, Verdict, bool)>,
    /// Per flow: whether the announcing frame published its relation entry, with the right
    /// master.
    entries: Vec<(Flow, bool)>,
    /// Relation entries published in all.
    published: usize,
    /// What the ALGs counted (refusals, framework notes), by counter name.
    counters: Vec<(String, u64)>,
}

fn run(frames: &[Frame], flows: &[Flow], alg_on: bool) -> Run {
    let rtsp = sessmgr::table::apps::by_keyword("rtsp").expect("the RTSP application");
    let mut algs = AlgSet::ALL;
    if !alg_on {
        algs.set(
            sessmgr::alg::by_keyword("rtsp").expect("the RTSP ALG"),
            false,
        );
    }
    let table = TableConfig {
        algs,
        port_map: vec![PortMapping {
            app: rtsp,
            port: RTSP_PORT,
            proto: Some(ipproto::TCP),
            scope: MatchScope::Any,
        }],
        ..TableConfig::default()
    };
    let mut p = Pipeline::new(0, table, Default::default(), FlowHasher::with_seed(7));
    p.shard.algs.attach(Default::default());
    p.shard.algs.record_published = true;
    let mut r = Run {
        verdicts: Vec::new(),
        entries: Vec::new(),
        published: 0,
        counters: Vec::new(),
    };
    for f in frames {
        let outcome = p.process_frame(f.link, &f.data, f.ts_ns);
        let published: Vec<_> = p.shard.algs.take_published().collect();
        r.published += published.len();
        let mine: Vec<Flow> = flows
            .iter()
            .filter(|fl| fl.frame == f.number)
            .copied()
            .collect();
        if mine.is_empty() {
            continue;
        }
        let FrameOutcome::Tracked(t) = outcome else {
            panic!("frame {}: {outcome:?}", f.number);
        };
        let control = p.shard.id_of(t.slot.expect("the control session"));
        for fl in &mine {
            let entry = published.iter().any(|e| {
                let sp = &e.spec;
                sp.proto == ipproto::UDP
                    && addr_to_ip(sp.family, &sp.dst) == IpAddr::V4(fl.client)
                    && sp.dport == fl.dport
                    && sp.src.map(|s| addr_to_ip(sp.family, &s)) == Some(IpAddr::V4(fl.server))
                    && e.master == control
            });
            r.entries.push((*fl, entry));
        }
        // The first packet of each flow, 1 ms after the reply: an RTP or RTCP header's
        // first byte (version 2) and a few more.
        for (i, fl) in mine.iter().enumerate() {
            let frame = udp4(
                fl.server.octets(),
                fl.sport,
                fl.client.octets(),
                fl.dport,
                &[0x80, 0x60, 0, 1, 0, 0, 0, 0],
            );
            let ts = f.ts_ns + 1_000_000 + i as u64;
            let FrameOutcome::Tracked(t) = p.process_frame(LinkType::Ethernet, &frame, ts) else {
                panic!("{fl:?}: not tracked");
            };
            let linked = t
                .slot
                .and_then(|s| p.shard.algs.master_of(s))
                .is_some_and(|m| m == control);
            r.verdicts.push((*fl, t.verdict, linked));
        }
    }
    r.counters = p.shard.algs.counters.named();
    r
}

#[test]
fn every_flow_a_setup_announces_is_related_to_its_rtsp_session() {
    let Some(dir) = common::pcaps_dir() else {
        common::skip_or_fail("../shared/pcaps is not beside the repository");
        return;
    };
    let frames = read_capture(&dir.join("ndpi-rtsp.pcap"));
    let flows = announced_flows(&frames);
    // Six streams of two tracks (video, audio), RTP and RTCP each; the seventh connection
    // only asks GET_PARAMETER.
    assert_eq!(flows.len(), 24, "{flows:#?}");
    assert!(
        frames
            .iter()
            .filter_map(tcp_segment)
            .all(|s| s.sport == RTSP_PORT || s.dport == RTSP_PORT),
        "the capture holds the RTSP connections only"
    );

    let on = run(&frames, &flows, true);
    let missing: Vec<_> = on.entries.iter().filter(|(_, ok)| !ok).collect();
    assert!(missing.is_empty(), "no relation entry for {missing:#?}");
    assert_eq!(
        on.published,
        flows.len(),
        "one entry per announced flow, no other"
    );
    let wrong: Vec<_> = on
        .verdicts
        .iter()
        .filter(|(_, v, linked)| *v != Verdict::Rel || !linked)
        .collect();
    assert!(wrong.is_empty(), "not rel or not linked: {wrong:#?}");
    assert_eq!(on.verdicts.len(), flows.len());
    // A real session refuses nothing; the capture's retransmitted requests are noticed.
    let refused: Vec<_> = on
        .counters
        .iter()
        .filter(|(name, _)| {
            name.starts_with("alg_rtsp_") && name != "alg_rtsp_retransmitted_segment"
        })
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    assert!(
        on.counters
            .iter()
            .any(|(name, n)| name == "alg_rtsp_retransmitted_segment" && *n > 0),
        "the ALG saw the RTSP sessions: {:?}",
        on.counters
    );

    // `undo alg rtsp`: no entries, and the same packets open sessions of their own.
    let off = run(&frames, &flows, false);
    assert_eq!(off.published, 0);
    assert!(
        off.verdicts
            .iter()
            .all(|(_, v, linked)| *v == Verdict::New && !linked),
        "{:#?}",
        off.verdicts
    );
}

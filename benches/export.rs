//! Issue #12: session logs formatted and sent per second from one thread (what the log actor
//! does for the logs of every core), to a collector on loopback that a second thread drains:
//! flow log 3.0, IPFIX, syslog over UDP (one datagram per log) and over TCP (octet counting).
//! A batch of 256 logs then one flush, as a log actor's turn takes them.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sessmgr::actors::collectors::Collectors;
use sessmgr::export::config::{
    ExportConfig, FlowFormat, FlowHost, LogHost, SyslogFormat, Transport,
};
use sessmgr::export::syslog::Facility;
use sessmgr::proto::key::{FlowKey, ip_to_addr};
use sessmgr::table::events::{EventKind, LogFacts, SessionEvent};
use sessmgr::table::session::DirCounters;
use std::hint::black_box;
use std::io::Read;
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::time::Duration;

const BATCH: usize = 256;

fn events() -> Vec<SessionEvent> {
    let (family, src) = ip_to_addr("198.18.0.1".parse().unwrap());
    let (_, dst) = ip_to_addr("198.19.0.2".parse().unwrap());
    (0..BATCH as u16)
        .map(|n| SessionEvent {
            kind: if n % 2 == 0 {
                EventKind::Created
            } else {
                EventKind::Deleted(sessmgr::table::events::CloseReason::AgedOut)
            },
            session: u64::from(n),
            orig: FlowKey {
                src,
                dst,
                sport: 10_000 + n,
                dport: 80,
                proto: 6,
                family,
                vpn: 0,
            },
            state: 3,
            at_ns: 1_700_000_000_000_000_000,
            log: Some(LogFacts {
                app: 0,
                counters: [
                    DirCounters {
                        packets: 6,
                        bytes: 600,
                    },
                    DirCounters {
                        packets: 5,
                        bytes: 4000,
                    },
                ],
                begin_ms: 1_699_999_999_000,
                ports: [0, 1],
                tos: 0,
                closing: true,
            }),
        })
        .collect()
}

/// A UDP collector drained by a thread; its address.
fn udp_sink() -> IpAddr {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = s.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while s.recv(&mut buf).is_ok() {}
    });
    PORT.with(|p| p.set(port));
    "127.0.0.1".parse().unwrap()
}

thread_local!(static PORT: std::cell::Cell<u16> = const { std::cell::Cell::new(0) });

fn tcp_sink() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        while let Ok((mut c, _)) = l.accept() {
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    port
}

fn bench(c: &mut Criterion) {
    let evs = events();
    let mut g = c.benchmark_group("session_logs_sent");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(BATCH as u64));
    let addr = udp_sink();
    let port = PORT.with(|p| p.get());
    let flow = |format| ExportConfig {
        flow_hosts: vec![FlowHost { addr, port, format }],
        ..Default::default()
    };
    let syslog = |port, transport| ExportConfig {
        sysname: "FW".into(),
        flow_to_syslog: true,
        log_hosts: vec![LogHost {
            addr,
            port,
            facility: Facility::Local7,
            format: SyslogFormat::Comware,
            transport,
        }],
        ..Default::default()
    };
    let tcp_port = tcp_sink();
    let cases = [
        ("flowlog3_udp", flow(FlowFormat::FlowLog3)),
        ("ipfix_udp", flow(FlowFormat::Ipfix)),
        ("syslog_udp", syslog(port, Transport::Udp)),
        ("syslog_tcp", syslog(tcp_port, Transport::Tcp)),
    ];
    for (name, config) in cases {
        let mut col = Collectors::new(config, 0);
        let mut t = 1_700_000_000_000u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                for ev in &evs {
                    col.log(black_box(ev));
                }
                t += 1;
                col.flush(t);
            })
        });
        let c = &col.counters()[0];
        eprintln!(
            "{name}: logs {}, sent {}, datagrams {}, dropped {}",
            c.logs,
            c.sent,
            c.datagrams,
            c.dropped()
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The FTP ALG through `sessmgr replay` on captures built to a precise shape: a 227 reply
//! split over two TCP segments, with the first half retransmitted and the second overlapping
//! it; then an FTP bounce attempt (a PORT naming a third host). The data connection of the
//! split reply must be related to its control session; the bounce must announce nothing and
//! be counted.

mod common;

use common::frames::{ACK, PSH, SYN, tcp4, write_pcap};
use common::replay::{json_lines, replay};
use serde_json::Value;

const CLIENT: [u8; 4] = [198, 18, 0, 1];
const SERVER: [u8; 4] = [198, 19, 0, 2];
const THIRD: [u8; 4] = [198, 19, 9, 9];

/// A control session's segments, with sequence numbers kept for both sides.
struct Ftp {
    frames: Vec<Vec<u8>>,
    cport: u16,
    cseq: u32,
    sseq: u32,
}

impl Ftp {
    fn open(cport: u16) -> Ftp {
        let mut f = Ftp {
            frames: Vec::new(),
            cport,
            cseq: 1000,
            sseq: 5000,
        };
        f.frames
            .push(tcp4(CLIENT, cport, SERVER, 21, SYN, 999, 0, b""));
        f.frames
            .push(tcp4(SERVER, 21, CLIENT, cport, SYN | ACK, 4999, 1000, b""));
        f.frames
            .push(tcp4(CLIENT, cport, SERVER, 21, ACK, 1000, 5000, b""));
        f
    }

    /// Server bytes at an explicit offset from the server's next sequence number (for
    /// retransmissions and overlaps); `advance` moves the next sequence number on.
    fn server_at(&mut self, offset: u32, bytes: &[u8], advance: u32) {
        let seq = self.sseq.wrapping_add(offset);
        self.frames.push(tcp4(
            SERVER,
            21,
            CLIENT,
            self.cport,
            PSH | ACK,
            seq,
            self.cseq,
            bytes,
        ));
        self.sseq = self.sseq.wrapping_add(advance);
    }

    fn server(&mut self, bytes: &[u8]) {
        self.server_at(0, bytes, bytes.len() as u32);
    }

    fn client(&mut self, bytes: &[u8]) {
        self.frames.push(tcp4(
            CLIENT,
            self.cport,
            SERVER,
            21,
            PSH | ACK,
            self.cseq,
            self.sseq,
            bytes,
        ));
        self.cseq = self.cseq.wrapping_add(bytes.len() as u32);
    }
}

#[test]
fn a_227_split_over_two_segments_relates_its_data_connection() {
    let dir = std::env::temp_dir().join(format!("sessmgr-alg-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut ftp = Ftp::open(40000);
    ftp.server(b"220 (vsFTPd 3.0.3)\r\n");
    ftp.client(b"PASV\r\n");
    let first = b"227 Entering Passive Mode (198,19,";
    let second = b"0,2,117,48).\r\n"; // port 117*256+48 = 30000
    ftp.server_at(0, first, 0);
    let split_at = ftp.frames.len(); // frame number (1-based) of the first half
    // The first half again (a retransmission), then the rest overlapping its last 3 bytes.
    ftp.server_at(0, first, 0);
    let mut rest = first[first.len() - 3..].to_vec();
    rest.extend_from_slice(second);
    ftp.server_at(
        first.len() as u32 - 3,
        &rest,
        (first.len() + second.len()) as u32,
    );
    let completing = ftp.frames.len();
    // The client's data connection to the announced port.
    ftp.frames
        .push(tcp4(CLIENT, 40001, SERVER, 30000, SYN, 7000, 0, b""));
    let data_syn = ftp.frames.len();
    ftp.frames.push(tcp4(
        SERVER,
        30000,
        CLIENT,
        40001,
        SYN | ACK,
        9000,
        7001,
        b"",
    ));
    let path = dir.join("split227.pcap");
    write_pcap(&path, &ftp.frames);

    let out = json_lines(&replay(&path, &["--verdicts"]));
    let expects: Vec<(usize, &Value)> = out
        .iter()
        .enumerate()
        .flat_map(|(i, l)| {
            l["expect"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |e| (i + 1, e))
        })
        .collect();
    assert_eq!(
        expects.len(),
        1,
        "one relation entry, announced once: {expects:?}"
    );
    let (frame, e) = expects[0];
    assert_eq!(
        frame, completing,
        "announced by the segment that completes the line (first half: frame {split_at})"
    );
    assert_eq!(e["dst"], "198.19.0.2");
    assert_eq!(e["dport"], 30000);
    assert_eq!(e["src"], "198.18.0.1");
    assert_eq!(e["app"], "FTP-DATA");
    assert_eq!(out[data_syn - 1]["verdict"], "rel", "{}", out[data_syn - 1]);
    assert_eq!(out[data_syn]["verdict"], "est");
    let table = out.last().expect("table");
    let data = table["table"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["orig"]["dport"] == 30000)
        .expect("data session");
    assert_eq!(data["app"], "FTP-DATA");
    assert_eq!(data["master"], e["master"]);
    assert_eq!(table["relations"].as_array().map(Vec::len), Some(0));
    let summary = replay(&path, &[]);
    assert!(
        summary.contains("alg_ftp_retransmitted_segment")
            && summary.contains("alg_ftp_overlapping_segment"),
        "{summary}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_ftp_bounce_announces_nothing_and_is_counted() {
    let dir = std::env::temp_dir().join(format!("sessmgr-alg-bounce-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut ftp = Ftp::open(40010);
    ftp.server(b"220 ready\r\n");
    // PORT naming a third host (RFC 2577 §3), then one naming the client itself.
    ftp.client(b"PORT 198,19,9,9,0,25\r\n");
    ftp.server(b"200 PORT command successful.\r\n");
    ftp.client(b"PORT 198,18,0,1,156,64\r\n");
    // The server's connection to the third host must not be related to anything.
    ftp.frames
        .push(tcp4(SERVER, 20, THIRD, 25, SYN, 3000, 0, b""));
    let path = dir.join("bounce.pcap");
    write_pcap(&path, &ftp.frames);
    let out = json_lines(&replay(&path, &["--verdicts"]));
    let announced: Vec<&Value> = out
        .iter()
        .flat_map(|l| l["expect"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced[0]["dst"], "198.18.0.1");
    assert_eq!(announced[0]["dport"], 40000);
    let third = &out[ftp.frames.len() - 1];
    assert_eq!(third["verdict"], "new", "{third}");
    let summary = replay(&path, &[]);
    let bounce = summary
        .lines()
        .find(|l| l.trim_start().starts_with("alg_ftp_bounce"))
        .unwrap_or_else(|| panic!("no bounce counter in:\n{summary}"));
    assert!(bounce.trim_end().ends_with(" 1"), "{bounce}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The ALG author's kit on a real capture: the entries each frame published.
#[test]
fn the_kit_lists_what_a_capture_published() {
    let Some(dir) = common::pcaps_dir() else {
        common::skip_or_fail("../shared/pcaps is not beside the repository");
        return;
    };
    let published = sessmgr::replay::published_by_capture(
        &dir.join("sv-ftp-download-passive.pcap"),
        sessmgr::table::SessionMode::Hybrid,
    )
    .expect("replay");
    let got: Vec<(u64, u16)> = published.iter().map(|(f, e)| (*f, e.spec.dport)).collect();
    // The 227 replies of the three transfers (frames as in the kernel oracle's expectations).
    assert_eq!(got, vec![(14, 21001), (30, 21008), (46, 21008)]);
}

/// `port-mapping application ftp port 2121`: the FTP ALG follows a control session on a
/// port the pre-defined table does not call FTP (the port-mapping table decides, not the ALG).
#[test]
fn a_user_port_mapping_brings_the_alg_to_another_port() {
    use sessmgr::pipeline::{FrameOutcome, Pipeline};
    use sessmgr::proto::wire::{LinkType, ipproto};
    use sessmgr::table::apps::by_keyword;
    use sessmgr::table::port_map::{MatchScope, PortMapping};
    use sessmgr::table::{TableConfig, Verdict};

    let frames = |cport: u16| {
        let mut f = vec![
            tcp4(CLIENT, cport, SERVER, 2121, SYN, 999, 0, b""),
            tcp4(SERVER, 2121, CLIENT, cport, SYN | ACK, 4999, 1000, b""),
            tcp4(CLIENT, cport, SERVER, 2121, ACK, 1000, 5000, b""),
        ];
        let reply = b"227 Entering Passive Mode (198,19,0,2,117,49).\r\n";
        f.push(tcp4(
            SERVER,
            2121,
            CLIENT,
            cport,
            PSH | ACK,
            5000,
            1000,
            reply,
        ));
        f.push(tcp4(CLIENT, cport + 1, SERVER, 30001, SYN, 7000, 0, b""));
        f
    };
    let run = |port_map: Vec<PortMapping>| -> Verdict {
        let table = TableConfig {
            port_map,
            ..TableConfig::default()
        };
        let mut p = Pipeline::new(
            0,
            table,
            Default::default(),
            sessmgr::proto::key::FlowHasher::with_seed(3),
        );
        p.shard.algs.attach(Default::default());
        let mut last = None;
        for (i, f) in frames(41000).iter().enumerate() {
            last = Some(p.process_frame(LinkType::Ethernet, f, (i as u64 + 1) * 1_000_000));
        }
        match last {
            Some(FrameOutcome::Tracked(t)) => t.verdict,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        run(Vec::new()),
        Verdict::New,
        "port 2121 is not FTP by default"
    );
    let ftp = by_keyword("ftp").expect("ftp application");
    let mapped = |scope| {
        vec![PortMapping {
            app: ftp,
            port: 2121,
            proto: Some(ipproto::TCP),
            scope,
        }]
    };
    assert_eq!(run(mapped(MatchScope::Any)), Verdict::Rel);
    // A host mapping: FTP only on the server it names.
    let host = |a: [u8; 4]| MatchScope::Host {
        start: a.into(),
        end: a.into(),
    };
    assert_eq!(run(mapped(host(SERVER))), Verdict::Rel);
    assert_eq!(run(mapped(host([198, 19, 0, 3]))), Verdict::New);
}

//! `replay --cores 2` gives the same verdicts and final table as `--cores 1` on every capture
//! (issue #3 acceptance). Session ids name their core, so sessions are matched by identity:
//! the frames of one session under one core count map to one session under the other.

mod common;

use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

fn replay(capture: &Path, mode: &str, cores: u32) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .args([
            "replay",
            "--verdicts",
            "--pps",
            "2000",
            "--mode",
            mode,
            "--cores",
            &cores.to_string(),
        ])
        .arg(capture)
        .output()
        .expect("run sessmgr");
    assert!(
        out.status.success(),
        "{}: {}",
        capture.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

fn row_key(r: &Value) -> String {
    format!(
        "{} {} {} {} {}",
        r["proto"], r["orig"], r["reply"], r["state"], r["app"]
    )
}

/// One core and two give the same verdicts, the same session identities and the same final
/// table on `cap` in `mode`; returns the frames compared.
fn assert_same(cap: &Path, mode: &str) -> usize {
    let mut frames_checked = 0;
    let one = replay(cap, mode, 1);
    let two = replay(cap, mode, 2);
    assert_eq!(one.len(), two.len(), "{} {mode}: line count", cap.display());
    let (t1, f1) = one.split_last().expect("table line");
    let (t2, f2) = two.split_last().expect("table line");
    let mut a_to_b: HashMap<u64, u64> = HashMap::new();
    let mut b_to_a: HashMap<u64, u64> = HashMap::new();
    for (a, b) in f1.iter().zip(f2) {
        let n = &a["frame"];
        assert_eq!(n, &b["frame"]);
        for field in ["verdict", "dir", "state", "reason"] {
            assert_eq!(
                a.get(field),
                b.get(field),
                "{} {mode} frame {n}: {field}",
                cap.display()
            );
        }
        if let (Some(x), Some(y)) = (a["session"].as_u64(), b["session"].as_u64()) {
            assert_eq!(
                *a_to_b.entry(x).or_insert(y),
                y,
                "{} {mode} frame {n}: session identity",
                cap.display()
            );
            assert_eq!(
                *b_to_a.entry(y).or_insert(x),
                x,
                "{} {mode} frame {n}: session identity",
                cap.display()
            );
        }
        frames_checked += 1;
    }
    let rows = |t: &Value| {
        t["table"]
            .as_array()
            .map(|a| a.iter().map(row_key).collect::<BTreeSet<_>>())
            .unwrap_or_default()
    };
    assert_eq!(rows(t1), rows(t2), "{} {mode}: final table", cap.display());
    frames_checked
}

#[test]
fn two_cores_match_one_core() {
    let captures = common::all_captures();
    let mut frames_checked = 0;
    for cap in &captures {
        for mode in ["bidirectional", "hybrid"] {
            frames_checked += assert_same(cap, mode);
        }
    }
    assert!(frames_checked > 0);
}

/// A capture larger than the chunks `replay --cores N` reads it in (1 MiB each, 8 in flight):
/// frames straddle chunk boundaries, every buffer is reused, and each core gets its frames of
/// each chunk by position. The same HTTP capture end to end 70 times (11 MB), each copy
/// talking to another server address (so the copies spread over both cores), in both modes.
#[test]
fn two_cores_match_one_core_across_chunks() {
    let one = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/http-whole.pcap"))
        .expect("capture");
    // A little-endian classic pcap of untagged IPv4 and IPv6 frames; the first frame of each
    // family is the client's, so its destination is the server.
    assert_eq!(one[..4], [0xd4, 0xc3, 0xb2, 0xa1]);
    let mut servers: HashMap<[u8; 2], Vec<u8>> = HashMap::new();
    let mut big = one[..24].to_vec();
    for copy in 0..70u8 {
        let mut at = 24;
        while at + 16 <= one.len() {
            let caplen = u32::from_le_bytes(one[at + 8..at + 12].try_into().expect("len")) as usize;
            let mut frame = one[at + 16..at + 16 + caplen].to_vec();
            let ethertype = [frame[12], frame[13]];
            let (addrs, width) = match ethertype {
                [0x08, 0x00] => ([26, 30], 4),
                [0x86, 0xdd] => ([22, 38], 16),
                other => panic!("not IP: {other:?}"),
            };
            let server = servers
                .entry(ethertype)
                .or_insert_with(|| frame[addrs[1]..addrs[1] + width].to_vec())
                .clone();
            for a in addrs {
                if frame[a..a + width] == server[..] {
                    frame[a + width - 1] ^= copy;
                }
            }
            big.extend_from_slice(&one[at..at + 16]);
            big.extend_from_slice(&frame);
            at += 16 + caplen;
        }
    }
    assert!(big.len() > 9 << 20);
    let dir = std::env::temp_dir().join(format!("sessmgr-replay-cores-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cap = dir.join("http-70.pcap");
    std::fs::write(&cap, &big).expect("write");
    for mode in ["bidirectional", "hybrid"] {
        assert_eq!(assert_same(&cap, mode), 165 * 70);
    }
    // The copies did land on both cores (session ids name their core).
    let two = replay(&cap, "bidirectional", 2);
    let cores: BTreeSet<u64> = two
        .iter()
        .filter_map(|l| l["session"].as_u64())
        .map(|id| (id >> 28) & 0x0f)
        .collect();
    assert_eq!(cores.len(), 2, "every copy on one core: {cores:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

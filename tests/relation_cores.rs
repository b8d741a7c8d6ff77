//! SPEC R5: a relation entry is usable by the data connection's first packet whichever core
//! that packet lands on.
//!
//! The FTP, TFTP, SIP and PPTP captures of ../shared/pcaps are replayed at full speed on two cores with
//! frames steered by addresses *and ports* (`--steer ports`, as a NIC's 4-tuple RSS would),
//! so most data connections land on another core than their control session. Every data
//! connection the kernel related to an expectation must still be `rel` here, the relation
//! entries must be those of a one-core replay, and the test checks that some data sessions
//! really did live on another core than their master (otherwise it would prove nothing).

mod common;

use common::replay::json_lines;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const CAPTURES: &[&str] = &[
    "ndpi-ftp.pcap",
    "sv-ftp-download-active.pcap",
    "sv-ftp-download-passive.pcap",
    "sv-ftp-epsv.pcap",
    "ndpi-tftp.pcap",
    "sv-tftp-01.pcap",
    "tcpdump-tftp.pcap",
    "ndpi-sip.pcap",
    "sv-sip-sdp.pcap",
    "sv-sip-tcp.pcap",
    // PPTP: the GRE of a call is steered by its addresses, its control session by ports.
    "ndpi-pptp.pcap",
    "tcpdump-pptp.pcap",
];

fn replay(cap: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["--mode", "hybrid", "--verdicts"];
    args.extend_from_slice(extra);
    json_lines(&common::replay::replay(cap, &args))
}

/// The core a session id names (`SessionId::to_u64`: generation, core, slot).
fn core_of(id: u64) -> u64 {
    (id >> 28) & 0x0f
}

fn expectations(lines: &[Value]) -> BTreeMap<(u64, String, u64), usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        for e in l["expect"].as_array().into_iter().flatten() {
            let k = (
                e["proto"].as_u64().unwrap_or(0),
                e["dst"].as_str().unwrap_or("").to_string(),
                e["dport"].as_u64().unwrap_or(0),
            );
            *m.entry(k).or_default() += 1;
        }
    }
    m
}

#[test]
fn data_connections_find_their_entry_on_another_core() {
    let Some(dir) = common::pcaps_dir() else {
        common::skip_or_fail("../shared/pcaps is not beside the repository");
        return;
    };
    let mut cross_core = 0;
    let mut related = 0;
    for name in CAPTURES {
        let cap = dir.join(name);
        let oracle: Value = serde_json::from_str(
            &std::fs::read_to_string(cap.with_extension("oracle.json")).expect("oracle"),
        )
        .expect("oracle JSON");
        let one = replay(&cap, &[]);
        let two = replay(&cap, &["--cores", "2", "--steer", "ports"]);
        assert_eq!(
            expectations(&one),
            expectations(&two),
            "{name}: relation entries differ between one core and two"
        );
        let frames: BTreeMap<u64, &Value> = two
            .iter()
            .filter_map(|l| Some((l["frame"].as_u64()?, l)))
            .collect();
        for p in oracle["packets"].as_array().into_iter().flatten() {
            if p["ct_state"] == "rel" && p["ct_expected"] == true {
                let n = p["frame"].as_u64().unwrap_or(0);
                related += 1;
                assert_eq!(
                    frames.get(&n).and_then(|l| l["verdict"].as_str()),
                    Some("rel"),
                    "{name} frame {n}: the kernel relates it to an expectation, we did not"
                );
            }
        }
        let table = two.last().expect("final table");
        for row in table["table"].as_array().into_iter().flatten() {
            if let (Some(s), Some(m)) = (row["session"].as_u64(), row["master"].as_u64())
                && core_of(s) != core_of(m)
            {
                cross_core += 1;
            }
        }
    }
    println!(
        "related data connections: {related}; data sessions on another core than their master: {cross_core}"
    );
    assert!(related >= 10, "too few related frames to test: {related}");
    assert!(
        cross_core >= 2,
        "port steering put no data session on another core than its master: the test proves nothing"
    );
}

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

#[test]
fn two_cores_match_one_core() {
    let captures = common::all_captures();
    let mut frames_checked = 0;
    for cap in &captures {
        for mode in ["bidirectional", "hybrid"] {
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
        }
    }
    assert!(frames_checked > 0);
}

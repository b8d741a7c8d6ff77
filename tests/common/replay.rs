//! `sessmgr replay` as the ALG tests run it: the output of a replay that must succeed, and its
//! `--verdicts` JSON lines.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// `sessmgr replay CAPTURE ARGS...`: its standard output (the run must succeed).
pub fn replay(capture: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .arg("replay")
        .arg(capture)
        .args(args)
        .output()
        .expect("run sessmgr replay");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The JSON lines of `replay --verdicts` (one per frame, then the final table).
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

//! A capture that ends inside a record (a copy cut short, a capture still being written):
//! `sessmgr replay` processes and reports every frame before it, then names the error and
//! exits non-zero (issue #9).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn truncated_demo(dir: &Path, cut: usize) -> PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/demo.pcap");
    let mut bytes = std::fs::read(&demo).expect("demo capture");
    bytes.truncate(bytes.len() - cut);
    let path = dir.join(format!("demo-cut-{cut}.pcap"));
    std::fs::write(&path, bytes).expect("write");
    path
}

fn replay(path: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .arg("replay")
        .args(args)
        .arg(path)
        .output()
        .expect("run sessmgr replay")
}

#[test]
fn everything_before_the_cut_is_reported_then_the_error() {
    let dir = std::env::temp_dir().join(format!("sessmgr-truncated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let whole = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/demo.pcap");
    let full = replay(&whole, &["--verdicts"]);
    assert!(full.status.success());
    let frames = String::from_utf8_lossy(&full.stdout).lines().count() - 1;

    let cut = truncated_demo(&dir, 5);
    for cores in ["1", "2"] {
        // The summary is printed, then the error named, and the exit status says it.
        let out = replay(&cut, &["--cores", cores]);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(!out.status.success(), "cores {cores}: exit status 0");
        assert!(stdout.contains("Frames:"), "cores {cores}: {stdout}");
        assert!(
            stderr.contains("truncated record")
                && stderr.contains(&format!("after frame {}", frames - 1)),
            "cores {cores}: {stderr}"
        );
        // With --verdicts: one line per frame before the cut, then the final table.
        let out = replay(&cut, &["--verdicts", "--cores", cores]);
        assert!(!out.status.success());
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        assert_eq!(
            lines.len(),
            frames,
            "cores {cores}: {} frames and the table",
            frames - 1
        );
        assert!(lines.last().is_some_and(|t| t.get("table").is_some()));
        assert_eq!(lines[frames - 2]["frame"].as_u64(), Some(frames as u64 - 1));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

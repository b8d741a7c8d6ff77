//! Frames cut by a snap length are tracked by their length on the wire (issue #9): one real
//! HTTP transfer (IPv4 and IPv6) recorded at once whole and with `tcpdump -s 96`
//! (`scripts/make-snaplen-captures.sh`) gives the same verdict for every frame, the same
//! relation entries and the same final table, counters and TTLs included, in both session
//! modes and through one core or two.

use std::path::{Path, PathBuf};
use std::process::Command;

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn replay(path: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .arg("replay")
        .args(args)
        .arg(path)
        .output()
        .expect("run sessmgr replay");
    assert!(
        out.status.success(),
        "replay {} {args:?}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// `(frames, frames the capture cut, frames longer than 96 bytes on the wire)`.
fn shape(path: &Path) -> (usize, usize, usize) {
    let (mut n, mut cut, mut long) = (0, 0, 0);
    sessmgr::io::pcap::for_each_frame(path, |f| {
        n += 1;
        cut += usize::from(f.cut());
        long += usize::from(f.wire_len > 96);
    })
    .expect("read capture");
    (n, cut, long)
}

#[test]
fn a_capture_cut_at_96_bytes_is_tracked_as_the_whole_one() {
    let (whole, cut) = (capture("http-whole.pcap"), capture("http-snap96.pcap"));
    // The two hold the same frames, and the cut one really is cut (every data segment).
    let (n_whole, cut_whole, long_whole) = shape(&whole);
    let (n_cut, cut_cut, long_cut) = shape(&cut);
    assert_eq!(n_whole, n_cut, "the captures hold different frames");
    assert_eq!(cut_whole, 0, "the whole capture has cut frames");
    assert!(long_whole > 40, "too few data segments: {long_whole}");
    assert_eq!((cut_cut, long_cut), (long_whole, long_whole));

    for args in [
        &["--verdicts"][..],
        &["--verdicts", "--mode", "hybrid"],
        &["--verdicts", "--cores", "2", "--steer", "ports"],
        &[],
    ] {
        let a = replay(&whole, args);
        let b = replay(&cut, args);
        let lines = a.lines().count();
        assert!(lines > n_whole.min(2), "{args:?}: {lines} lines");
        for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
            assert_eq!(x, y, "{args:?}: line {i} differs");
        }
        assert_eq!(a, b, "{args:?}");
    }
    // Every frame tracked, none invalid: the cut did not make a segment look out of window.
    let out = replay(&cut, &["--verdicts"]);
    for line in out.lines().take(n_cut) {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        assert!(
            matches!(v["verdict"].as_str(), Some("new" | "est")),
            "{line}"
        );
    }
}

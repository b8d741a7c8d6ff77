//! Shared helpers for integration tests.
#![allow(dead_code)]

pub mod acceptance;
pub mod collectors;
pub mod engine;
pub mod frames;
pub mod ha;
pub mod lab;
pub mod packets;
pub mod pair;
pub mod replay;

use std::path::PathBuf;

/// The public capture corpus (`../shared/pcaps`, read in place), or `SESSMGR_PCAPS`.
pub fn pcaps_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SESSMGR_PCAPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/pcaps"));
    dir.is_dir().then_some(dir)
}

/// In CI a missing prerequisite is a failure; elsewhere the test says why it skips.
pub fn skip_or_fail(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("required in CI: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// The project's own demo capture, then every capture of the public corpus (sorted). When the
/// corpus is absent: fails in CI, says why elsewhere, and returns the demo capture alone.
pub fn all_captures() -> Vec<PathBuf> {
    let mut captures = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/demo.pcap")];
    match pcaps_dir() {
        Some(dir) => {
            let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            v.retain(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("pcap" | "pcapng" | "cap")
                )
            });
            v.sort();
            captures.extend(v);
        }
        None => skip_or_fail("../shared/pcaps is not beside the repository"),
    }
    captures
}

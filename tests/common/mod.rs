//! Shared helpers for integration tests.
#![allow(dead_code)]

pub mod packets;

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

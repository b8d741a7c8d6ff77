//! Restart without losing sessions (issue #16 §3): at a clean stop every core's sessions and
//! relation entries go to the state file (`sync::statefile`); at the next start, before the
//! first packet is read, what has not expired in between is installed again on the core its
//! hash chooses, each session's age grown by the time the engine was down. TCP sessions come
//! back with their window checks off (`TcpTrack::pick_up`): the windows moved while nobody
//! watched. The file is removed once restored, so a later crash never brings back a table
//! older than the one it lost.

use super::core::CoreExit;
use crate::config::{Backend, Config};
use crate::infocenter::{InfoCenter, Message, severity, wall_ms};
use crate::io::owner_core;
use crate::pipeline::Pipeline;
use crate::sync::statefile::{self, Writer};
use crate::table::image::{Installed, SyncItem};
use slog::{Logger, info, warn};
use std::path::{Path, PathBuf};

/// Where the state file is, when it is on: `run` with a real back-end (a capture played back
/// is a demo, whose sessions mean nothing at the next start).
pub fn state_file(cfg: &Config) -> Option<PathBuf> {
    if !cfg.restart.save_sessions || matches!(cfg.runtime.backend, Backend::Pcap { .. }) {
        return None;
    }
    Some(cfg.restart.file.clone().unwrap_or_else(|| {
        let mut p = cfg.runtime.startup_config.clone().into_os_string();
        p.push(".sessions");
        PathBuf::from(p)
    }))
}

/// What a restore did (for the log line and tests).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    pub sessions: u64,
    pub expired: u64,
    pub full: u64,
    pub relations: u64,
    pub down_ms: u64,
}

/// Reads, checks and installs the state file into the cores' pipelines (not yet running).
/// A missing file is a first start; a damaged one is refused whole, said in the log, and the
/// engine starts empty.
pub fn restore(path: &Path, pipelines: &mut [Pipeline], logger: &Logger, info: &InfoCenter) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            warn!(logger, "state file refused: cannot read it, starting empty"; "file" => path.display().to_string(), "error" => e.to_string());
            return;
        }
    };
    let now_ms = wall_ms();
    match install_all(&bytes, pipelines, now_ms) {
        Ok(r) => {
            info!(logger, "sessions restored from the state file"; "file" => path.display().to_string(), "sessions" => r.sessions, "relation_entries" => r.relations, "expired_while_down" => r.expired, "not_installed_table_full" => r.full, "down_ms" => r.down_ms);
            info.publish(Message::event(
                now_ms,
                severity::NOTIFICATION,
                "SESSION_RESTORE",
                format!(
                    "{} sessions restored after {} ms down ({} expired meanwhile).",
                    r.sessions, r.down_ms, r.expired
                ),
            ));
        }
        Err(e) => {
            warn!(logger, "state file refused, starting with an empty session table"; "file" => path.display().to_string(), "reason" => e.to_string());
            info.publish(Message::event(
                now_ms,
                severity::WARNING,
                "SESSION_RESTORE",
                format!("The state file {} was refused: {e}.", path.display()),
            ));
        }
    }
    // Restored or refused, it has served: a later crash must not bring it back.
    let _ = std::fs::remove_file(path);
}

/// Installs a state file's items; nothing is installed unless the whole file checks.
pub fn install_all(
    bytes: &[u8],
    pipelines: &mut [Pipeline],
    now_ms: u64,
) -> Result<Restored, statefile::StateFileError> {
    let saved = statefile::check(bytes)?;
    // Every block parses before the first install: a file damaged in its middle is refused
    // whole, not half restored.
    saved.for_each_block(|_| {})?;
    let down_ms = now_ms.saturating_sub(saved.saved_at_ms);
    let mut r = Restored {
        down_ms,
        ..Default::default()
    };
    let cores = pipelines.len();
    for p in pipelines.iter_mut() {
        p.shard.set_clock(now_ms * 1_000_000);
    }
    let mut relations = Vec::new();
    saved.for_each_block(|items| {
        for i in items {
            let (s, d) = i.owner_addresses();
            let shard = &mut pipelines[owner_core(s, d, cores)].shard;
            match &i {
                SyncItem::Session(img) => {
                    match shard.install(img, u64::from(img.age_ms) + down_ms) {
                        Installed::Created | Installed::Updated => r.sessions += 1,
                        Installed::Expired => r.expired += 1,
                        Installed::Full => r.full += 1,
                    }
                }
                SyncItem::Relation(_) => relations.push(i),
                SyncItem::Delete(_) => {}
            }
        }
    })?;
    // Entries after every session: their masters must be there first.
    for i in &relations {
        if let SyncItem::Relation(rel) = i {
            let mut rel = *rel;
            let left = u64::from(rel.ttl_ms).saturating_sub(down_ms);
            if left == 0 {
                continue;
            }
            rel.ttl_ms = left as u32;
            let (s, d) = i.owner_addresses();
            if pipelines[owner_core(s, d, cores)]
                .shard
                .install_relation(&rel)
            {
                r.relations += 1;
            }
        }
    }
    Ok(r)
}

/// Writes every core's saved sessions and entries to the state file, atomically.
pub fn save(path: &Path, exits: &[CoreExit], logger: &Logger) {
    let mut w = Writer::new(wall_ms());
    // Sessions first, then relation entries (a restore files masters before their entries).
    for e in exits {
        for i in e.saved.iter().filter(|i| matches!(i, SyncItem::Session(_))) {
            w.push(i);
        }
    }
    for e in exits {
        for i in e
            .saved
            .iter()
            .filter(|i| matches!(i, SyncItem::Relation(_)))
        {
            w.push(i);
        }
    }
    let n = w.items();
    match statefile::write_atomic(path, &w.finish()) {
        Ok(()) => {
            info!(logger, "sessions saved for the next start"; "file" => path.display().to_string(), "items" => n)
        }
        Err(e) => {
            warn!(logger, "the state file could not be written: the next start begins empty"; "error" => e.to_string())
        }
    }
}

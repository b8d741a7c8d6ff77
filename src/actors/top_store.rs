//! Top statistics survive a restart (SPEC T2): `sessmgr run` writes the merged history of
//! every core to `top-statistics.json` beside the startup configuration every minute and at
//! shutdown, and gives it back to a core at start. Replay never reads or writes it.
//!
//! The file is written whole to a temporary file in the same directory, synced, then renamed
//! over the old one: a crash leaves the old file or the new one, never half of one. A file
//! that cannot be read or parsed is reported, moved aside as `top-statistics.json.corrupt`
//! (so the next save does not destroy what the operator may want to look at) and ignored;
//! what it holds is never trusted (`TopHistory::sanitize`).

use crate::mailbox::{CoreMsg, TopMsg};
use crate::table::top::TopHistory;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file's name, beside the startup configuration.
pub const FILE_NAME: &str = "top-statistics.json";
/// How often the history is written.
pub const SAVE_EVERY: Duration = Duration::from_secs(60);
/// Larger than any history this engine writes (a few MB at most), so reading is bounded.
const MAX_FILE_BYTES: u64 = 64 << 20;
/// How long a core has to answer.
const CORE_TIMEOUT: Duration = Duration::from_secs(2);
/// The file format's version.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    history: TopHistory,
}

/// Where the history lives for this startup configuration.
pub fn path_beside(startup: &Path) -> PathBuf {
    startup.with_file_name(FILE_NAME)
}

/// The history in `path`: `Ok(None)` when there is no file, `Err` (what is wrong) when it
/// cannot be used.
pub fn load(path: &Path) -> Result<Option<TopHistory>, String> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot open: {e}")),
    };
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    let file: File = serde_json::from_slice(&bytes).map_err(|e| format!("not a history: {e}"))?;
    if file.version != VERSION {
        return Err(format!(
            "format version {} (this engine reads {VERSION})",
            file.version
        ));
    }
    Ok(Some(file.history.sanitize()))
}

/// Moves an unusable file aside (best effort): returns where it went.
pub fn set_aside(path: &Path) -> Option<PathBuf> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".corrupt");
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside).ok().map(|_| aside)
}

/// Writes `h` to `path` atomically (temporary file in the same directory, sync, rename).
pub fn save(path: &Path, h: &TopHistory) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        let text = serde_json::to_vec(&File {
            version: VERSION,
            history: h.clone(),
        })
        .map_err(std::io::Error::other)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    let r = write();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Every core's history, merged (a core that does not answer in time is left out: `None`
/// then, so that a partial history never overwrites a whole one).
pub fn collect(cores: &[flume::Sender<CoreMsg>]) -> Option<TopHistory> {
    let mut all = TopHistory::default();
    for c in cores {
        let (tx, rx) = flume::bounded(1);
        c.send_timeout(CoreMsg::Top(TopMsg::Snapshot(tx)), CORE_TIMEOUT)
            .ok()?;
        let h = rx.recv_timeout(CORE_TIMEOUT).ok()?;
        all.merge_from(&h);
    }
    Some(all)
}

/// Reads the file at start and gives it to the first core; a problem is logged, never fatal.
pub fn restore(path: &Path, cores: &[flume::Sender<CoreMsg>], logger: &slog::Logger) {
    match load(path) {
        Ok(None) => {}
        Ok(Some(h)) => {
            if let Some(c) = cores.first() {
                let _ = c.send_timeout(CoreMsg::Top(TopMsg::Restore(Box::new(h))), CORE_TIMEOUT);
            }
            slog::info!(logger, "top statistics history restored"; "file" => path.display().to_string());
        }
        Err(why) => {
            let aside = set_aside(path);
            slog::warn!(logger, "top statistics history ignored: the file is unusable"; "file" => path.display().to_string(), "error" => why, "moved_to" => aside.map_or("(not moved)".to_string(), |p| p.display().to_string()));
        }
    }
}

/// Writes the history every `SAVE_EVERY` (driven by the run loop) and at shutdown.
pub struct TopSaver {
    path: PathBuf,
    last: Instant,
}

impl TopSaver {
    pub fn new(path: PathBuf) -> TopSaver {
        TopSaver {
            path,
            last: Instant::now(),
        }
    }

    /// Saves when a minute has passed since the last save.
    pub fn tick(&mut self, cores: &[flume::Sender<CoreMsg>], logger: &slog::Logger) {
        if self.last.elapsed() >= SAVE_EVERY {
            self.save(cores, logger);
        }
    }

    /// Saves what the cores hold now.
    pub fn save(&mut self, cores: &[flume::Sender<CoreMsg>], logger: &slog::Logger) {
        self.last = Instant::now();
        match collect(cores) {
            Some(h) => self.write(&h, logger),
            None => {
                slog::warn!(
                    logger,
                    "top statistics history not saved: a core did not answer"
                )
            }
        }
    }

    /// Writes `h` (at shutdown, from the cores' exits). A history with nothing in it is not
    /// written: an engine that never counted leaves no file.
    pub fn write(&mut self, h: &TopHistory, logger: &slog::Logger) {
        self.last = Instant::now();
        if h.is_empty() {
            return;
        }
        if let Err(e) = save(&self.path, h) {
            slog::warn!(logger, "top statistics history not saved"; "file" => self.path.display().to_string(), "error" => e.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::top::{Bucket, Summary, Window};
    use std::net::{IpAddr, Ipv4Addr};

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sessmgr-top-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn history() -> TopHistory {
        let s = Summary {
            counts: vec![(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 4)],
            total: 4,
            error: 0,
        };
        let mut h = TopHistory::default();
        h.add_minute(&Bucket {
            start_s: 1_780_000_020,
            sources: s.clone(),
            destinations: s,
        });
        h
    }

    #[test]
    fn saved_history_reads_back_and_leaves_no_temporary_file() {
        let d = dir("save");
        let p = path_beside(&d.join("startup.cfg"));
        assert_eq!(load(&p), Ok(None));
        save(&p, &history()).unwrap();
        let back = load(&p).unwrap().unwrap();
        assert_eq!(back, history());
        assert_eq!(
            back.window(Window::LastHour, 1_780_000_030, None)
                .sources
                .total,
            4
        );
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [FILE_NAME]);
    }

    /// A core that answers snapshots with `h` (until its mailbox closes).
    fn core(h: TopHistory) -> flume::Sender<CoreMsg> {
        let (tx, rx) = flume::bounded::<CoreMsg>(4);
        std::thread::spawn(move || {
            while let Ok(m) = rx.recv() {
                if let CoreMsg::Top(TopMsg::Snapshot(reply)) = m {
                    let _ = reply.send(Box::new(h.clone()));
                }
            }
        });
        tx
    }

    #[test]
    fn the_saver_merges_every_core_and_writes_nothing_partial_or_empty() {
        let d = dir("saver");
        let p = d.join(FILE_NAME);
        let log = slog::Logger::root(slog::Discard, slog::o!());
        let mut saver = TopSaver::new(p.clone());
        // Nothing counted anywhere: no file.
        saver.save(&[core(TopHistory::default())], &log);
        assert!(!p.exists());
        // Two cores with the same minute: one history, counts added.
        saver.save(&[core(history()), core(history())], &log);
        let h = load(&p).unwrap().unwrap();
        let w = h.window(Window::LastHour, 1_780_000_030, None);
        assert_eq!(w.sources.count(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))), 8);
        // A core that does not answer: the file is left as it was.
        let (silent, _rx) = flume::bounded::<CoreMsg>(4);
        std::fs::write(&p, b"kept").unwrap();
        saver.save(&[core(history()), silent], &log);
        assert_eq!(std::fs::read(&p).unwrap(), b"kept");
    }

    #[test]
    fn a_corrupt_file_is_an_error_never_a_panic() {
        let d = dir("corrupt");
        let p = d.join(FILE_NAME);
        for bad in [
            &b""[..],
            b"{",
            b"[1,2,3]",
            b"{\"version\":1,\"history\":{\"minutes\":7}}",
            b"{\"version\":2,\"history\":{\"minutes\":[],\"hours\":[],\"days\":[]}}",
            b"\xff\xfe garbage",
        ] {
            std::fs::write(&p, bad).unwrap();
            assert!(load(&p).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        // Out-of-range content is made right, not trusted.
        std::fs::write(&p, br#"{"version":1,"history":{"minutes":[],"hours":[],"days":[{"start_s":86400,"sources":{"counts":[["10.0.0.1",5]],"total":1,"error":0},"destinations":{"counts":[],"total":0,"error":0}}]}}"#).unwrap();
        let h = load(&p).unwrap().unwrap();
        assert_eq!(h.minutes.len(), 60);
        assert_eq!(h.days.iter().flatten().count(), 1);
        assert!(h.days.iter().flatten().all(|b| b.sources.total == 5));
        let aside = set_aside(&p).unwrap();
        assert!(aside.ends_with("top-statistics.json.corrupt"));
        assert!(!p.exists());
    }
}

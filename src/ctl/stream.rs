//! `display session table` a chunk at a time: a large table is never copied whole. The console
//! keeps where the display has got to (the core being read, its slot cursor, the sessions
//! counted, the output filter's state) and asks for the next chunk when the operator wants
//! more (`---- More ----`) or, with paging off, right away.
//!
//! Cores are read one after the other, each from its first slot to its last, so the rows come
//! in the order a single collection of every core's rows would give: a table that fits in one
//! chunk reads exactly as it did before paging existed.
//!
//! A core answers one bounded page per message (`query::PAGE_ROWS` rows, `SCAN_LIVE`
//! sessions, `SCAN_SLOTS` slots: well under a millisecond between its batches). The console asks for the next page before
//! it renders the one it has, so the core copies while the console renders; with paging on a
//! chunk is a few screens (the first screen comes at once), with paging off it is as large as
//! `BULK_ROWS`/`BULK_OUTPUT` allow, so a full listing pays a round trip to the client per
//! tens of thousands of rows instead of per 64.

use super::display_json;
use super::engine::{Engine, Pending};
use super::pipe::{OutputPipe, PipeState};
use super::render::{render_session, render_session_total};
use crate::mailbox::CoreMsg;
use crate::proto::wire::Family;
use crate::table::query::{RowsPage, SessionFilter};

/// Rows one chunk shows at least (unless the table ends first) when the output is paged: a
/// few screens' worth.
pub const CHUNK_ROWS: usize = 64;
/// Paging off (`screen-length disable`): rows one chunk shows at most (a fraction of a second
/// of rendering, so one `more` never holds the console's thread long)...
pub const BULK_ROWS: usize = 32_768;
/// ... and the output (after the `|` filters) past which a chunk ends: one answer line to the
/// client stays a few megabytes at most.
pub const BULK_OUTPUT: usize = 1 << 20;

/// Rows one chunk carries at most when the client asked for the data as JSON (`sessmgr exec
/// --json`): a JSON row is several times its text, and one answer line stays a few megabytes.
pub const DATA_ROWS: usize = 4096;

/// A display in progress.
pub struct TableStream {
    family: Family,
    /// Boxed as in the message to the cores (the console's `Output` stays small).
    filter: Box<SessionFilter>,
    pipe: OutputPipe,
    pipe_state: PipeState,
    /// Paging on (chunks of `CHUNK_ROWS`) or off (chunks of up to `BULK_ROWS`).
    paged: bool,
    /// The core whose next page is to be read and the slot that page starts at.
    core: usize,
    cursor: u32,
    /// That page, when it has already been asked for.
    asked: Option<Pending<RowsPage>>,
    /// Sessions shown so far (the `Total sessions found` line).
    found: u64,
    /// One page rendered, before the `|` filters (reused from page to page).
    text: String,
    /// The rows of the current chunk as JSON, when the client asked for data (`with_data`);
    /// `None` for an operator's console, which pays nothing for it.
    data: Option<Vec<serde_json::Value>>,
    /// The current chunk is the last: its data carries the total.
    data_done: bool,
}

impl TableStream {
    pub fn new(family: Family, filter: SessionFilter) -> TableStream {
        TableStream {
            family,
            filter: Box::new(filter),
            pipe: OutputPipe::default(),
            pipe_state: PipeState::default(),
            paged: true,
            core: 0,
            cursor: 0,
            asked: None,
            found: 0,
            text: String::new(),
            data: None,
            data_done: false,
        }
    }

    /// Whether each chunk also carries its rows as JSON (`take_data`), for `sessmgr exec
    /// --json`. Chunks are then at most `DATA_ROWS` rows.
    pub fn with_data(mut self, on: bool) -> TableStream {
        self.data = on.then(Vec::new);
        self
    }

    /// The current chunk's rows as JSON (`{"sessions": [...]}`; the last chunk adds
    /// `"sessions_found"`, the `Total sessions found` of the text), when asked for.
    pub fn take_data(&mut self) -> Option<serde_json::Value> {
        let rows = std::mem::take(self.data.as_mut()?);
        let mut chunk = serde_json::json!({ "sessions": rows });
        if self.data_done {
            chunk["sessions_found"] = self.found.into();
        }
        Some(chunk)
    }

    /// The display through the command's `|` filters, which keep their state from chunk
    /// to chunk.
    pub fn through(mut self, pipe: OutputPipe) -> TableStream {
        self.pipe = pipe;
        self
    }

    /// Whether the operator's terminal pages the output (`screen-length`): if not, chunks
    /// are large, as nobody reads the first screen before the rest comes.
    pub fn paged(mut self, paged: bool) -> TableStream {
        self.paged = paged;
        self
    }

    /// Asks the current core for its page at the cursor, at most `limit` rows.
    fn ask(&self, engine: &Engine, limit: usize) -> Option<Pending<RowsPage>> {
        engine.send_core(self.core, |reply| CoreMsg::Rows {
            family: Some(self.family),
            filter: self.filter.clone(),
            from: self.cursor,
            limit,
            reply,
        })
    }

    /// The next chunk of output (already through the `|` filters) and whether more follows.
    ///
    /// Paged, a chunk ends once it holds `CHUNK_ROWS` lines of output *after* the filters:
    /// `| include Total` at a terminal (paging on, Comware's default) walks the table in
    /// bulk pages, not a round trip to the client per 64 sessions walked, while an unfiltered
    /// display still answers its first screen from one small page.
    pub fn next_chunk(&mut self, engine: &Engine) -> (String, bool) {
        let mut out = String::new();
        let mut rows = 0;
        let mut lines = 0;
        let max_rows = if self.data.is_some() {
            DATA_ROWS
        } else {
            BULK_ROWS
        };
        let enough = |rows: usize, lines: usize, out: &str| {
            rows >= max_rows || out.len() >= BULK_OUTPUT || (self.paged && lines >= CHUNK_ROWS)
        };
        while !enough(rows, lines, &out) && self.core < engine.cores.len() {
            // The first page of a paged chunk is one screenful; every other page is as large
            // as a core gives (`query::PAGE_ROWS`).
            let limit = if self.paged && rows == 0 {
                CHUNK_ROWS
            } else {
                max_rows - rows
            };
            // A core that is gone or not answering is skipped (as an empty shard).
            let asked = self.asked.take().or_else(|| self.ask(engine, limit));
            let page = asked.and_then(Pending::wait).unwrap_or_default();
            match page.next {
                Some(slot) => self.cursor = slot,
                None => {
                    self.core += 1;
                    self.cursor = 0;
                }
            }
            let page_rows = page.rows.iter().filter(|r| r.family == self.family);
            rows += page_rows.clone().count();
            // The next page is copied by its core while this one renders (kept for the next
            // chunk when this one turns out to be enough).
            if rows < max_rows && self.core < engine.cores.len() {
                self.asked = self.ask(engine, max_rows - rows);
            }
            self.text.clear();
            for row in page_rows {
                render_session(row, self.filter.verbose, 0, &mut self.text);
                if let Some(data) = self.data.as_mut() {
                    data.push(display_json::session_row(row, self.filter.verbose, 0));
                }
                self.found += 1;
            }
            let shown = self.pipe.apply_piece(&mut self.pipe_state, &self.text);
            lines += shown.bytes().filter(|&b| b == b'\n').count();
            out += &shown;
        }
        let done = self.core >= engine.cores.len();
        self.data_done = done;
        if done {
            self.text.clear();
            render_session_total(self.found, &mut self.text);
            out += &self.pipe.apply_piece(&mut self.pipe_state, &self.text);
        }
        (out, !done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctl::exec::Console;
    use crate::ctl::render::render_session_table;
    use crate::ctl::running::Running;
    use crate::pipeline::Pipeline;
    use crate::proto::frag::FragLimits;
    use crate::proto::key::FlowHasher;
    use crate::proto::wire::LinkType;
    use crate::table::TableConfig;
    use crate::table::query::rows_page;
    use std::sync::Arc;

    const T0: u64 = 1_700_000_000_000_000_000;

    /// Ethernet + IPv4 + UDP, flow `i` of `net` (10.net.x.y:1024+i -> 198.18.0.1:53).
    fn udp(net: u8, i: u16) -> [u8; 42] {
        let mut f = [0u8; 42];
        f[12] = 0x08;
        f[14] = 0x45;
        f[16..18].copy_from_slice(&28u16.to_be_bytes());
        f[22] = 64;
        f[23] = 17;
        f[26..30].copy_from_slice(&[10, net, (i >> 8) as u8, i as u8]);
        f[30..34].copy_from_slice(&[198, 18, 0, 1]);
        f[34..36].copy_from_slice(&(1024 + i).to_be_bytes());
        f[36..38].copy_from_slice(&53u16.to_be_bytes());
        f[38..40].copy_from_slice(&8u16.to_be_bytes());
        f
    }

    fn pipeline(core: u8, net: u8, flows: u16) -> Pipeline {
        let mut p = Pipeline::new(
            core,
            TableConfig::default(),
            FragLimits::default(),
            FlowHasher::with_seed(1),
        );
        for i in 0..flows {
            p.process_frame(LinkType::Ethernet, &udp(net, i), T0);
        }
        p
    }

    /// Every row of a shard, page after page (a page copies `PAGE_ROWS` at most).
    fn every_row(p: &Pipeline) -> Vec<crate::table::query::SessionRow> {
        let (mut rows, mut from) = (Vec::new(), Some(0));
        while let Some(slot) = from {
            let page = rows_page(&p.shard, None, &SessionFilter::default(), slot, usize::MAX);
            assert!(page.rows.len() <= crate::table::query::PAGE_ROWS);
            rows.extend(page.rows);
            from = page.next;
        }
        rows
    }

    /// An engine whose cores are threads answering `Views` from their own pipeline, and the
    /// rows a single unpaged collection of every core would give.
    fn engine(flows: &[u16]) -> (Arc<Engine>, Vec<crate::table::query::SessionRow>) {
        let mut cores = Vec::new();
        let mut all = Vec::new();
        for (c, &n) in flows.iter().enumerate() {
            let p = pipeline(c as u8, c as u8, n);
            let rows = every_row(&p);
            assert_eq!(rows.len(), usize::from(n));
            all.extend(rows);
            let (tx, rx) = flume::unbounded::<CoreMsg>();
            std::thread::spawn(move || {
                while let Ok(msg) = rx.recv() {
                    if let CoreMsg::Rows {
                        family,
                        filter,
                        from,
                        limit,
                        reply,
                    } = msg
                    {
                        let _ = reply.send(rows_page(&p.shard, family, &filter, from, limit));
                    }
                }
            });
            cores.push(tx);
        }
        let running = Running {
            sysname: "S".into(),
            table: TableConfig::default(),
            acls: Vec::new(),
            persistent: [None, None],
            interfaces: Vec::new(),
            filters: Vec::new(),
            log_bindings: Vec::new(),
            export: Default::default(),
            alarms: Default::default(),
            logbuffer_size: crate::infocenter::LOGBUFFER_DEFAULT,
            rbm: None,
        };
        let e = Engine::new(
            cores,
            running,
            std::env::temp_dir().join("sessmgr-stream-test.cfg"),
        );
        (Arc::new(e), all)
    }

    /// Every chunk of `line`'s output, joined, and how many chunks there were.
    fn chunks(console: &mut Console, line: &str) -> (String, usize) {
        let mut r = console.line(line);
        let (mut out, mut n) = (r.output.clone(), 1);
        while r.more {
            r = console.more();
            out += &r.output;
            n += 1;
        }
        (out, n)
    }

    #[test]
    fn chunks_read_as_the_whole_table() {
        let (engine, rows) = engine(&[150, 0, 40]);
        let mut c = Console::new(engine);
        for verbose in [false, true] {
            let line = format!(
                "display session table ipv4{}",
                if verbose { " verbose" } else { "" }
            );
            let whole = render_session_table(&rows, verbose, Family::V4, 0);
            let (out, n) = chunks(&mut c, &line);
            assert_eq!(out, whole);
            assert!(out.ends_with("Total sessions found: 190\n"), "{out}");
            assert!(n >= 190 / CHUNK_ROWS, "{n} chunks");
            // The `|` filters keep their state from chunk to chunk.
            for pipe in [
                " | begin 10.2.0.5",
                " | include Protocol",
                " | by-linenum begin 10.0.0.99 | exclude Responder",
            ] {
                let p = c
                    .terminal
                    .parse(&format!("{line}{pipe}"))
                    .unwrap()
                    .unwrap()
                    .pipe;
                let (out, _) = chunks(&mut c, &format!("{line}{pipe}"));
                assert_eq!(out, p.apply(&whole), "{pipe}");
            }
        }
    }

    #[test]
    fn stop_and_a_new_line_drop_the_rest() {
        let (engine, _) = engine(&[200]);
        let mut c = Console::new(engine);
        let r = c.line("display session table ipv4");
        assert!(r.more);
        assert!(!r.output.contains("Total sessions found"));
        c.stop();
        let r = c.more();
        assert!(!r.more && r.output.is_empty());
        assert!(c.line("display session table ipv4").more);
        let r = c.line("display version");
        assert!(!r.more);
        assert!(c.more().output.is_empty());
        // A filter that selects nothing still ends with the total.
        let (out, _) = chunks(&mut c, "display session table ipv4 destination-port 80");
        assert_eq!(out, "Total sessions found: 0\n");
    }

    /// Paging off, a listing comes in large chunks, the next page asked of its core before
    /// the current one renders: still every session exactly once, in the order of one
    /// unpaged collection, with the total and the filters' state right across chunks.
    #[test]
    fn paging_off_lists_every_session_once_across_two_cores() {
        let (engine, rows) = engine(&[9000, 7000]);
        let mut c = Console::new(engine.clone());
        // Paging on: the first screen is a small chunk.
        let first = c.line("display session table ipv4");
        assert!(first.more);
        assert_eq!(first.output.matches("Initiator:").count(), CHUNK_ROWS);
        c.stop();
        // Paging on, a filter that shows little does not cost a chunk per 64 sessions: a
        // chunk ends at a screenful of output, not of sessions walked.
        let (out, n) = chunks(&mut c, "display session table ipv4 | include Total");
        assert_eq!(out, "Total sessions found: 16000\n");
        assert!(n < 16_000 / CHUNK_ROWS / 8, "paging on: {n} chunks");
        assert!(c.line("screen-length disable").output.is_empty());
        let whole = render_session_table(&rows, false, Family::V4, 0);
        let (out, n) = chunks(&mut c, "display session table ipv4");
        assert!(n > 1, "{n} chunks");
        assert_eq!(out, whole);
        let sources: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("  Source      IP/port:"))
            .collect();
        let unique: std::collections::HashSet<&str> = sources.iter().copied().collect();
        assert_eq!((sources.len(), unique.len()), (16_000, 16_000));
        assert!(out.ends_with("Total sessions found: 16000\n"));
        let (out, n) = chunks(&mut c, "display session table ipv4 | include Total");
        assert_eq!(out, "Total sessions found: 16000\n");
        // Fewer, larger chunks than paging on would take (16,000 / 64 = 250).
        assert!(n < 16_000 / CHUNK_ROWS, "{n} chunks");
        let (out, _) = chunks(
            &mut c,
            "display session table ipv4 verbose | include ^Initiator:",
        );
        assert_eq!(out.lines().count(), 16_000);
        // A client that reads everything (a script's transcript) gets large chunks whatever
        // `screen-length` says.
        let mut script = Console::new(engine);
        script.client_pages = false;
        let (out, n) = chunks(&mut script, "display session table ipv4");
        assert_eq!(out, whole);
        assert!(
            n < 16_000 / CHUNK_ROWS / 8,
            "a script's listing: {n} chunks"
        );
    }

    /// An operator's console gets no data; a client that asked for it (`sessmgr exec --json`)
    /// gets every row once, in chunks of at most `DATA_ROWS`, the total on the last, and the
    /// text unchanged.
    #[test]
    fn data_comes_only_when_asked_and_in_bounded_chunks() {
        let (engine, rows) = engine(&[5000, 4000]);
        let mut c = Console::new(engine.clone());
        assert!(c.line("screen-length disable").output.is_empty());
        let r = c.line("display session table ipv4");
        assert!(r.data.is_none());
        c.stop();
        assert!(c.line("display version").data.is_none());

        let mut c = Console::new(engine);
        c.wants_data = true;
        c.client_pages = false;
        assert!(c.line("display version").data.is_some());
        let mut r = c.line("display session table ipv4");
        let (mut text, mut seen, mut chunks) = (String::new(), Vec::new(), 0);
        loop {
            text += &r.output;
            let data = r.data.take().expect("every chunk carries data");
            let part = data["sessions"].as_array().expect("rows");
            assert!(part.len() <= DATA_ROWS, "{} rows", part.len());
            seen.extend(
                part.iter()
                    .map(|row| row["initiator"]["source_port"].clone()),
            );
            chunks += 1;
            if !r.more {
                assert_eq!(data["sessions_found"], 9000);
                break;
            }
            assert!(data.get("sessions_found").is_none());
            r = c.more();
        }
        assert!(chunks >= 9000 / DATA_ROWS, "{chunks} chunks");
        assert_eq!(seen.len(), 9000);
        assert_eq!(text, render_session_table(&rows, false, Family::V4, 0));
    }

    /// A page tests at most `SCAN_LIVE` sessions however few its filter selects, and the
    /// pages of a filtered statistics query still count every selected session once.
    #[test]
    fn pages_are_bounded_by_the_sessions_they_test() {
        use crate::table::query::{SCAN_LIVE, statistics_page};
        let flows = 20_000u16;
        let p = pipeline(0, 0, flows);
        let nothing = SessionFilter {
            destination_port: Some(80),
            ..Default::default()
        };
        let page = rows_page(&p.shard, Some(Family::V4), &nothing, 0, CHUNK_ROWS);
        assert!(page.rows.is_empty());
        let next = page.next.expect("the walk stops after SCAN_LIVE sessions");
        let live_before = every_row(&p)
            .iter()
            .filter(|r| crate::table::session::SessionId::from_u64(r.id).slot < next)
            .count();
        assert_eq!(live_before, SCAN_LIVE);
        let dns = SessionFilter {
            destination_port: Some(53),
            ..Default::default()
        };
        let (mut pages, mut sessions, mut from) = (0, 0, Some(0));
        while let Some(slot) = from {
            let (v, next) = statistics_page(&p.shard, Some(Family::V4), &dns, slot);
            pages += 1;
            sessions += v.sessions;
            from = next;
        }
        assert_eq!(sessions, u64::from(flows));
        assert!(pages > 1, "{pages}");
    }

    #[test]
    fn pages_never_repeat_or_skip_a_session() {
        let p = pipeline(0, 0, 100);
        let f = SessionFilter::default();
        let mut seen = Vec::new();
        let mut from = 0;
        loop {
            let page = rows_page(&p.shard, Some(Family::V4), &f, from, 7);
            assert!(page.rows.len() <= 7);
            seen.extend(page.rows.iter().map(|r| r.id));
            match page.next {
                Some(n) => from = n,
                None => break,
            }
        }
        let all: Vec<u64> = every_row(&p).iter().map(|r| r.id).collect();
        assert_eq!(seen, all);
        assert_eq!(seen.len(), 100);
    }
}

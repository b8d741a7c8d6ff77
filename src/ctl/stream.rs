//! `display session table` a chunk at a time: a large table is never copied whole. The console
//! keeps where the display has got to (the core being read, its slot cursor, the sessions
//! counted, the output filter's state) and asks for the next chunk when the operator wants
//! more (`---- More ----`) or, with paging off, right away.
//!
//! Cores are read one after the other, each from its first slot to its last, so the rows come
//! in the order a single collection of every core's rows would give: a table that fits in one
//! chunk reads exactly as it did before paging existed.

use super::engine::Engine;
use super::pipe::{OutputPipe, PipeState};
use super::render::{render_session, render_session_total};
use crate::mailbox::CoreMsg;
use crate::proto::wire::Family;
use crate::table::query::SessionFilter;

/// Rows one chunk shows at least (unless the table ends first): a few screens' worth.
pub const CHUNK_ROWS: usize = 64;

/// A display in progress.
pub struct TableStream {
    family: Family,
    filter: SessionFilter,
    pipe: OutputPipe,
    pipe_state: PipeState,
    /// The core being read and the slot its next page starts at.
    core: usize,
    cursor: u32,
    /// Sessions shown so far (the `Total sessions found` line).
    found: u64,
}

impl TableStream {
    pub fn new(family: Family, filter: SessionFilter) -> TableStream {
        TableStream {
            family,
            filter,
            pipe: OutputPipe::default(),
            pipe_state: PipeState::default(),
            core: 0,
            cursor: 0,
            found: 0,
        }
    }

    /// The display through the command's `|` filters, which keep their state from chunk
    /// to chunk.
    pub fn through(mut self, pipe: OutputPipe) -> TableStream {
        self.pipe = pipe;
        self
    }

    /// The next chunk of output (already through the `|` filters) and whether more follows.
    pub fn next_chunk(&mut self, engine: &Engine) -> (String, bool) {
        let mut text = String::new();
        let mut rows = 0;
        while rows < CHUNK_ROWS && self.core < engine.cores.len() {
            // A core that is gone or not answering is skipped (as an empty shard).
            let page = engine
                .ask_core(self.core, |reply| CoreMsg::Rows {
                    family: Some(self.family),
                    filter: Box::new(self.filter.clone()),
                    from: self.cursor,
                    limit: CHUNK_ROWS - rows,
                    reply,
                })
                .unwrap_or_default();
            for row in page.rows.iter().filter(|r| r.family == self.family) {
                render_session(row, self.filter.verbose, 0, &mut text);
                rows += 1;
                self.found += 1;
            }
            match page.next {
                Some(slot) => self.cursor = slot,
                None => {
                    self.core += 1;
                    self.cursor = 0;
                }
            }
        }
        let done = self.core >= engine.cores.len();
        if done {
            render_session_total(self.found, &mut text);
        }
        (self.pipe.apply_piece(&mut self.pipe_state, &text), !done)
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

    /// An engine whose cores are threads answering `Views` from their own pipeline, and the
    /// rows a single unpaged collection of every core would give.
    fn engine(flows: &[u16]) -> (Arc<Engine>, Vec<crate::table::query::SessionRow>) {
        let mut cores = Vec::new();
        let mut all = Vec::new();
        for (c, &n) in flows.iter().enumerate() {
            let p = pipeline(c as u8, c as u8, n);
            let page = rows_page(&p.shard, None, &SessionFilter::default(), 0, usize::MAX);
            assert_eq!(page.rows.len(), usize::from(n));
            all.extend(page.rows);
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
        let all: Vec<u64> = rows_page(&p.shard, None, &f, 0, usize::MAX)
            .rows
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(seen, all);
        assert_eq!(seen.len(), 100);
    }
}

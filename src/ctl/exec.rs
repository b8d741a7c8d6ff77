//! The console's engine side: one `Console` per connected operator, all sharing the engine
//! and its running configuration. A line goes through the operator's terminal (keys.rs);
//! what the engine has to do, the command's own handler does (commands/); this keeps what
//! is in progress (a session table display, a chunk at a time) and answers the line.

use super::commands::area::Output;
use super::commands::{Action, SystemCmd};
use super::engine::Engine;
use super::files::{Redirect, config_dir};
use super::pipe::OutputPipe;
use super::stream::TableStream;
use super::terminal::{Effect, Terminal};
use std::sync::Arc;

/// One operator's console.
pub struct Console {
    pub terminal: Terminal,
    engine: Arc<Engine>,
    /// A session table display with more to show (`more` continues it).
    pending: Option<TableStream>,
    /// Whether the client shows the output a screen at a time (a terminal). A client that
    /// reads everything (`sessmgr console` fed by a script, a program) says so at `hello`, and
    /// its displays come in large chunks whatever `screen-length` says.
    pub client_pages: bool,
    /// Whether the client wants a display's data as JSON beside its text (`sessmgr exec
    /// --json` says so at `hello`). Interactive consoles do not: their replies carry no data,
    /// and a session table display renders no JSON rows.
    pub wants_data: bool,
    /// This console's id at the information centre (`terminal monitor`).
    pub info_id: u64,
}

impl Drop for Console {
    fn drop(&mut self) {
        self.engine.info.unregister(self.info_id);
    }
}

/// The answer to one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub output: String,
    pub prompt: String,
    pub close: bool,
    /// The output goes on: `Console::more` gives the next chunk, `Console::stop` drops it.
    pub more: bool,
    /// A display command's data as JSON (`Output::Display`), for `sessmgr exec --json`;
    /// only for a console that `wants_data`. A session table display gives it a chunk at a
    /// time (`{"sessions": [...]}`, the last chunk with `"sessions_found"`).
    pub data: Option<serde_json::Value>,
    /// The line was refused: the grammar's `% ... found at '^' position.`, or a handler's
    /// ` % ...` message (`sessmgr exec` exits non-zero).
    pub failed: bool,
}

impl Console {
    pub fn new(engine: Arc<Engine>) -> Console {
        let (sysname, interfaces) = engine
            .running
            .lock()
            .map(|r| (r.sysname.clone(), r.interfaces.clone()))
            .unwrap_or_default();
        let mut terminal = Terminal::new(&sysname);
        terminal.set_interfaces(&interfaces);
        let info_id = engine.info.register();
        Console {
            terminal,
            engine,
            pending: None,
            client_pages: true,
            wants_data: false,
            info_id,
        }
    }

    /// Runs one line as Enter does (a display still in progress is dropped).
    pub fn line(&mut self, line: &str) -> Reply {
        self.pending = None;
        if let Ok(r) = self.engine.running.lock() {
            // Another console may have renamed the device.
            if r.sysname != self.terminal.sysname() {
                let name = r.sysname.clone();
                self.terminal.set_sysname(&name);
            }
        }
        let prompt = self.terminal.prompt();
        let mut data = None;
        let mut failed = false;
        let (output, close) = match self.terminal.execute(line) {
            Err(e) => {
                failed = true;
                (e.caret_lines(&prompt), false)
            }
            Ok(None) => (String::new(), false),
            Ok(Some((cmd, effect))) => {
                let (on, level) = self.terminal.monitor();
                self.engine.info.set_monitor(self.info_id, on, level);
                let output = match effect {
                    Effect::Close => return self.reply(String::new(), true),
                    Effect::Local => cmd.action.terminal_output(&self.terminal),
                    Effect::Forward => cmd.action.run(&self.engine, self.terminal.view()),
                };
                match (output, cmd.redirect) {
                    (Output::Nothing, _) => (String::new(), false),
                    (Output::Text(text), None) => {
                        // A handler refuses with a ` % ...` line (§1.5's layout).
                        failed = text.trim_start().starts_with('%');
                        (cmd.pipe.apply(&text), false)
                    }
                    (Output::Display { text, data: d }, None) => {
                        data = self.wants_data.then_some(d);
                        (cmd.pipe.apply(&text), false)
                    }
                    (Output::Table(stream), None) => {
                        let paged = self.client_pages && self.terminal.screen_length().is_some();
                        self.pending = Some(
                            stream
                                .through(cmd.pipe)
                                .paged(paged)
                                .with_data(self.wants_data),
                        );
                        return self.more();
                    }
                    (output, Some(to)) => (self.redirect(output, cmd.pipe, &to), false),
                }
            }
        };
        let mut reply = self.reply(output, close);
        reply.data = data;
        reply.failed = failed;
        reply
    }

    fn reply(&self, output: String, close: bool) -> Reply {
        Reply {
            output,
            prompt: self.terminal.prompt(),
            close,
            more: false,
            data: None,
            failed: false,
        }
    }

    /// `> FILE` / `>> FILE`: the whole output, through the filters, goes to the file (a
    /// session table a chunk at a time, never whole in memory); the screen shows nothing, or
    /// why the file could not be written.
    fn redirect(&self, output: Output, pipe: OutputPipe, to: &Redirect) -> String {
        let mut file = match to.open(&config_dir(&self.engine.startup)) {
            Ok(f) => f,
            Err(e) => return e,
        };
        let written = match output {
            Output::Nothing => Ok(()),
            Output::Text(text) | Output::Display { text, .. } => file.write(&pipe.apply(&text)),
            Output::Table(stream) => {
                let mut stream = stream.through(pipe).paged(false);
                loop {
                    let (chunk, more) = stream.next_chunk(&self.engine);
                    if let Err(e) = file.write(&chunk) {
                        break Err(e);
                    }
                    if !more {
                        break Ok(());
                    }
                }
            }
        };
        written.err().unwrap_or_default()
    }

    /// The next chunk of the display in progress (empty when there is none).
    pub fn more(&mut self) -> Reply {
        let (output, more) = match self.pending.as_mut() {
            Some(stream) => stream.next_chunk(&self.engine),
            None => (String::new(), false),
        };
        let data = self.pending.as_mut().and_then(TableStream::take_data);
        if !more {
            self.pending = None;
        }
        Reply {
            output,
            prompt: self.terminal.prompt(),
            close: false,
            more,
            data,
            failed: false,
        }
    }

    /// The information centre's messages waiting for console `id` (`terminal monitor`),
    /// oldest first, each a line without its end, and how many it lost since the last call;
    /// `None` when no console has that id. Asked by the console's client on a second
    /// connection, so that a long command on the first never holds them up.
    pub fn messages_of(&self, id: u64) -> Option<(Vec<String>, u64)> {
        self.engine.info.take_console(id)
    }

    /// `q` at `---- More ----`: the rest of the display is not wanted.
    pub fn stop(&mut self) {
        self.pending = None;
    }
}

/// Applies a saved configuration (the text `save` writes) line by line, as an operator typing
/// it in system view would. Returns the lines that failed, with their error.
pub fn apply_startup(engine: Arc<Engine>, text: &str) -> Vec<(usize, String)> {
    let mut console = Console::new(engine);
    let mut failed = Vec::new();
    console.line("system-view");
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line == "return" {
            continue;
        }
        // A section header at column 0 (`acl ...`, `interface ...`) that the view the last
        // section left lacks runs in system view: the terminal tries the views above
        // (`Terminal::resolve`), as for a configuration pasted at the console.
        // A startup configuration configures: it does not write files (`save FILE` would
        // let whoever edits it write any *.cfg file the engine can).
        if saves(&console.terminal, line) {
            failed.push((
                n + 1,
                "% writing a file (`save`, `>`, `>>`) is not a configuration command; skipped"
                    .to_string(),
            ));
            continue;
        }
        let r = console.line(line);
        if r.output.contains('%') {
            failed.push((n + 1, r.output.trim().to_string()));
        }
    }
    failed
}

/// Whether `line`, typed at `terminal`, writes a file: `save` (or its alias `write`), in any
/// abbreviation, or a display redirected with `>` / `>>`.
fn saves(terminal: &Terminal, line: &str) -> bool {
    let mut probe = terminal.clone();
    matches!(
        probe.execute(line),
        Ok(Some((cmd, _))) if matches!(cmd.action, Action::System(SystemCmd::Save { .. }))
            || cmd.redirect.is_some()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::ctl::commands::configuration;
    use crate::ctl::running::Running;

    fn engine(startup: std::path::PathBuf) -> Arc<Engine> {
        Arc::new(Engine::new(
            Vec::new(),
            Running::factory(&Config::default()),
            startup,
        ))
    }

    #[test]
    fn terminal_monitor_routes_messages_to_the_console_that_asked() {
        use crate::infocenter::Message;
        let e = engine("/nonexistent/startup.cfg".into());
        let mut a = Console::new(e.clone());
        let b = Console::new(e.clone());
        let msg = |sev| Message::event(0, sev, "ENGINE_START", "text".into());
        e.info.publish(msg(5));
        assert_eq!(
            b.messages_of(a.info_id),
            Some((vec![], 0)),
            "monitor is off"
        );
        let r = a.line("terminal monitor");
        assert_eq!(
            r.output,
            "The current terminal is enabled to display logs.\n"
        );
        e.info.publish(msg(5));
        let (lines, dropped) = b.messages_of(a.info_id).unwrap();
        assert_eq!(
            (lines, dropped),
            (
                vec!["%Jan  1 00:00:00:000 1970 H3C SESSMGR/5/ENGINE_START: text".to_string()],
                0
            )
        );
        assert_eq!(b.messages_of(b.info_id), Some((vec![], 0)), "b did not ask");
        // Level 4: a notification (5) is not shown, a warning (4) is.
        assert_eq!(a.line("terminal logging level 4").output, "");
        e.info.publish(msg(5));
        e.info.publish(msg(4));
        assert_eq!(b.messages_of(a.info_id).unwrap().0.len(), 1);
        a.line("undo terminal monitor");
        e.info.publish(msg(4));
        assert_eq!(b.messages_of(a.info_id), Some((vec![], 0)));
        // Gone with its console.
        let id = a.info_id;
        drop(a);
        assert_eq!(b.messages_of(id), None);
    }

    #[test]
    fn a_startup_configuration_is_applied_but_never_saves() {
        let dir = std::env::temp_dir().join(format!("sessmgr-startup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let e = engine(dir.join("startup.cfg"));
        let written = dir.join("written.cfg");
        let text = format!(
            "#\n sysname FW1\n save {w}\n sa {w}\n write\n#\nacl advanced 3000\n rule 5 permit tcp\n#\nreturn\n",
            w = written.display()
        );
        let failed = apply_startup(e.clone(), &text);
        assert_eq!(
            failed.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec![3, 4, 5],
            "{failed:?}"
        );
        assert!(
            failed[0].1.contains("not a configuration command"),
            "{failed:?}"
        );
        assert!(!written.exists() && !dir.join("startup.cfg").exists());
        let conf = configuration(&e.running.lock().unwrap());
        assert!(conf.contains(" sysname FW1"), "{conf}");
        assert!(conf.contains("rule 5 permit tcp"), "{conf}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Found by the `config` fuzz target: a device name with spaces was saved unquoted, and
    /// the next start refused it ("Too many parameters").
    #[test]
    fn what_save_writes_is_applied_at_the_next_start_as_it_was() {
        let first = engine("/nonexistent/startup.cfg".into());
        let failed = apply_startup(
            first.clone(),
            "hostname \"= rol_socket = \"]\nsysname \"FW \\\"1\\\" edge\"\n",
        );
        assert!(failed.is_empty(), "{failed:?}");
        let saved = configuration(&first.running.lock().unwrap());
        assert!(
            saved.contains(" sysname \"FW \\\"1\\\" edge\"\n"),
            "{saved}"
        );
        let next = engine("/nonexistent/startup.cfg".into());
        let failed = apply_startup(next.clone(), &saved);
        assert!(failed.is_empty(), "{failed:?}\n{saved}");
        assert_eq!(configuration(&next.running.lock().unwrap()), saved);
    }
}

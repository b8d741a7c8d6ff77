//! The console's engine side: one `Console` per connected operator, all sharing the running
//! configuration. A parsed command becomes queries and messages to every core (answered from
//! each core's own shard between batches, so a console never stalls packet processing) and
//! the Comware layout of the answer.

use super::engine::Engine;
use super::port_mapping_view::{render_pre_defined, render_user_defined};
use super::relation_view::render_relation_table;
use super::render::{
    StatisticsCounts, render_acl, render_aging_application, render_aging_state, render_statistics,
    render_statistics_summary,
};
use super::running::{FilterBinding, acl_text};
use super::stream::TableStream;
use super::terminal::{Effect, Terminal};
use super::tree::{AclTarget, Action};
use super::view::View;
use crate::acl::Acl;
use crate::actors::core::CoreMsg;
use crate::alg::AlgSet;
use crate::proto::wire::Family;
use crate::table::aging::AgingConfig;
use crate::table::apps::PortMapping;
use crate::table::config::SessionMode;
use std::path::PathBuf;
use std::sync::Arc;

/// One operator's console.
pub struct Console {
    pub terminal: Terminal,
    engine: Arc<Engine>,
    /// A session table display with more to show (`more` continues it).
    pending: Option<TableStream>,
}

/// The answer to one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub output: String,
    pub prompt: String,
    pub close: bool,
    /// The output goes on: `Console::more` gives the next chunk, `Console::stop` drops it.
    pub more: bool,
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
        Console {
            terminal,
            engine,
            pending: None,
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
        let (output, close) = match self.terminal.execute(line) {
            Err(e) => (e.caret_lines(&prompt), false),
            Ok(None) => (String::new(), false),
            Ok(Some((cmd, effect))) => match (effect, &cmd.action) {
                (Effect::Close, _) => (String::new(), true),
                (Effect::Local, _) => (self.local(&cmd.action), false),
                (Effect::Forward, Action::DisplaySessionTable { family, filters }) => {
                    self.pending = Some(TableStream::new(*family, filters.clone(), cmd.pipe));
                    return self.more();
                }
                (Effect::Forward, _) => (cmd.pipe.apply(&self.run(&cmd.action)), false),
            },
        };
        Reply {
            output,
            prompt: self.terminal.prompt(),
            close,
            more: false,
        }
    }

    /// The next chunk of the display in progress (empty when there is none).
    pub fn more(&mut self) -> Reply {
        let (output, more) = match self.pending.as_mut() {
            Some(stream) => stream.next_chunk(&self.engine),
            None => (String::new(), false),
        };
        if !more {
            self.pending = None;
        }
        Reply {
            output,
            prompt: self.terminal.prompt(),
            close: false,
            more,
        }
    }

    /// `q` at `---- More ----`: the rest of the display is not wanted.
    pub fn stop(&mut self) {
        self.pending = None;
    }

    fn local(&self, action: &Action) -> String {
        match action {
            Action::DisplayHistory { .. } => {
                self.terminal.history().map(|l| format!("{l}\n")).collect()
            }
            _ => String::new(),
        }
    }

    fn run(&mut self, action: &Action) -> String {
        let engine = self.engine.clone();
        let Ok(mut running) = engine.running.lock() else {
            return " % The engine is not answering.\n".into();
        };
        let mut changed = false;
        let out = match action {
            Action::ResetSessionTable { family, filters } => {
                let _ = engine.ask(|reply| CoreMsg::Reset {
                    family: *family,
                    filter: Box::new(filters.clone()),
                    reply,
                });
                String::new()
            }
            Action::DisplaySessionStatistics {
                summary,
                family,
                filters,
            } => {
                let mut v = StatisticsCounts::default();
                for core in 0..engine.cores.len() {
                    // Page by page when filters make the core walk its shard.
                    let mut from = Some(0u32);
                    while let Some(start) = from {
                        from = None;
                        if let Some((part, next)) =
                            engine.ask_core(core, |reply| CoreMsg::Statistics {
                                family: *family,
                                filter: Box::new(filters.clone()),
                                from: start,
                                reply,
                            })
                        {
                            v.merge(&part);
                            from = next;
                        }
                    }
                }
                // The relation table is the engine's, not a core's: counted once.
                v.relation_entries = match family {
                    Some(f) => engine.relations.count(*f),
                    None => engine.relations.len(),
                } as u64;
                if *summary {
                    render_statistics_summary(&v)
                } else {
                    render_statistics(&v)
                }
            }
            Action::ResetSessionStatistics => {
                engine.tell_all(|| CoreMsg::ResetStatistics);
                String::new()
            }
            Action::DisplayAgingTimeState => render_aging_state(&running.table.aging),
            Action::DisplayAgingTimeApplication => render_aging_application(&running.table.aging),
            Action::SetAgingState { state, seconds } => {
                running.table.aging.state_s[*state as usize] = *seconds;
                changed = true;
                String::new()
            }
            Action::UndoAgingState { state } => {
                let d = AgingConfig::default();
                match state {
                    Some(s) => running.table.aging.state_s[*s as usize] = d.state(*s),
                    None => running.table.aging.state_s = d.state_s,
                }
                changed = true;
                String::new()
            }
            Action::SetAgingApplication { app, seconds } => {
                if let Some(v) = running.table.aging.app_s.get_mut(usize::from(*app)) {
                    *v = Some(*seconds);
                }
                changed = true;
                String::new()
            }
            Action::UndoAgingApplication { app } => {
                let d = AgingConfig::default();
                match app {
                    Some(a) => {
                        if let (Some(v), Some(dv)) = (
                            running.table.aging.app_s.get_mut(usize::from(*a)),
                            d.app_s.get(usize::from(*a)),
                        ) {
                            *v = *dv;
                        }
                    }
                    None => running.table.aging.app_s = d.app_s,
                }
                changed = true;
                String::new()
            }
            Action::SessionPersistentAcl {
                ipv6,
                number,
                hours,
            } => {
                running.persistent[usize::from(*ipv6)] = Some((*number, (*hours).min(360) as u16));
                changed = true;
                String::new()
            }
            Action::UndoSessionPersistentAcl { ipv6 } => {
                running.persistent[usize::from(*ipv6)] = None;
                changed = true;
                String::new()
            }
            Action::SessionModeHybrid | Action::UndoSessionMode => {
                running.table.mode = if matches!(action, Action::SessionModeHybrid) {
                    SessionMode::Hybrid
                } else {
                    SessionMode::Bidirectional
                };
                changed = true;
                String::new()
            }
            Action::SessionStatisticsEnable | Action::UndoSessionStatisticsEnable => {
                running.table.statistics = matches!(action, Action::SessionStatisticsEnable);
                changed = true;
                String::new()
            }
            Action::EnterAcl { ipv6, number, .. } => {
                if running.acl(*ipv6, *number).is_none() {
                    let fam = if *ipv6 { Family::V6 } else { Family::V4 };
                    if let Some(acl) = Acl::new(*number, fam) {
                        running.acls.push(acl);
                        running.acls.sort_by_key(|a| (a.family, a.number));
                    }
                }
                String::new()
            }
            Action::UndoAcl { ipv6, target } => {
                let fam = if *ipv6 { Family::V6 } else { Family::V4 };
                running.acls.retain(|a| {
                    a.family != fam || matches!(target, AclTarget::Number(n) if *n != a.number)
                });
                changed = true;
                String::new()
            }
            Action::AclRule(_) | Action::UndoRule(_) => {
                let View::Acl { ipv6, number, .. } = self.terminal.view().clone() else {
                    return " % Rules are configured in an ACL view.\n".into();
                };
                let fam = if ipv6 { Family::V6 } else { Family::V4 };
                let msg = match running
                    .acls
                    .iter_mut()
                    .find(|a| a.family == fam && a.number == number)
                {
                    Some(acl) => match action {
                        Action::AclRule(text) => acl
                            .add_rule(text)
                            .err()
                            .map(|e| format!(" % {}\n", e.reason)),
                        Action::UndoRule(id) => {
                            let before = acl.rules.len();
                            acl.rules.retain(|r| r.id != *id);
                            (acl.rules.len() == before)
                                .then(|| format!(" % Rule {id} does not exist.\n"))
                        }
                        _ => None,
                    },
                    None => Some(" % The ACL does not exist.\n".into()),
                };
                changed = true;
                msg.unwrap_or_default()
            }
            Action::DisplayAcl { ipv6, target } => {
                let fam = if *ipv6 { Family::V6 } else { Family::V4 };
                let mut out = String::new();
                for acl in running.acls.iter().filter(|a| a.family == fam) {
                    if matches!(target, AclTarget::All)
                        || matches!(target, AclTarget::Number(n) if *n == acl.number)
                    {
                        out.push_str(&render_acl(acl));
                    }
                }
                out
            }
            Action::Sysname(name) => {
                running.sysname = name.clone();
                String::new()
            }
            Action::UndoSysname => {
                running.sysname = super::terminal::DEFAULT_SYSNAME.to_string();
                self.terminal.set_sysname(super::terminal::DEFAULT_SYSNAME);
                String::new()
            }
            Action::DisplayCurrentConfiguration => running.config_text(),
            Action::DisplayThis => match self.terminal.view() {
                View::Acl { ipv6, number, .. } => {
                    running
                        .acl(*ipv6, *number)
                        .map(acl_text)
                        .unwrap_or_default()
                        + "#\nreturn\n"
                }
                View::Interface { name } => {
                    let text = running.interface_text(name);
                    let text = if text.is_empty() {
                        format!("interface {name}\n")
                    } else {
                        text
                    };
                    format!("#\n{text}#\nreturn\n")
                }
                _ => running.config_text(),
            },
            Action::Save { file, .. } => {
                let path = file
                    .as_ref()
                    .map_or_else(|| engine.startup.clone(), PathBuf::from);
                match std::fs::write(&path, running.config_text()) {
                    Ok(()) => format!(
                        "Saved the current configuration to {} successfully.\n",
                        path.display()
                    ),
                    Err(e) => format!(
                        " % Failed to save the configuration to {}: {e}\n",
                        path.display()
                    ),
                }
            }
            Action::DisplayRelationTable { family } => {
                let rel = &engine.relations;
                render_relation_table(&rel.entries(*family), rel.clock_ms())
            }
            Action::ResetRelationTable { family } => {
                engine.relations.reset(*family);
                String::new()
            }
            Action::Alg { alg, on } => {
                match alg {
                    Some(id) => running.table.algs.set(*id, *on),
                    None => {
                        running.table.algs = if *on { AlgSet::ALL } else { AlgSet::NONE };
                    }
                }
                changed = true;
                String::new()
            }
            Action::EnterInterface { .. } => String::new(),
            Action::PortMapping {
                app,
                port,
                proto,
                on,
            } => {
                let map = &mut running.table.port_map;
                // The same port and protocol mapped again: the new application overwrites.
                map.retain(|m| !(m.port == *port && m.proto == *proto && (*on || m.app == *app)));
                if *on {
                    map.push(PortMapping {
                        app: *app,
                        port: *port,
                        proto: *proto,
                    });
                }
                changed = true;
                String::new()
            }
            Action::DisplayPortMapping { user } => {
                if *user {
                    render_user_defined(&running.table.port_map)
                } else {
                    render_pre_defined()
                }
            }
            Action::PacketFilter {
                ipv6,
                number,
                inbound,
                on,
            } => {
                let View::Interface { name } = self.terminal.view().clone() else {
                    return " % Packet filters are configured in an interface view.\n".into();
                };
                let binding = FilterBinding {
                    interface: name,
                    ipv6: *ipv6,
                    number: *number,
                    inbound: *inbound,
                };
                // One ACL per family and direction on an interface: a new one replaces it.
                let same_slot = |b: &FilterBinding| {
                    b.interface == binding.interface
                        && b.ipv6 == binding.ipv6
                        && b.inbound == binding.inbound
                };
                if *on {
                    running.filters.retain(|b| !same_slot(b));
                    running.filters.push(binding);
                } else {
                    running
                        .filters
                        .retain(|b| !(same_slot(b) && b.number == binding.number));
                }
                changed = true;
                String::new()
            }
            Action::DisplayVersion => {
                format!(
                    "sessmgr, a Comware-style stateful session engine\nVersion {}\n",
                    env!("CARGO_PKG_VERSION")
                )
            }
            _ => String::new(),
        };
        if changed {
            engine.push_config(&running);
        }
        out
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
        // A line at column 0 is a system-view command (an ACL header); an indented one belongs to
        // the view the last header opened, or to system view.
        if !raw.starts_with(' ')
            || !matches!(
                console.terminal.view(),
                View::Acl { .. } | View::Interface { .. }
            )
        {
            while !matches!(console.terminal.view(), View::System) {
                if console.line("quit").close {
                    break;
                }
            }
        }
        let r = console.line(line);
        if r.output.contains('%') {
            failed.push((n + 1, r.output.trim().to_string()));
        }
    }
    failed
}

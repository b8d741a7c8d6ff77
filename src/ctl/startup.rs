//! Where the running configuration comes from when `sessmgr run` starts (SPEC C4): one model,
//! as on a Comware box.
//!
//! - The startup configuration (Comware text: what `save` writes, `runtime.startup_config`)
//!   *is* the configuration. It is applied over the factory defaults, line by line as an
//!   operator would type it, before the first packet is read.
//! - config.toml holds what a device's hardware and boot settings would: the back-end,
//!   interfaces, cores, the table's capacity, the control socket, file paths, fragment pools.
//! - config.toml's other `[session]` keys and its `[[acl]]` sections only *seed* a device that
//!   has no startup configuration yet (a first start, or one after the file was removed).
//!   Once a startup file exists they are ignored, and the engine says so at start, so an
//!   `undo` that `save` kept is never undone by config.toml at the next start.

use super::commands::{AclCmd, Action, configuration};
use super::engine::Engine;
use super::exec::apply_startup;
use super::running::Running;
use super::terminal::{DEFAULT_SYSNAME, Terminal};
use super::view::View;
use crate::acl::Acl;
use crate::config::Config;
use crate::proto::wire::Family;
use crate::table::config::PersistentRule;
use std::path::PathBuf;
use std::sync::Arc;

/// The configuration an engine starts with, and where it came from.
#[derive(Debug, Clone)]
pub struct Startup {
    pub running: Running,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The startup file, applied over the factory defaults.
    File {
        path: PathBuf,
        /// Lines the console refused (1-based line number, the console's answer).
        refused: Vec<(usize, String)>,
        /// config.toml has seed settings (`[session]` beyond the capacity, `[[acl]]`) that
        /// differ from the factory defaults: ignored, because the file exists.
        seed_ignored: bool,
    },
    /// No startup file yet: config.toml's seed settings.
    Seed { path: PathBuf },
}

/// Reads the startup configuration of `cfg` (or, when it does not exist, config.toml's seed).
/// A startup file that exists but cannot be read is an error: starting without it would
/// start without its packet filters.
pub fn startup_configuration(cfg: &Config) -> Result<Startup, String> {
    let path = cfg.runtime.startup_config.clone();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Startup {
                running: seed(cfg),
                source: Source::Seed { path },
            });
        }
        Err(e) => {
            return Err(format!(
                "cannot read the startup configuration {}: {e}",
                path.display()
            ));
        }
    };
    let (running, refused) = apply_over_factory(cfg, &text);
    let seed_ignored = configuration(&seed(cfg)) != configuration(&Running::factory(cfg));
    Ok(Startup {
        running,
        source: Source::File {
            path,
            refused,
            seed_ignored,
        },
    })
}

/// The configuration config.toml seeds while no startup file exists: its `[session]` settings
/// and `[[acl]]` sections, the default device name, the configured interfaces.
pub fn seed(cfg: &Config) -> Running {
    let rule = |p: Option<&PersistentRule>| p.map(|p| (p.acl.number, p.hours));
    let mut acls: Vec<Acl> = cfg.acls.iter().map(canonical_rules).collect();
    // In the console's order (family, number), whatever config.toml's order: the text
    // `save` writes lists them so, and the next start must give the same text back.
    acls.sort_by_key(|a| (a.family, a.number));
    Running {
        sysname: DEFAULT_SYSNAME.to_string(),
        table: cfg.table.clone(),
        acls,
        persistent: [
            rule(cfg.table.persistent_v4.as_ref()),
            rule(cfg.table.persistent_v6.as_ref()),
        ],
        interfaces: cfg.runtime.interface_names(),
        filters: Vec::new(),
        log_bindings: Vec::new(),
        export: Default::default(),
        alarms: Default::default(),
        logbuffer_size: crate::infocenter::LOGBUFFER_DEFAULT,
        rbm: None,
    }
}

/// config.toml's rules of `acl` as the console writes them (`rule 10 Deny udp` becomes
/// `rule 10 deny udp`), so that `save` writes them as the next start's console reads them back.
/// A rule the console would not take keeps its text.
fn canonical_rules(acl: &Acl) -> Acl {
    let mut terminal = Terminal::new(DEFAULT_SYSNAME);
    terminal.enter_view(View::Acl {
        ipv6: acl.family == Family::V6,
        kind: acl.kind,
        number: acl.number,
    });
    let mut out = acl.clone();
    for rule in &mut out.rules {
        if let Ok(Some((cmd, _))) = terminal.execute(&rule.text)
            && let Action::Acl(AclCmd::Rule(text)) = cmd.action
        {
            rule.text = text;
        }
    }
    out
}

/// `text` applied over the factory defaults of `cfg`'s device, by a console of an engine
/// without cores (nothing reaches a core: the cores are started with the result).
pub fn apply_over_factory(cfg: &Config, text: &str) -> (Running, Vec<(usize, String)>) {
    apply_over(Running::factory(cfg), cfg, text)
}

/// `text` applied over `base` by a console of an engine without cores.
fn apply_over(base: Running, cfg: &Config, text: &str) -> (Running, Vec<(usize, String)>) {
    let engine = Arc::new(Engine::new(
        Vec::new(),
        base.clone(),
        cfg.runtime.startup_config.clone(),
    ));
    let refused = apply_startup(engine.clone(), text);
    let running = engine.running.lock().map(|r| r.clone()).unwrap_or(base);
    (running, refused)
}

pub use crate::config::CAPTURE_INTERFACE;

/// The configuration a replay runs under (`sessmgr replay --startup FILE`): the device of
/// `cfg` with one interface, `capture`, and `text` applied over its factory defaults as
/// `run` applies a startup file; without a file, config.toml's seed, as `run` without one.
/// A line the console refuses is an error naming it: a forensic replay under a
/// configuration other than the one written would answer a different question.
pub fn replay_configuration(cfg: &Config, text: Option<&str>) -> Result<Running, String> {
    let mut base = match text {
        Some(_) => Running::factory(cfg),
        None => seed(cfg),
    };
    base.interfaces = vec![CAPTURE_INTERFACE.to_string()];
    let Some(text) = text else {
        return Ok(base);
    };
    let (running, refused) = apply_over(base, cfg, text);
    if let Some((line, answer)) = refused.first() {
        return Err(format!(
            "line {line} was refused: {}{}",
            answer.trim(),
            if refused.len() > 1 {
                format!(" (and {} more lines)", refused.len() - 1)
            } else {
                String::new()
            }
        ));
    }
    Ok(running)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path, session: &str) -> Config {
        let mut cfg = Config::parse(&format!(
            "{session}\n[runtime]\nstartup_config = \"{}\"\n",
            dir.join("startup.cfg").display()
        ))
        .expect("config");
        cfg.runtime.startup_config = dir.join("startup.cfg");
        cfg
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sessmgr-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    /// Found by the `config` fuzz target: a config.toml rule kept its spelling (`Deny`), the
    /// console's copy of it after a restart did not, so a restart changed the configuration.
    #[test]
    fn config_toml_rules_are_kept_as_the_console_writes_them() {
        let cfg = Config::parse(
            "[[acl]]\nnumber = 3000\nrules = [\"rule 10 Deny UDP Source 10.0.0.0 0.0.0.255\", \"RULE permit ip\"]\n",
        )
        .unwrap();
        let r = seed(&cfg);
        let texts: Vec<&str> = r.acls[0].rules.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "rule 10 deny udp source 10.0.0.0 0.0.0.255",
                "rule 15 permit ip"
            ]
        );
    }

    #[test]
    fn without_a_startup_file_config_toml_seeds_the_configuration() {
        let dir = scratch("seed");
        let cfg = config(
            &dir,
            "[session]\nstatistics_enable = true\n[session.aging_time_state_s]\nsctp-est = 100\n",
        );
        let s = startup_configuration(&cfg).expect("startup");
        assert!(matches!(s.source, Source::Seed { .. }));
        let text = configuration(&s.running);
        assert!(text.contains(" session statistics enable\n"), "{text}");
        assert!(
            text.contains(" session aging-time state sctp-est 100\n"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The fault of issue #11: `undo session statistics enable`, saved, came back at the
    /// next start because config.toml set it again.
    #[test]
    fn a_startup_file_is_the_configuration_and_config_toml_only_seeds() {
        let dir = scratch("file");
        let cfg = config(
            &dir,
            "[session]\nstatistics_enable = true\ncapacity_sessions = 5000\n[[acl]]\nnumber = 3000\nrules = [\"rule 5 permit tcp\"]\n",
        );
        // What `save` wrote after `undo session statistics enable` and `undo acl advanced 3000`.
        std::fs::write(dir.join("startup.cfg"), "#\n sysname FW\n#\nreturn\n").expect("write");
        let s = startup_configuration(&cfg).expect("startup");
        let Source::File {
            refused,
            seed_ignored,
            ..
        } = &s.source
        else {
            panic!("{:?}", s.source)
        };
        assert!(refused.is_empty(), "{refused:?}");
        assert!(seed_ignored);
        assert_eq!(s.running.sysname, "FW");
        assert!(!s.running.table.statistics);
        assert!(s.running.acls.is_empty());
        // The capacity is the device's: config.toml's, whatever the file says.
        assert_eq!(s.running.table.capacity, 5000);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unreadable_startup_file_stops_the_start() {
        let dir = scratch("unreadable");
        let cfg = config(&dir, "");
        // A directory where the file should be cannot be read as one.
        std::fs::create_dir_all(dir.join("startup.cfg")).expect("dir");
        let e = startup_configuration(&cfg).unwrap_err();
        assert!(e.contains("startup.cfg"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

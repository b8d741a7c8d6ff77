//! The console as an operator finds it (issue #11), one line at a time through a `Console` on
//! an engine without cores: a filter's regular expression that runs to the end of the line,
//! `> FILE` / `>> FILE`, `save` into flash:/ only, a duplicate ACL rule, `version` lines.

use super::commands::{Action, SystemCmd, grammar};
use super::engine::Engine;
use super::exec::{Console, apply_startup};
use super::files::Redirect;
use super::pipe::FilterMode;
use super::running::Running;
use super::view::View;
use crate::config::Config;
use std::path::PathBuf;
use std::sync::Arc;

/// A configuration directory of its own, removed when the test ends.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("sessmgr-ctl-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn engine(&self) -> Arc<Engine> {
        Arc::new(Engine::new(
            Vec::new(),
            Running::factory(&Config::default()),
            self.0.join("startup.cfg"),
        ))
    }

    fn console(&self) -> Console {
        Console::new(self.engine())
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.join(name)).unwrap_or_default()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn filters(line: &str) -> Vec<(FilterMode, String)> {
    let p = grammar().parse(&View::User, line).unwrap().unwrap();
    p.pipe
        .filters
        .iter()
        .map(|f| (f.mode, f.pattern.clone()))
        .collect()
}

#[test]
fn a_regular_expression_runs_to_the_next_filter_or_redirection() {
    use FilterMode::*;
    assert_eq!(
        filters("display current-configuration | include rule 0"),
        [(Include, "rule 0".to_string())]
    );
    // The spacing is kept as typed; quotes come off each word.
    assert_eq!(
        filters("dis cu | inc rule  0 \"permit tcp\""),
        [(Include, "rule  0 permit tcp".to_string())]
    );
    assert_eq!(
        filters("display current-configuration | include a b | exclude c d | begin e"),
        [
            (Include, "a b".to_string()),
            (Exclude, "c d".to_string()),
            (Begin, "e".to_string())
        ]
    );
    // A `|` inside a word or in quotes is the expression's own.
    assert_eq!(
        filters("display version | include def|int | exclude \"x | y\""),
        [
            (Include, "def|int".to_string()),
            (Exclude, "x | y".to_string())
        ]
    );
    // The first word is always the expression's, even `|`.
    assert_eq!(
        filters("display version | include | x"),
        [(Include, "| x".to_string())]
    );
    let p = grammar()
        .parse(
            &View::User,
            "display current-configuration | include rule 0 >> rules.txt",
        )
        .unwrap()
        .unwrap();
    assert_eq!(p.pipe.filters[0].pattern, "rule 0");
    assert_eq!(
        p.redirect,
        Some(Redirect {
            file: "rules.txt".into(),
            append: true
        })
    );
    // The canonical form reads back as the same command.
    assert_eq!(
        p.canonical,
        "display current-configuration | include \"rule 0\" >> rules.txt"
    );
    let again = grammar().parse(&View::User, &p.canonical).unwrap().unwrap();
    assert_eq!((again.pipe, again.redirect), (p.pipe, p.redirect));
    // The history keeps the line as typed.
    assert_eq!(
        grammar()
            .parse(&View::User, "dis cu | inc rule 0")
            .unwrap()
            .unwrap()
            .typed,
        "dis cu | inc rule 0"
    );
}

#[test]
fn help_and_tab_inside_a_regular_expression() {
    let g = grammar();
    // `?` after a word of the expression: it is text, and the next word may follow.
    let items = g
        .help(&View::User, "display version | include rule 0")
        .unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].label, "TEXT");
    let after: Vec<String> = g
        .help(&View::User, "display version | include rule 0 ")
        .unwrap()
        .into_iter()
        .map(|i| i.label.into_owned())
        .collect();
    assert_eq!(after, [">", ">>", "|", "<cr>"]);
    // Nothing to complete inside an expression.
    assert!(
        g.complete(&View::User, "display version | include rule dis")
            .candidates
            .is_empty()
    );
    assert_eq!(
        g.complete(&View::User, "display version | include rule 0 | exc")
            .candidates,
        ["exclude"]
    );
}

#[test]
fn redirection_writes_the_output_to_a_file_in_flash() {
    let dir = Dir::new("redirect");
    let mut c = dir.console();
    c.line("system-view");
    c.line("acl advanced 3000");
    c.line("rule 0 permit tcp");
    c.line("rule 5 deny udp");
    c.line("return");
    let shown = c.line("display current-configuration").output;
    let r = c.line("display current-configuration > now.cfg");
    assert_eq!(r.output, "");
    assert_eq!(dir.read("now.cfg"), shown);
    // `>>` appends; filters apply before the file.
    let r = c.line("display current-configuration | include rule 0 >> now.cfg");
    assert_eq!(r.output, "");
    assert_eq!(dir.read("now.cfg"), format!("{shown} rule 0 permit tcp\n"));
    // `>` overwrites; flash:/ names the same directory.
    c.line("display version | include zzz > flash:/now.cfg");
    assert_eq!(dir.read("now.cfg"), "");
    c.line("display current-configuration | include rule > flash:/now.cfg");
    assert_eq!(
        dir.read("now.cfg"),
        " rule 0 permit tcp\n rule 5 deny udp\n"
    );
    // The session table a chunk at a time (no cores here: the empty table's lines).
    let table = c.line("display session table ipv4").output;
    c.line("display session table ipv4 > table.txt");
    assert_eq!(dir.read("table.txt"), table);
    // Outside the configuration directory: refused, nothing written.
    let name = format!("sessmgr-ctl-out-{}.txt", std::process::id());
    let outside = std::env::temp_dir().join(&name);
    for bad in [
        format!("../{name}"),
        outside.display().to_string(),
        format!("flash:/../{name}"),
    ] {
        let r = c.line(&format!("display version > {bad}"));
        assert!(
            r.output
                .starts_with(&format!(" % Can't write {bad}: only files in flash:/")),
            "{bad}: {}",
            r.output
        );
    }
    assert!(!outside.exists());
}

#[test]
fn save_writes_in_flash_only() {
    let dir = Dir::new("save");
    let mut c = dir.console();
    let r = c.line("save flash:/backup.cfg");
    assert!(
        r.output.starts_with("Saved the current configuration to "),
        "{}",
        r.output
    );
    assert!(dir.read("backup.cfg").contains(" sysname H3C"));
    c.line("save other.cfg");
    assert!(dir.read("other.cfg").contains(" sysname H3C"));
    c.line("save");
    assert!(dir.read("startup.cfg").contains(" sysname H3C"));
    let outside =
        std::env::temp_dir().join(format!("sessmgr-ctl-outside-{}.cfg", std::process::id()));
    for bad in [
        "../escape.cfg".to_string(),
        "flash:/../escape.cfg".to_string(),
        outside.display().to_string(),
    ] {
        let r = c.line(&format!("save {bad}"));
        assert_eq!(
            r.output,
            format!(
                " % Can't write {bad}: only files in flash:/ (the configuration directory, {}) may be written.\n",
                dir.0.display()
            )
        );
    }
    assert!(!outside.exists());
    assert!(!dir.0.parent().unwrap().join("escape.cfg").exists());
}

#[test]
fn a_duplicate_rule_gets_comwares_message() {
    let dir = Dir::new("duplicate");
    let mut c = dir.console();
    c.line("system-view");
    c.line("acl advanced 3000");
    assert_eq!(
        c.line("rule 0 permit tcp destination-port eq 80").output,
        ""
    );
    let r = c.line("rule 5 permit tcp destination-port eq 80");
    assert_eq!(r.output, " % The rule already exists.\n");
    // The same ID is an edit, not a duplicate.
    assert_eq!(
        c.line("rule 0 permit tcp destination-port eq 80").output,
        ""
    );
}

#[test]
fn version_lines_are_taken_and_ignored_in_configuration_views() {
    let dir = Dir::new("version");
    let mut c = dir.console();
    // In user view it is no command.
    assert!(
        c.line("version 7.1.064, Release 0821P16")
            .output
            .contains('%')
    );
    c.line("system-view");
    let r = c.line("version 7.1.064, Release 0821P16");
    assert_eq!((r.output.as_str(), r.prompt.as_str()), ("", "[H3C]"));
    assert_eq!(c.line("version").output, "");
    c.line("acl advanced 3000");
    assert_eq!(c.line("VERSION 7.1").output, "");
    // A pasted configuration that starts with one applies without an error.
    let failed = apply_startup(
        dir.engine(),
        "#\n version 7.1.064, Release 0821P16\n#\n sysname FW\n#\nreturn\n",
    );
    assert!(failed.is_empty(), "{failed:?}");
}

#[test]
fn a_startup_file_does_not_redirect() {
    let dir = Dir::new("startup-redirect");
    let failed = apply_startup(dir.engine(), "display version > out.txt\n sysname FW\n");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(!dir.0.join("out.txt").exists());
    // ... and `save` is still what it was.
    let mut probe = super::terminal::Terminal::new("S");
    assert!(matches!(
        probe.execute("save flash:/x.cfg"),
        Ok(Some((cmd, _))) if matches!(cmd.action, Action::System(SystemCmd::Save { .. }))
    ));
}

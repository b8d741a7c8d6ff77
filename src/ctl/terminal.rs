//! One operator's terminal (reference/comware.md §1.1): the view stack behind the prompt,
//! the sysname the prompt shows, paging and the command history of one console. What Enter,
//! `?` and Tab do with a line is in keys.rs: they need every command (commands/), and the
//! commands change the terminal.

use super::view::View;
use std::collections::VecDeque;

/// Comware's factory sysname.
pub const DEFAULT_SYSNAME: &str = "H3C";

/// Lines per screen before `---- More ----` until `screen-length disable` (§1.6).
pub const DEFAULT_SCREEN_LENGTH: u16 = 24;

/// Comware's default size of a user line's history buffer (`history-command max-size`).
pub const HISTORY_MAX: usize = 10;

/// What the console layer does after a command's part at the terminal (`Terminal::apply`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Done at the terminal (view change, paging, history): nothing for the engine; show
    /// the terminal's own output where the command has some (`display history-command`).
    Local,
    /// Send to the engine (display, reset, configuration); the terminal already did its part
    /// (e.g. entered the ACL view, took the new sysname).
    Forward,
    /// `quit` in user view: close the connection.
    Close,
}

/// One console's state.
#[derive(Debug, Clone)]
pub struct Terminal {
    views: Vec<View>,
    sysname: String,
    screen_length: Option<u16>,
    history: VecDeque<String>,
    closed: bool,
    interfaces: Vec<String>,
    /// `terminal monitor`: the information centre's messages are shown here (off, as on a
    /// Comware VTY line).
    monitor: bool,
    /// `terminal logging level N`: the highest severity number shown (6, informational).
    logging_level: u8,
}

impl Terminal {
    /// A console after login: user view.
    pub fn new(sysname: &str) -> Terminal {
        Terminal {
            views: vec![View::User],
            sysname: sysname.to_string(),
            screen_length: Some(DEFAULT_SCREEN_LENGTH),
            history: VecDeque::new(),
            closed: false,
            interfaces: Vec::new(),
            monitor: false,
            logging_level: crate::infocenter::DEFAULT_CONSOLE_LEVEL,
        }
    }

    /// `terminal monitor`, and the level of `terminal logging level`.
    pub fn monitor(&self) -> (bool, u8) {
        (self.monitor, self.logging_level)
    }

    pub fn set_monitor(&mut self, on: bool) {
        self.monitor = on;
    }

    pub fn set_logging_level(&mut self, level: u8) {
        self.logging_level = level.min(7);
    }

    pub fn view(&self) -> &View {
        self.views.last().unwrap_or(&View::User)
    }

    /// `<Sysname>` in user view, `[Sysname]` in system view, `[Sysname-suffix]` in a
    /// feature view.
    pub fn prompt(&self) -> String {
        match (self.view(), self.view().prompt_suffix()) {
            (View::User, _) => format!("<{}>", self.sysname),
            (_, Some(suffix)) => format!("[{}-{suffix}]", self.sysname),
            (_, None) => format!("[{}]", self.sysname),
        }
    }

    pub fn sysname(&self) -> &str {
        &self.sysname
    }

    /// `sysname`, here or from another console.
    pub fn set_sysname(&mut self, name: &str) {
        self.sysname = name.to_string();
    }

    /// Lines per screen; `None` after `screen-length disable`.
    pub fn screen_length(&self) -> Option<u16> {
        self.screen_length
    }

    pub fn set_screen_length(&mut self, lines: Option<u16>) {
        self.screen_length = lines;
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Oldest first.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().map(String::as_str)
    }

    /// The interfaces `interface NAME` may enter (the engine's ports).
    pub fn set_interfaces(&mut self, names: &[String]) {
        self.interfaces = names.to_vec();
    }

    pub fn has_interface(&self, name: &str) -> bool {
        self.interfaces.iter().any(|i| i == name)
    }

    /// Records a command in the history: as typed (aliases replaced), identical consecutive
    /// commands once, the oldest dropped when full.
    pub fn record(&mut self, typed: &str) {
        if self.history.back().is_some_and(|h| h == typed) {
            return;
        }
        if self.history.len() == HISTORY_MAX {
            self.history.pop_front();
        }
        self.history.push_back(typed.to_string());
    }

    /// `quit`: back to the view before; in user view it closes the console.
    pub fn quit(&mut self) -> Effect {
        if self.views.len() <= 1 {
            self.closed = true;
            Effect::Close
        } else {
            self.views.pop();
            Effect::Local
        }
    }

    /// `return` / Ctrl+Z: straight back to user view.
    pub fn ctrl_z(&mut self) {
        self.views.truncate(1);
    }

    /// The views above the current one, nearest first, up to system view (the views a
    /// command the current view lacks is tried in: keys.rs).
    pub(super) fn enclosing_views(&self) -> impl Iterator<Item = &View> {
        self.views
            .iter()
            .rev()
            .skip(1)
            .take_while(|v| !matches!(v, View::User))
    }

    /// Leaves `levels` views (never user view).
    pub(super) fn leave_views(&mut self, levels: usize) {
        let keep = self.views.len().saturating_sub(levels).max(1);
        self.views.truncate(keep);
    }

    /// Enters a view: a command's (`system-view`, `acl ...`), or a feature view the engine
    /// opened.
    pub fn enter_view(&mut self, view: View) {
        self.views.push(view);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_for_every_view() {
        let mut s = Terminal::new("Sysname");
        assert_eq!(s.prompt(), "<Sysname>");
        s.execute("system-view").unwrap();
        assert_eq!(s.prompt(), "[Sysname]");
        for (line, prompt) in [
            ("acl advanced 3000", "[Sysname-acl-ipv4-adv-3000]"),
            ("acl basic 2000", "[Sysname-acl-ipv4-basic-2000]"),
            ("acl ipv6 advanced 3001", "[Sysname-acl-ipv6-adv-3001]"),
            ("acl ipv6 basic 2999", "[Sysname-acl-ipv6-basic-2999]"),
            ("acl number 3999", "[Sysname-acl-ipv4-adv-3999]"),
            ("acl ipv6 number 2001", "[Sysname-acl-ipv6-basic-2001]"),
        ] {
            let (_, effect) = s.execute(line).unwrap().unwrap();
            assert_eq!(effect, Effect::Forward);
            assert_eq!(s.prompt(), prompt, "{line}");
            assert_eq!(s.execute("quit").unwrap().unwrap().1, Effect::Local);
            assert_eq!(s.prompt(), "[Sysname]");
        }
        s.enter_view(View::Interface {
            name: "GigabitEthernet1/0/1".into(),
        });
        assert_eq!(s.prompt(), "[Sysname-GigabitEthernet1/0/1]");
    }

    #[test]
    fn quit_pops_return_jumps_and_quit_in_user_view_closes() {
        let mut s = Terminal::new("S");
        s.execute("sys").unwrap();
        s.execute("acl adv 3000").unwrap();
        assert_eq!(s.prompt(), "[S-acl-ipv4-adv-3000]");
        s.execute("return").unwrap();
        assert_eq!(s.prompt(), "<S>");
        s.execute("sys").unwrap();
        s.execute("acl adv 3000").unwrap();
        s.ctrl_z();
        assert_eq!(s.prompt(), "<S>");
        s.execute("system-view").unwrap();
        s.execute("end").unwrap();
        assert_eq!(s.prompt(), "<S>");
        s.execute("system-view").unwrap();
        assert_eq!(s.execute("exit").unwrap().unwrap().1, Effect::Local);
        assert!(!s.is_closed());
        assert_eq!(s.execute("quit").unwrap().unwrap().1, Effect::Close);
        assert!(s.is_closed());
    }

    /// A pasted configuration: `acl ipv6 advanced 3000` right after an IPv4 ACL's rules runs
    /// in system view (the ACL view has no such command), and so does `sysname` typed in an
    /// interface view; a wrong rule is still the ACL view's error.
    #[test]
    fn a_command_the_view_lacks_runs_in_the_view_above() {
        let mut s = Terminal::new("S");
        s.execute("system-view").unwrap();
        s.execute("acl advanced 3000").unwrap();
        s.execute(" rule 0 permit tcp").unwrap();
        let (_, effect) = s.execute("acl ipv6 advanced 3000").unwrap().unwrap();
        assert_eq!(effect, Effect::Forward);
        assert_eq!(s.prompt(), "[S-acl-ipv6-adv-3000]");
        s.execute("sysname FW").unwrap();
        assert_eq!(s.prompt(), "[FW]");
        s.execute("acl basic 2000").unwrap();
        // The basic ACL's own error, at `tcp` (system view would have marked `rule`).
        let e = s.execute("rule 5 permit tcp").unwrap_err();
        assert_eq!(e.column, 14);
        assert_eq!(s.prompt(), "[FW-acl-ipv4-basic-2000]");
        // Nor is a user-view command tried from system view.
        s.execute("quit").unwrap();
        assert!(s.execute("reset session table").is_err());
        assert_eq!(s.prompt(), "[FW]");
    }

    #[test]
    fn sysname_changes_the_prompt_and_undo_restores_the_default() {
        let mut s = Terminal::new("H3C");
        s.execute("system-view").unwrap();
        s.execute("sysname FW-1").unwrap();
        assert_eq!(s.prompt(), "[FW-1]");
        s.execute("hostname \"edge fw\"").unwrap();
        assert_eq!(s.prompt(), "[edge fw]");
        s.execute("undo sysname").unwrap();
        assert_eq!(s.prompt(), "[H3C]");
    }

    #[test]
    fn screen_length_is_per_terminal() {
        let mut s = Terminal::new("S");
        assert_eq!(s.screen_length(), Some(24));
        assert_eq!(
            s.execute("screen-length disable").unwrap().unwrap().1,
            Effect::Local
        );
        assert_eq!(s.screen_length(), None);
        s.execute("undo screen-length disable").unwrap();
        assert_eq!(s.screen_length(), Some(24));
    }

    #[test]
    fn history_keeps_the_typed_form_once_per_run_and_resolves_aliases() {
        let mut s = Terminal::new("S");
        s.execute("dis cu").unwrap();
        s.execute("dis cu").unwrap();
        s.execute("display current-configuration").unwrap();
        s.execute("show   version").unwrap();
        assert!(s.execute("display nonsense").is_err());
        s.execute("").unwrap();
        let h: Vec<&str> = s.history().collect();
        assert_eq!(
            h,
            ["dis cu", "display current-configuration", "display version"]
        );
        for i in 0..20 {
            s.execute(&format!("display acl {}", 2000 + i)).unwrap();
        }
        assert_eq!(s.history().count(), HISTORY_MAX);
        assert_eq!(s.history().last(), Some("display acl 2019"));
    }

    #[test]
    fn help_on_an_empty_line_has_the_view_header() {
        let s = Terminal::new("S");
        let out = s.help("").unwrap();
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("User view commands:"));
        let rest: Vec<&str> = lines.collect();
        let words: Vec<&str> = rest
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(
            words,
            [
                "display",
                "end",
                "exit",
                "no",
                "quit",
                "remote-backup",
                "reset",
                "return",
                "save",
                "screen-length",
                "show",
                "system-view",
                "terminal",
                "undo",
                "write"
            ]
        );
        assert!(rest.contains(&"  show           Alias for 'display'"));
        let mut s = s;
        s.execute("system-view").unwrap();
        assert!(s.help("").unwrap().starts_with("System view commands:\n"));
        s.execute("acl advanced 3000").unwrap();
        let acl = s.help("").unwrap();
        assert!(
            acl.starts_with("IPv4 advanced ACL view commands:\n"),
            "{acl}"
        );
        assert!(acl.contains("\n  rule "), "{acl}");
    }
}

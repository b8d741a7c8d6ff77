//! What Enter, `?` and Tab do at one terminal: the line goes through the one grammar of every
//! command (commands/) in the terminal's current view. Pure: nothing here talks to the
//! engine; Enter does the command's part at the terminal and says whether the engine has a
//! part too.

use super::commands::{Action, Command, grammar};
use super::grammar::{CliError, Completion, render_help};
use super::terminal::{Effect, Terminal};

impl Terminal {
    /// Parses a line in the current view or, when the current view has no such command, in
    /// the views above it (pure: no state changes).
    pub fn parse(&self, line: &str) -> Result<Option<Command>, CliError> {
        Ok(self.resolve(line)?.map(|(cmd, _)| cmd))
    }

    /// The command and how many views to leave before it runs. Comware tries a command that
    /// the current view does not have in the views above it (comware.md §1.1), so a pasted
    /// configuration reads back whatever view its previous section left: `acl ipv6 advanced
    /// 3000` typed in the IPv4 ACL view that precedes it runs in system view. The terminal
    /// then stays in the view the command ran in (or the view it enters), as a paste needs
    /// (ours: where Comware leaves the operator is not documented). User view is nobody's
    /// parent here: its commands (`reset`, `screen-length`) are not tried from system view.
    /// When no view takes the line, the error is the current view's.
    fn resolve(&self, line: &str) -> Result<Option<(Command, usize)>, CliError> {
        let here = match self.parse_in_current(line) {
            Ok(cmd) => return Ok(cmd.map(|c| (c, 0))),
            Err(e) => e,
        };
        for (up, view) in self.enclosing_views().enumerate() {
            if let Ok(Some(cmd)) = grammar().parse(view, line) {
                let mut there = self.clone();
                there.leave_views(up + 1);
                if cmd.action.validate(&there, line).is_ok() {
                    return Ok(Some((cmd, up + 1)));
                }
            }
        }
        Err(here)
    }

    fn parse_in_current(&self, line: &str) -> Result<Option<Command>, CliError> {
        let cmd = grammar().parse(self.view(), line)?;
        if let Some(cmd) = &cmd {
            cmd.action.validate(self, line)?;
        }
        Ok(cmd)
    }

    /// What Comware prints for `line?`: the matching keywords or next tokens, with the view's
    /// header when nothing was typed. An error means the line is wrong before the `?`.
    pub fn help(&self, line: &str) -> Result<String, CliError> {
        let items = grammar().help(self.view(), line)?;
        let list = render_help(&items);
        if line.trim().is_empty() {
            Ok(format!("{}\n{list}", self.view().help_header()))
        } else {
            Ok(list)
        }
    }

    /// Tab at the end of `line`.
    pub fn complete(&self, line: &str) -> Completion {
        grammar().complete(self.view(), line)
    }

    /// Does the terminal's part of a command.
    pub fn apply(&mut self, action: &Action) -> Effect {
        action.at_terminal(self)
    }

    /// Parse, record and apply: what Enter does. `Ok(None)` for a blank or comment line.
    pub fn execute(&mut self, line: &str) -> Result<Option<(Command, Effect)>, CliError> {
        let Some((cmd, up)) = self.resolve(line)? else {
            return Ok(None);
        };
        self.leave_views(up);
        self.record(&cmd.typed);
        let effect = self.apply(&cmd.action);
        Ok(Some((cmd, effect)))
    }
}

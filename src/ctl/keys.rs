//! What Enter, `?` and Tab do at one terminal: the line goes through the one grammar of every
//! command (commands/) in the terminal's current view. Pure: nothing here talks to the
//! engine; Enter does the command's part at the terminal and says whether the engine has a
//! part too.

use super::commands::{Action, Command, grammar};
use super::grammar::{CliError, Completion, render_help};
use super::terminal::{Effect, Terminal};

impl Terminal {
    /// Parses a line in the current view (pure: no state changes).
    pub fn parse(&self, line: &str) -> Result<Option<Command>, CliError> {
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
        let Some(cmd) = self.parse(line)? else {
            return Ok(None);
        };
        self.record(&cmd.typed);
        let effect = self.apply(&cmd.action);
        Ok(Some((cmd, effect)))
    }
}

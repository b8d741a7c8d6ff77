//! What a command file implements (`Area`), what it declares its commands with (`Tree`), what
//! its handlers are given (`Context`) and give back (`Output`), and the running configuration
//! as text, which every area writes its part of (`ConfigText`).

use super::kit::{H_DISPLAY, kw, seq};
use crate::ctl::engine::Engine;
use crate::ctl::grammar::{CliError, Def, Fault, Matched, Syn, pipe_syntax};
use crate::ctl::running::Running;
use crate::ctl::stream::TableStream;
use crate::ctl::terminal::{Effect, Terminal};
use crate::ctl::view::View;

/// The commands of one area of the console (sessions, aging, ACLs, ...): an enum with one
/// variant per command, its arguments parsed. The area declares each command's syntax and
/// builder, its canonical text and what it does: at the operator's terminal (views, paging,
/// history) and on the engine (the running configuration, the cores, the output).
pub trait Area {
    /// Declares the area's commands: the views each lives in, its syntax and the builder that
    /// turns what was typed into the command.
    fn commands(tree: &mut Tree<Self>)
    where
        Self: Sized;

    /// The command in canonical form: full keywords, Comware's order, defaults left out.
    /// Parsing it in the command's view gives the same command back.
    fn canonical(&self) -> String;

    /// Whether the command is a setting that the running configuration shows.
    fn is_config(&self) -> bool {
        false
    }

    /// Whether the command opens a view whose settings follow it (`acl advanced 3000`): its
    /// configuration line is a section header at column 0.
    fn opens_view(&self) -> bool {
        false
    }

    /// The line `display current-configuration` prints for a setting, indented as §1.7
    /// says: a view header at column 0, every other line (global commands and a view's
    /// children) after one space.
    fn config_line(&self) -> Option<String> {
        if !self.is_config() {
            return None;
        }
        Some(if self.opens_view() {
            self.canonical()
        } else {
            format!(" {}", self.canonical())
        })
    }

    /// Refuses a command the grammar accepted but this terminal cannot take (an interface the
    /// engine does not have). `line` is the line as typed, for the error's column.
    fn validate(&self, _terminal: &Terminal, _line: &str) -> Result<(), CliError> {
        Ok(())
    }

    /// The command's part at the terminal (enter or leave a view, paging), and whether the
    /// engine has a part too.
    fn at_terminal(&self, _terminal: &mut Terminal) -> Effect {
        Effect::Forward
    }

    /// The output of a command done at the terminal alone (`display history-command`).
    fn terminal_output(&self, _terminal: &Terminal) -> Output {
        Output::Nothing
    }

    /// The command's part on the engine: what it changes in the running configuration,
    /// what it asks the cores, and its output.
    fn on_engine(&self, _cx: &mut Context<'_>) -> Output {
        Output::Nothing
    }

    /// The area's part of the running configuration: its global settings, its views'
    /// sections.
    fn configuration(_running: &Running, _text: &mut ConfigText)
    where
        Self: Sized,
    {
    }

    /// What `display this` shows in a view of this area; `None` for views of other areas.
    fn view_configuration(_running: &Running, _view: &View) -> Option<String>
    where
        Self: Sized,
    {
        None
    }
}

// ------------------------------------------------------------------------------------------
// Declaring commands

/// The commands of one area, in the order declared.
pub struct Tree<A> {
    defs: Vec<Def<A>>,
}

impl<A> Default for Tree<A> {
    fn default() -> Self {
        Tree { defs: Vec::new() }
    }
}

impl<A: 'static> Tree<A> {
    /// A command of `views` (an OR of `view::bits`): its syntax, item after item, and its
    /// builder.
    pub fn command(
        &mut self,
        views: u8,
        items: Vec<Syn>,
        build: impl Fn(&Matched<'_>, &View) -> Result<A, Fault> + Send + Sync + 'static,
    ) {
        self.defs.push(Def::new(views, seq(items), build));
    }

    /// A display command: `display`, then `body`; the `|` filters may follow (§1.6).
    pub fn display(
        &mut self,
        views: u8,
        body: Vec<Syn>,
        build: impl Fn(&Matched<'_>, &View) -> Result<A, Fault> + Send + Sync + 'static,
    ) {
        let mut items = vec![kw("display", H_DISPLAY)];
        items.extend(body);
        items.push(pipe_syntax());
        self.command(views, items, build);
    }

    /// A set command and its `undo` form, derived from the set form: `set_only` parts are
    /// left out of the undo form, `undo_optional` parts become optional. The builder tells
    /// the two apart with `Matched::is_undo`.
    pub fn with_undo(
        &mut self,
        views: u8,
        items: Vec<Syn>,
        build: impl Fn(&Matched<'_>, &View) -> Result<A, Fault> + Send + Sync + 'static,
    ) {
        self.defs
            .extend(Def::set_and_undo(views, seq(items), build));
    }

    pub fn into_defs(self) -> Vec<Def<A>> {
        self.defs
    }
}

// ------------------------------------------------------------------------------------------
// Running a command on the engine

/// What a handler works with: the engine, the running configuration (locked for the
/// command), and the view the command was typed in.
pub struct Context<'a> {
    pub engine: &'a Engine,
    pub running: &'a mut Running,
    pub view: &'a View,
    changed: bool,
    /// Every area's part of the configuration is known to the registry alone: it lends these
    /// to the handlers that show or save the configuration.
    whole: fn(&Running) -> String,
    of_view: fn(&Running, &View) -> String,
}

impl<'a> Context<'a> {
    pub fn new(
        engine: &'a Engine,
        running: &'a mut Running,
        view: &'a View,
        whole: fn(&Running) -> String,
        of_view: fn(&Running, &View) -> String,
    ) -> Context<'a> {
        Context {
            engine,
            running,
            view,
            changed: false,
            whole,
            of_view,
        }
    }

    /// The running configuration changed: every core is given it once the handler returns.
    pub fn changed(&mut self) {
        self.changed = true;
    }

    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// The running configuration as CLI text (`display current-configuration`, `save`).
    pub fn configuration(&self) -> String {
        (self.whole)(self.running)
    }

    /// The configuration of the view the command was typed in (`display this`).
    pub fn view_configuration(&self) -> String {
        (self.of_view)(self.running, self.view)
    }
}

/// What a command shows.
pub enum Output {
    Nothing,
    /// Shown at once, through the command's `|` filters.
    Text(String),
    /// A display command's output: its Comware text, and the same data as JSON for
    /// automation (`sessmgr exec --json`). Both are built from one value, so their numbers
    /// agree; the text goes through the `|` filters, the data never does.
    Display {
        text: String,
        data: serde_json::Value,
    },
    /// `display session table`: read from the cores a chunk at a time.
    Table(TableStream),
}

impl Output {
    /// A display's output: its text and the same data as JSON.
    pub fn display(text: String, data: serde_json::Value) -> Output {
        Output::Display { text, data }
    }
}

// ------------------------------------------------------------------------------------------
// The running configuration as text

/// The running configuration as CLI text, as the areas write it (§1.7): the device's name,
/// then every global setting, then each view's section, a `#` line between the parts and
/// `return` at the end.
#[derive(Debug, Default)]
pub struct ConfigText {
    head: Vec<String>,
    settings: Vec<String>,
    sections: Vec<String>,
}

impl ConfigText {
    /// A line of the first part (the device's name).
    pub fn head(&mut self, line: String) {
        self.head.push(line);
    }

    /// A global setting, written as the command that sets it.
    pub fn setting(&mut self, command: &dyn Area) {
        self.settings.extend(command.config_line());
    }

    /// A view's section (`acl advanced 3000` and its rules, lines ending in `\n`): a part
    /// of its own.
    pub fn section(&mut self, text: String) {
        self.sections.push(text);
    }

    pub fn render(&self) -> String {
        let mut out = String::from("#\n");
        for part in [&self.head, &self.settings] {
            if part.is_empty() {
                continue;
            }
            for line in part {
                out.push_str(line);
                out.push('\n');
            }
            out.push_str("#\n");
        }
        for section in &self.sections {
            out.push_str(section);
            out.push_str("#\n");
        }
        out.push_str("return\n");
        out
    }
}

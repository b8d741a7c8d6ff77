//! The console's commands, one file per area of the device (SPEC S, A, C; reference/comware.md
//! §1.7, §2.1, §3.1, §4.2, §4.5, §5, §6, §8, §9.1, §9.4, §10, §12). An area's file declares
//! each of its commands together with everything about it: the views it lives in, its
//! syntax with Comware's help strings (the `undo` form derived from the set form), its
//! canonical text, and its handler (what it does at the terminal, to the running
//! configuration and the cores, and what it shows). The contract is `area::Area`.
//!
//! This file is the registry: it lists the areas once, and from that list come the
//! console's `Action` (a command of some area), the one grammar of every command, the
//! dispatch of an action to its area's handler, and the configuration text every area
//! writes its part of.
//!
//! A new family of commands is a new file here that implements `Area` for its own enum, and
//! its line in `registry!` below (with the file's `mod` line).

mod acl;
mod aging;
mod alg;
pub mod area;
mod drops;
mod infocenter;
mod interface;
pub mod kit;
mod log;
mod rbm;
mod session;
mod statistics;
mod system;
#[cfg(test)]
mod tests;

pub use acl::{AclCmd, AclTarget};
pub use aging::{AgingCmd, PERSISTENT_DEFAULT_HOURS};
pub use alg::AlgCmd;
pub use drops::DropsCmd;
pub use infocenter::InfoCmd;
pub use interface::InterfaceCmd;
pub use log::LogCmd;
pub use rbm::RbmCmd;
pub use session::SessionCmd;
pub use statistics::StatisticsCmd;
pub use system::SystemCmd;

use super::engine::Engine;
use super::grammar::{CliError, Def, Grammar, Parsed};
use super::running::Running;
use super::terminal::{Effect, Terminal};
use super::view::View;
use area::{Area, ConfigText, Context, Output, Tree};
use std::sync::LazyLock;

/// Builds, from the list of areas, the `Action` enum (one variant per area), the conversion
/// of each area's command into it, the dispatch to the area, and what is gathered from every
/// area: the commands and the configuration text.
macro_rules! registry {
    ($($area:ident($command:ty)),+ $(,)?) => {
        /// What a complete command does, with its arguments parsed: a command of one area.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Action {
            $($area($command)),+
        }

        $(
            impl From<$command> for Action {
                fn from(command: $command) -> Action {
                    Action::$area(command)
                }
            }
        )+

        impl Action {
            /// The command, whichever area it is of.
            fn command(&self) -> &dyn Area {
                match self {
                    $(Action::$area(command) => command),+
                }
            }
        }

        /// Every area's commands, in registration order.
        fn defs() -> Vec<Def<Action>> {
            let mut defs = Vec::new();
            $(defs.extend(area_defs::<$command>(Action::$area));)+
            defs
        }

        /// The running configuration as CLI text (`display current-configuration`, `save`):
        /// every area's part, in registration order.
        pub fn configuration(running: &Running) -> String {
            let mut text = ConfigText::default();
            $(<$command as Area>::configuration(running, &mut text);)+
            text.render()
        }

        /// `display this`: the part of the view's area, or the whole configuration.
        fn view_configuration(running: &Running, view: &View) -> String {
            None
                $(.or_else(|| <$command as Area>::view_configuration(running, view)))+
                .unwrap_or_else(|| configuration(running))
        }
    };
}

// The areas. Their order is the order of `display current-configuration` (§1.7): the device's
// name, the aging times, the session settings, the session logs and where they go, port
// mappings and ALGs, then the interface and ACL sections.
registry! {
    System(system::SystemCmd),
    Aging(aging::AgingCmd),
    Session(session::SessionCmd),
    Statistics(statistics::StatisticsCmd),
    Log(log::LogCmd),
    Info(infocenter::InfoCmd),
    Alg(alg::AlgCmd),
    Interface(interface::InterfaceCmd),
    Rbm(rbm::RbmCmd),
    Acl(acl::AclCmd),
    Drops(drops::DropsCmd),
}

/// An area's commands, building the console's `Action`.
fn area_defs<C: Area + 'static>(wrap: fn(C) -> Action) -> Vec<Def<Action>> {
    let mut tree = Tree::default();
    C::commands(&mut tree);
    tree.into_defs().into_iter().map(|d| d.map(wrap)).collect()
}

/// A parsed command line of the console.
pub type Command = Parsed<Action>;

static GRAMMAR: LazyLock<Grammar<Action>> = LazyLock::new(|| Grammar::new(defs()));

/// The console's command tree, built once per process.
pub fn grammar() -> &'static Grammar<Action> {
    &GRAMMAR
}

impl Action {
    /// The command in canonical form: full keywords, Comware's order, defaults left out.
    /// Parsing it in the command's view gives the same action back.
    pub fn canonical(&self) -> String {
        self.command().canonical()
    }

    /// Whether the action is a setting that the running configuration shows.
    pub fn is_config(&self) -> bool {
        self.command().is_config()
    }

    /// The line `display current-configuration` prints for the setting (`None` for a
    /// command that is no setting).
    pub fn config_line(&self) -> Option<String> {
        self.command().config_line()
    }

    /// Refuses what `terminal` cannot take although the grammar accepted it.
    pub fn validate(&self, terminal: &Terminal, line: &str) -> Result<(), CliError> {
        self.command().validate(terminal, line)
    }

    /// Does the command's part at the terminal.
    pub fn at_terminal(&self, terminal: &mut Terminal) -> Effect {
        self.command().at_terminal(terminal)
    }

    /// The output of a command done at the terminal alone.
    pub fn terminal_output(&self, terminal: &Terminal) -> Output {
        self.command().terminal_output(terminal)
    }

    /// Runs the command's handler on the engine, the running configuration locked while it
    /// runs; when the handler changed the configuration, every core is given it before this
    /// returns, and the log actor its part (where session logs go).
    pub fn run(&self, engine: &Engine, view: &View) -> Output {
        let Ok(mut running) = engine.running.lock() else {
            return Output::Text(" % The engine is not answering.\n".into());
        };
        let mut cx = Context::new(
            engine,
            &mut running,
            view,
            configuration,
            view_configuration,
        );
        let out = self.command().on_engine(&mut cx);
        if cx.is_changed() {
            engine.push_config(&running);
            engine.export.set_config(running.export_config());
            engine.publish_info_config(&running);
        }
        out
    }
}

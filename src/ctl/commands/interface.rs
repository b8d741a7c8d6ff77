//! Interfaces: the views of the engine's own interfaces (reference/comware.md §1.1) and the
//! session-based packet filter bound in them (`packet-filter [ipv6] N {inbound|outbound}`:
//! the ACLs a packet that would create a session must pass). An interface's section of the
//! configuration also holds its `session log enable` lines (their commands are in log.rs).

use super::area::{Area, ConfigText, Context, Output, Tree};
use super::kit::{IPV6, NAME, NUM, alt, arg, int, internal, ipv6_word, kw, kws, opt};
use super::log::LogCmd;
use crate::ctl::grammar::{ArgKind, CliError, ErrorKind, quote};
use crate::ctl::running::{FilterBinding, Running};
use crate::ctl::terminal::{Effect, Terminal};
use crate::ctl::view::View;
use crate::ctl::view::bits::{INTERFACE, SYSTEM};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceCmd {
    /// `interface NAME`: enters the interface's view.
    Enter { name: String },
    /// `[undo] packet-filter [ipv6] N {inbound|outbound}` in interface view.
    PacketFilter {
        ipv6: bool,
        number: u32,
        inbound: bool,
        on: bool,
    },
}

const DIRECTION: &str = "direction";

impl Area for InterfaceCmd {
    fn commands(t: &mut Tree<Self>) {
        t.command(
            SYSTEM,
            vec![
                kw("interface", "Specify the interface view"),
                arg(NAME, ArgKind::Str { min: 1, max: 64 }, "Interface name"),
            ],
            |m, _| {
                Ok(InterfaceCmd::Enter {
                    name: m.text(NAME).ok_or_else(|| internal(m))?.to_string(),
                })
            },
        );
        t.with_undo(
            INTERFACE,
            vec![
                kw("packet-filter", "Specify packet filtering"),
                opt(kws(IPV6, "ipv6", "Specify an IPv6 ACL")),
                arg(NUM, int(2000, 3999), "ACL number"),
                alt(vec![
                    kws(DIRECTION, "inbound", "Filter incoming packets"),
                    kws(DIRECTION, "outbound", "Filter outgoing packets"),
                ]),
            ],
            |m, _| {
                Ok(InterfaceCmd::PacketFilter {
                    ipv6: m.has(IPV6),
                    number: m.u32(NUM).ok_or_else(|| internal(m))?,
                    inbound: m.text(DIRECTION) == Some("inbound"),
                    on: !m.is_undo(),
                })
            },
        );
    }

    fn canonical(&self) -> String {
        match self {
            InterfaceCmd::Enter { name } => format!("interface {}", quote(name)),
            InterfaceCmd::PacketFilter {
                ipv6,
                number,
                inbound,
                on,
            } => format!(
                "{}packet-filter{} {number} {}",
                if *on { "" } else { "undo " },
                ipv6_word(*ipv6),
                if *inbound { "inbound" } else { "outbound" }
            ),
        }
    }

    fn is_config(&self) -> bool {
        matches!(
            self,
            InterfaceCmd::Enter { .. } | InterfaceCmd::PacketFilter { on: true, .. }
        )
    }

    fn opens_view(&self) -> bool {
        matches!(self, InterfaceCmd::Enter { .. })
    }

    /// An interface view exists only for the engine's own interfaces.
    fn validate(&self, terminal: &Terminal, line: &str) -> Result<(), CliError> {
        match self {
            InterfaceCmd::Enter { name } if !terminal.has_interface(name) => Err(CliError {
                kind: ErrorKind::Wrong,
                column: line.rfind(name.as_str()).unwrap_or(0),
            }),
            _ => Ok(()),
        }
    }

    fn at_terminal(&self, terminal: &mut Terminal) -> Effect {
        if let InterfaceCmd::Enter { name } = self {
            terminal.enter_view(View::Interface { name: name.clone() });
        }
        Effect::Forward
    }

    fn on_engine(&self, cx: &mut Context<'_>) -> Output {
        let InterfaceCmd::PacketFilter {
            ipv6,
            number,
            inbound,
            on,
        } = self
        else {
            return Output::Nothing;
        };
        let View::Interface { name } = cx.view else {
            return Output::Text(" % Packet filters are configured in an interface view.\n".into());
        };
        let binding = FilterBinding {
            interface: name.clone(),
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
        let filters = &mut cx.running.filters;
        if *on {
            filters.retain(|b| !same_slot(b));
            filters.push(binding);
        } else {
            filters.retain(|b| !(same_slot(b) && b.number == binding.number));
        }
        cx.changed();
        Output::Nothing
    }

    /// A section for each interface with settings, in the engine's port order.
    fn configuration(running: &Running, text: &mut ConfigText) {
        let named: Vec<&String> = running
            .filters
            .iter()
            .map(|b| &b.interface)
            .chain(running.log_bindings.iter().map(|b| &b.interface))
            .collect();
        for name in running.interfaces.iter().filter(|i| named.contains(i)) {
            text.section(interface_text(running, name));
        }
    }

    fn view_configuration(running: &Running, view: &View) -> Option<String> {
        let View::Interface { name } = view else {
            return None;
        };
        let text = interface_text(running, name);
        let text = if text.is_empty() {
            format!("interface {}\n", quote(name))
        } else {
            text
        };
        Some(format!("#\n{text}#\nreturn\n"))
    }
}

/// An interface's section of the configuration (empty when it has no settings): its packet
/// filters, then its session-log lines, each in the order given.
fn interface_text(running: &Running, name: &str) -> String {
    let filters = running
        .filters
        .iter()
        .filter(|b| b.interface == name)
        .filter_map(|b| {
            InterfaceCmd::PacketFilter {
                ipv6: b.ipv6,
                number: b.number,
                inbound: b.inbound,
                on: true,
            }
            .config_line()
        });
    let logs = running
        .log_bindings
        .iter()
        .filter(|b| b.interface == name)
        .filter_map(|b| LogCmd::enable_line(b).config_line());
    let lines: Vec<String> = filters.chain(logs).collect();
    if lines.is_empty() {
        return String::new();
    }
    let mut out = InterfaceCmd::Enter {
        name: name.to_string(),
    }
    .canonical();
    out.push('\n');
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

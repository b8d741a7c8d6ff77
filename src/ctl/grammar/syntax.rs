//! A command's syntax: the typed arguments, the syntax expression in Comware manual notation
//! (`Syn`), the `undo` form derived from a set form, and the graph each command is compiled
//! to once (edges are tokens, epsilon moves carry the "at most once" guards of option sets).

use crate::ctl::pipe::compile_regex;
use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

// ------------------------------------------------------------------------------------------
// Typed arguments

/// The types an argument can have; each knows its help label and how to validate a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Ipv4,
    Ipv6,
    /// `X:X::X:X/M`, the inline prefix form of IPv6 ACL rules (§10.4).
    Ipv6Prefix,
    /// An IPv4 ACL rule's wildcard mask: a dotted quad or `0` (host, §10.2).
    Wildcard,
    Int {
        min: u32,
        max: u32,
    },
    /// A string of `min..=max` characters (quoted when it holds spaces; never `?`, §1.3).
    Str {
        min: u16,
        max: u16,
    },
    /// A `save` target: the `.cfg` suffix is required (§1.7).
    CfgFile,
    /// A filter's regular expression: 1-256 characters that compile.
    Regex,
}

impl ArgKind {
    /// The label `?` shows for the argument (Comware V7 style).
    pub fn label(self) -> Cow<'static, str> {
        match self {
            ArgKind::Ipv4 | ArgKind::Wildcard => "X.X.X.X".into(),
            ArgKind::Ipv6 => "X:X::X:X".into(),
            ArgKind::Ipv6Prefix => "X:X::X:X/M".into(),
            ArgKind::Int { min, max } => format!("INTEGER<{min}-{max}>").into(),
            ArgKind::Str { min, max } => format!("STRING<{min}-{max}>").into(),
            ArgKind::CfgFile => "STRING<5-255>".into(),
            ArgKind::Regex => "TEXT".into(),
        }
    }

    pub fn accepts(self, t: &str) -> bool {
        match self {
            ArgKind::Ipv4 => t.parse::<Ipv4Addr>().is_ok(),
            ArgKind::Ipv6 => t.parse::<Ipv6Addr>().is_ok(),
            ArgKind::Ipv6Prefix => t.split_once('/').is_some_and(|(a, l)| {
                a.parse::<Ipv6Addr>().is_ok()
                    && parse_int(l).is_some_and(|l| (1..=128).contains(&l))
            }),
            ArgKind::Wildcard => t == "0" || t.parse::<Ipv4Addr>().is_ok(),
            ArgKind::Int { min, max } => parse_int(t).is_some_and(|v| (min..=max).contains(&v)),
            ArgKind::Str { min, max } => {
                let n = t.chars().count();
                (usize::from(min)..=usize::from(max)).contains(&n) && !t.contains('?')
            }
            ArgKind::CfgFile => {
                let n = t.chars().count();
                (5..=255).contains(&n)
                    && !t.contains('?')
                    && t.get(t.len() - 4..)
                        .is_some_and(|s| s.eq_ignore_ascii_case(".cfg"))
            }
            ArgKind::Regex => compile_regex(t).is_some(),
        }
    }

    /// Whether a token that failed `accepts` was nevertheless meant as this argument: decides
    /// between "Wrong parameter" and "Unrecognized command" when both are possible.
    pub(super) fn looks_like(self, t: &str) -> bool {
        let first = t.chars().next().unwrap_or(' ');
        match self {
            ArgKind::Ipv4 | ArgKind::Wildcard | ArgKind::Int { .. } => {
                first.is_ascii_digit() || first == '-' || first == '+'
            }
            ArgKind::Ipv6 | ArgKind::Ipv6Prefix => t.contains(':') || first.is_ascii_digit(),
            ArgKind::Str { .. } | ArgKind::CfgFile | ArgKind::Regex => true,
        }
    }
}

/// Decimal only, no sign, no more digits than a u32 can hold: `+5` or `0x10` is not a number
/// at a Comware prompt.
pub(super) fn parse_int(t: &str) -> Option<u32> {
    if t.is_empty() || t.len() > 10 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

// ------------------------------------------------------------------------------------------
// Syntax and its compiled graph

pub type Slot = &'static str;

/// A syntax expression, Comware manual notation in data form.
#[derive(Debug, Clone)]
pub enum Syn {
    /// A keyword; `slot` records which keyword was chosen (for `{ a | b }` choices).
    Kw {
        word: &'static str,
        help: Cow<'static, str>,
        slot: Option<Slot>,
    },
    Arg {
        kind: ArgKind,
        help: Cow<'static, str>,
        slot: Slot,
    },
    Seq(Vec<Syn>),
    /// `[ x ]`
    Opt(Box<Syn>),
    /// `{ a | b }`
    Alt(Vec<Syn>),
    /// `[ a | b | c ] *`: each member optional, at most once, in any order.
    Any(Vec<Syn>),
    /// Zero or more times (the `|` filters).
    Repeat(Box<Syn>),
    /// A part of a set command that its `undo` form leaves out: the value being set (the
    /// seconds of `session aging-time state syn 30`, the name of `sysname X`).
    SetOnly(Box<Syn>),
    /// A part of a set command that its `undo` form makes optional: `undo session aging-time
    /// state [syn]` restores one state's default, or every state's.
    UndoOptional(Box<Syn>),
}

/// The word that cancels a setting (§1.4: `undo` + the set command without its values).
pub const UNDO: &str = "undo";

/// The `undo` keyword a cancel command starts with.
pub fn undo_keyword() -> Syn {
    Syn::Kw {
        word: UNDO,
        help: "Cancel current setting".into(),
        slot: None,
    }
}

impl Syn {
    /// The `undo` form of a set command: `undo`, then the set form with its `SetOnly` parts
    /// left out and its `UndoOptional` parts optional. Deriving it keeps the two forms'
    /// keywords and help strings from drifting apart.
    pub fn undo_form(&self) -> Syn {
        let rest = self.without_set_values().unwrap_or(Syn::Seq(Vec::new()));
        Syn::Seq(vec![undo_keyword(), rest])
    }

    /// `None` when nothing of `self` is left in the undo form.
    fn without_set_values(&self) -> Option<Syn> {
        let all = |items: &[Syn]| items.iter().filter_map(Syn::without_set_values).collect();
        Some(match self {
            Syn::Kw { .. } | Syn::Arg { .. } => self.clone(),
            Syn::Seq(items) => Syn::Seq(all(items)),
            Syn::Alt(items) => Syn::Alt(all(items)),
            Syn::Any(items) => Syn::Any(all(items)),
            Syn::Opt(inner) | Syn::UndoOptional(inner) => {
                Syn::Opt(Box::new(inner.without_set_values()?))
            }
            Syn::Repeat(inner) => Syn::Repeat(Box::new(inner.without_set_values()?)),
            Syn::SetOnly(_) => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub(super) enum Tok {
    Kw {
        word: &'static str,
        help: Cow<'static, str>,
        slot: Option<Slot>,
    },
    Arg {
        kind: ArgKind,
        help: Cow<'static, str>,
        slot: Slot,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Edge {
    pub(super) tok: Tok,
    pub(super) to: usize,
}

/// An epsilon move; `bit` marks the entry into a member of an option set, which may be taken
/// only once per command.
#[derive(Debug, Clone, Copy)]
pub(super) struct Eps {
    pub(super) to: usize,
    pub(super) bit: Option<u8>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Node {
    pub(super) edges: Vec<Edge>,
    pub(super) eps: Vec<Eps>,
    pub(super) accept: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Graph {
    pub(super) nodes: Vec<Node>,
}

impl Graph {
    pub(super) fn compile(syn: &Syn) -> Graph {
        let mut g = Graph {
            nodes: vec![Node::default()],
        };
        let mut bits = 0u8;
        let end = g.build(syn, 0, &mut bits);
        // Option-set guards live in a u64 mask.
        debug_assert!(bits <= 64, "too many options in one command");
        g.nodes[end].accept = true;
        g
    }

    fn node(&mut self) -> usize {
        self.nodes.push(Node::default());
        self.nodes.len() - 1
    }

    fn eps(&mut self, from: usize, to: usize, bit: Option<u8>) {
        self.nodes[from].eps.push(Eps { to, bit });
    }

    /// Adds `syn` starting at node `from`; returns the node where it ends.
    fn build(&mut self, syn: &Syn, from: usize, bits: &mut u8) -> usize {
        match syn {
            Syn::Kw { word, help, slot } => self.token(
                from,
                Tok::Kw {
                    word,
                    help: help.clone(),
                    slot: *slot,
                },
            ),
            Syn::Arg { kind, help, slot } => self.token(
                from,
                Tok::Arg {
                    kind: *kind,
                    help: help.clone(),
                    slot,
                },
            ),
            Syn::Seq(items) => items.iter().fold(from, |at, s| self.build(s, at, bits)),
            Syn::Opt(inner) => {
                let out = self.node();
                let end = self.build(inner, from, bits);
                self.eps(end, out, None);
                self.eps(from, out, None);
                out
            }
            Syn::Alt(items) => {
                let out = self.node();
                for s in items {
                    let end = self.build(s, from, bits);
                    self.eps(end, out, None);
                }
                out
            }
            Syn::Any(items) => {
                let hub = self.node();
                self.eps(from, hub, None);
                for s in items {
                    let bit = *bits;
                    *bits = bits.saturating_add(1);
                    let start = self.node();
                    self.eps(hub, start, Some(bit));
                    let end = self.build(s, start, bits);
                    self.eps(end, hub, None);
                }
                hub
            }
            // Markers for the undo form: in the set form they are what they hold.
            Syn::SetOnly(inner) | Syn::UndoOptional(inner) => self.build(inner, from, bits),
            Syn::Repeat(inner) => {
                let hub = self.node();
                self.eps(from, hub, None);
                let start = self.node();
                self.eps(hub, start, None);
                let end = self.build(inner, start, bits);
                self.eps(end, hub, None);
                hub
            }
        }
    }

    fn token(&mut self, from: usize, tok: Tok) -> usize {
        let to = self.node();
        self.nodes[from].edges.push(Edge { tok, to });
        to
    }
}

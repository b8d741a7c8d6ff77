//! The grammar engine: one walker over the command tree (`tree.rs`) that parses a line into an
//! action, answers `?`, completes Tab and places the `^` of Comware's five syntax errors
//! (reference/comware.md §1.2-§1.6).
//!
//! Each command is a small syntax expression (`Syn`) compiled once into a graph whose edges
//! are tokens (keywords or typed arguments) and whose epsilon moves carry the "at most once"
//! guards of option sets. A line is walked token by token over the graphs of every command
//! of the current view at the same time, so prefix abbreviation, ambiguity and the error
//! position are decided across the whole view, as Comware does, and `?`/Tab read the very
//! same frontier the parser would continue from.

use super::pipe::{FilterMode, MAX_FILTERS, OutputFilter, OutputPipe, compile_regex};
use super::view::View;
use std::borrow::Cow;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Comware's edit buffer holds at most 511 characters (§1.3); a longer line can only come
/// through the socket and is refused rather than walked.
pub const MAX_LINE_CHARS: usize = 511;

/// The five syntax errors of §1.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Unrecognized,
    Incomplete,
    Ambiguous,
    TooMany,
    Wrong,
}

impl ErrorKind {
    /// The exact message text of §1.5.
    pub const fn message(self) -> &'static str {
        match self {
            ErrorKind::Unrecognized => "% Unrecognized command found at '^' position.",
            ErrorKind::Incomplete => "% Incomplete command found at '^' position.",
            ErrorKind::Ambiguous => "% Ambiguous command found at '^' position.",
            ErrorKind::TooMany => "% Too many parameters found at '^' position.",
            ErrorKind::Wrong => "% Wrong parameter found at '^' position.",
        }
    }
}

/// A syntax error and where its `^` goes: `column` counts characters of the typed line (the
/// prompt is added when rendering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", kind.message())]
pub struct CliError {
    pub kind: ErrorKind,
    pub column: usize,
}

impl CliError {
    /// The caret line and the message line, for a terminal that has already echoed
    /// `prompt` + line: the caret sits under the first character of the offending token,
    /// counting the prompt, and the message starts with one space (§1.5 layout).
    pub fn caret_lines(&self, prompt: &str) -> String {
        let pad = prompt.chars().count() + self.column;
        format!("{}^\n {}", " ".repeat(pad), self.kind.message())
    }

    /// The echoed line, the caret line and the message, as a transcript shows them.
    pub fn render(&self, prompt: &str, line: &str) -> String {
        format!("{prompt}{line}\n{}", self.caret_lines(prompt))
    }
}

/// What the builder of a command reports when the tokens fit the syntax but not the meaning
/// (e.g. a range whose end is below its start): the error and the index of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub kind: ErrorKind,
    pub token: usize,
}

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
    fn looks_like(self, t: &str) -> bool {
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
fn parse_int(t: &str) -> Option<u32> {
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
}

#[derive(Debug, Clone)]
enum Tok {
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
struct Edge {
    tok: Tok,
    to: usize,
}

/// An epsilon move; `bit` marks the entry into a member of an option set, which may be taken
/// only once per command.
#[derive(Debug, Clone, Copy)]
struct Eps {
    to: usize,
    bit: Option<u8>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    edges: Vec<Edge>,
    eps: Vec<Eps>,
    accept: bool,
}

#[derive(Debug, Clone)]
struct Graph {
    nodes: Vec<Node>,
}

impl Graph {
    fn compile(syn: &Syn) -> Graph {
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

// ------------------------------------------------------------------------------------------
// The pipe (output filters), shared by every display command

pub const PIPE_LINENUM: Slot = "|by-linenum";
pub const PIPE_MODE: Slot = "|mode";
pub const PIPE_REGEX: Slot = "|regex";

/// `[ | [ by-linenum ] { begin | exclude | include } regular-expression ] &<1-128>`.
pub fn pipe_syntax() -> Syn {
    let kw = |word, help: &'static str, slot| Syn::Kw {
        word,
        help: help.into(),
        slot,
    };
    Syn::Repeat(Box::new(Syn::Seq(vec![
        kw("|", "Matching output", None),
        Syn::Opt(Box::new(kw(
            "by-linenum",
            "Display a number before each output line",
            Some(PIPE_LINENUM),
        ))),
        Syn::Alt(vec![
            kw(
                "begin",
                "Display the first line matching the specified regular expression and all subsequent lines",
                Some(PIPE_MODE),
            ),
            kw(
                "exclude",
                "Display all lines not matching the specified regular expression",
                Some(PIPE_MODE),
            ),
            kw(
                "include",
                "Display all lines matching the specified regular expression",
                Some(PIPE_MODE),
            ),
        ]),
        Syn::Arg {
            kind: ArgKind::Regex,
            help: "Regular expression".into(),
            slot: PIPE_REGEX,
        },
    ])))
}

// ------------------------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token's text with quotes and escapes removed.
    pub text: String,
    /// Byte range in the line, quotes included.
    pub start: usize,
    pub end: usize,
    /// Character column in the line (where a `^` would go).
    pub col: usize,
}

/// Splits a line into tokens. A double-quoted token may hold spaces; inside it `\"` and `\\`
/// stand for `"` and `\` (§1.3) and other backslashes are kept (they matter to regexes).
/// An unterminated quote is a wrong parameter at the quote.
pub fn tokenize(line: &str) -> Result<Vec<Token>, CliError> {
    let mut toks = Vec::new();
    let mut it = line.char_indices().enumerate().peekable();
    while let Some(&(col, (start, c))) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        let mut text = String::new();
        let mut end = start;
        let mut quoted = false;
        while let Some(&(_, (at, c))) = it.peek() {
            if c.is_whitespace() && !quoted {
                break;
            }
            it.next();
            end = at + c.len_utf8();
            match c {
                '"' => quoted = !quoted,
                '\\' if quoted => match it.peek() {
                    Some(&(_, (at2, e))) => {
                        it.next();
                        end = at2 + e.len_utf8();
                        if e != '"' && e != '\\' {
                            text.push('\\');
                        }
                        text.push(e);
                    }
                    None => text.push('\\'),
                },
                _ => text.push(c),
            }
        }
        if quoted {
            return Err(CliError {
                kind: ErrorKind::Wrong,
                column: col,
            });
        }
        toks.push(Token {
            text,
            start,
            end,
            col,
        });
    }
    Ok(toks)
}

/// Quotes an argument for a canonical line when it would not survive `tokenize` bare.
pub fn quote(text: &str) -> Cow<'_, str> {
    if !text.is_empty() && !text.contains(|c: char| c.is_whitespace() || c == '"') {
        return text.into();
    }
    let mut q = String::with_capacity(text.len() + 2);
    q.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q.into()
}

// ------------------------------------------------------------------------------------------
// Aliases (§1.3): system-defined, valid only as the first keyword or the second after `undo`.

pub const ALIASES: &[(&str, &str)] = &[
    ("access-list", "acl"),
    ("end", "return"),
    ("exit", "quit"),
    ("hostname", "sysname"),
    ("no", "undo"),
    ("show", "display"),
    ("write", "save"),
];

// ------------------------------------------------------------------------------------------
// Matched values, as builders see them

/// One consumed token: the slot it fills (if any) and its canonical spelling (the full
/// keyword, or the argument as typed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Val {
    pub slot: Option<Slot>,
    pub text: String,
    pub keyword: bool,
    /// Typed as an alias of `text`.
    pub alias: bool,
    pub token: usize,
}

/// The tokens of a complete command, for its builder.
#[derive(Debug, Clone, Copy)]
pub struct Matched<'a> {
    pub vals: &'a [Val],
}

impl<'a> Matched<'a> {
    fn get(&self, slot: Slot) -> Option<&'a Val> {
        self.vals.iter().find(|v| v.slot == Some(slot))
    }
    pub fn has(&self, slot: Slot) -> bool {
        self.get(slot).is_some()
    }
    pub fn text(&self, slot: Slot) -> Option<&'a str> {
        self.get(slot).map(|v| v.text.as_str())
    }
    pub fn u32(&self, slot: Slot) -> Option<u32> {
        self.text(slot).and_then(parse_int)
    }
    pub fn ip(&self, slot: Slot) -> Option<IpAddr> {
        self.text(slot).and_then(|t| t.parse().ok())
    }
    pub fn token(&self, slot: Slot) -> Option<usize> {
        self.get(slot).map(|v| v.token)
    }
    /// The canonical words from the value at `from` (an index into `vals`) on, pipe excluded.
    pub fn canonical_from(&self, from: usize) -> String {
        self.vals
            .iter()
            .skip(from)
            .take_while(|v| !(v.keyword && v.text == "|"))
            .map(|v| {
                if v.keyword {
                    v.text.clone()
                } else {
                    quote(&v.text).into_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
    pub fn index_of(&self, slot: Slot) -> Option<usize> {
        self.vals.iter().position(|v| v.slot == Some(slot))
    }
}

pub type Builder<A> = fn(&Matched<'_>, &View) -> Result<A, Fault>;

/// One command: the views it lives in (bits of `View::bit`), its syntax compiled, and the
/// function that turns its matched tokens into an action.
pub struct Def<A> {
    pub views: u8,
    graph: Graph,
    build: Builder<A>,
}

impl<A> Def<A> {
    pub fn new(views: u8, syn: Syn, build: Builder<A>) -> Def<A> {
        Def {
            views,
            graph: Graph::compile(&syn),
            build,
        }
    }
}

/// A parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<A> {
    pub action: A,
    pub pipe: OutputPipe,
    /// The command with every keyword in full and aliases resolved (pipe included).
    pub canonical: String,
    /// The line as typed with aliases replaced: what the history buffer keeps (H3C "Using
    /// the CLI", command buffering rules).
    pub typed: String,
}

/// One line of `?` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpItem {
    pub label: Cow<'static, str>,
    pub help: Cow<'static, str>,
}

/// Renders help items in the §1.2 layout: two spaces, the label column as wide as the
/// longest label (`<cr>` included) plus two, then the description.
pub fn render_help(items: &[HelpItem]) -> String {
    let w = items
        .iter()
        .map(|i| i.label.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    items
        .iter()
        .map(|i| {
            format!("  {:<w$}{}", i.label, i.help)
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Tab completion: the candidates for the token that starts at byte `start` of the line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    pub start: usize,
    pub candidates: Vec<String>,
}

impl Completion {
    /// The line completed when there is exactly one candidate (with the space Comware adds),
    /// else `None` (several: list or cycle them; none: redisplay the line unchanged, §1.3).
    pub fn apply(&self, line: &str) -> Option<String> {
        match self.candidates.as_slice() {
            [one] => Some(format!("{}{one} ", line.get(..self.start)?)),
            _ => None,
        }
    }
}

// ------------------------------------------------------------------------------------------
// The walker

#[derive(Debug, Clone)]
struct Path {
    cmd: usize,
    node: usize,
    mask: u64,
    vals: Vec<Val>,
}

/// The command tree of all views and the one engine over it.
pub struct Grammar<A> {
    defs: Vec<Def<A>>,
}

/// Where the walk stopped for `?` and Tab: the frontier after the complete tokens.
struct Frontier {
    paths: Vec<Path>,
    alias_ok: bool,
}

impl<A> Grammar<A> {
    pub fn new(defs: Vec<Def<A>>) -> Grammar<A> {
        Grammar { defs }
    }

    fn start(&self, view: &View) -> Vec<Path> {
        let bit = view.bit();
        let paths = self
            .defs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.views & bit != 0)
            .map(|(cmd, _)| Path {
                cmd,
                node: 0,
                mask: 0,
                vals: Vec::new(),
            })
            .collect();
        self.closure(paths)
    }

    fn node(&self, p: &Path) -> &Node {
        &self.defs[p.cmd].graph.nodes[p.node]
    }

    /// All paths reachable through epsilon moves, each (command, node, used options) once.
    fn closure(&self, paths: Vec<Path>) -> Vec<Path> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut stack: Vec<Path> = paths.into_iter().rev().collect();
        while let Some(p) = stack.pop() {
            if !seen.insert((p.cmd, p.node, p.mask)) {
                continue;
            }
            for e in self.node(&p).eps.iter().rev() {
                let mask = match e.bit {
                    Some(b) if p.mask & (1u64 << b) != 0 => continue,
                    Some(b) => p.mask | (1u64 << b),
                    None => p.mask,
                };
                stack.push(Path {
                    cmd: p.cmd,
                    node: e.to,
                    mask,
                    vals: p.vals.clone(),
                });
            }
            out.push(p);
        }
        out
    }

    /// The keyword words at the frontier, with the alias spellings that may stand for them:
    /// (canonical, spelled).
    fn keywords(&self, paths: &[Path], alias_ok: bool) -> Vec<(&'static str, &'static str)> {
        let mut words: Vec<(&'static str, &'static str)> = Vec::new();
        for p in paths {
            for e in &self.node(p).edges {
                if let Tok::Kw { word, .. } = e.tok
                    && !words.iter().any(|(w, _)| *w == word)
                {
                    words.push((word, word));
                }
            }
        }
        if alias_ok {
            for &(alias, target) in ALIASES {
                if words.iter().any(|(w, _)| *w == target) {
                    words.push((target, alias));
                }
            }
        }
        words
    }

    /// Advances every path over one token, or says why none can take it.
    fn step(
        &self,
        paths: &[Path],
        tok: &Token,
        index: usize,
        alias_ok: bool,
    ) -> Result<Vec<Path>, ErrorKind> {
        let t = tok.text.to_ascii_lowercase();
        let words = self.keywords(paths, alias_ok);
        let chosen = match words.iter().find(|(_, s)| *s == t) {
            Some(&(w, s)) => Some((w, s)),
            None => {
                let mut hits: Vec<(&'static str, &'static str)> = Vec::new();
                for &(w, s) in &words {
                    if !t.is_empty() && s.starts_with(&t) && !hits.iter().any(|(h, _)| *h == w) {
                        hits.push((w, s));
                    }
                }
                match hits.as_slice() {
                    [] => None,
                    [one] => Some(*one),
                    _ => return Err(ErrorKind::Ambiguous),
                }
            }
        };
        let mut next = Vec::new();
        if let Some((word, spelled)) = chosen {
            for p in paths {
                for e in &self.node(p).edges {
                    if let Tok::Kw { word: w, slot, .. } = &e.tok
                        && *w == word
                    {
                        let mut vals = p.vals.clone();
                        vals.push(Val {
                            slot: *slot,
                            text: word.to_string(),
                            keyword: true,
                            alias: spelled != word,
                            token: index,
                        });
                        next.push(Path {
                            cmd: p.cmd,
                            node: e.to,
                            mask: p.mask,
                            vals,
                        });
                    }
                }
            }
            return Ok(next);
        }
        let mut any_edge = false;
        let mut wrong = false;
        let mut any_arg = false;
        let mut any_kw = false;
        for p in paths {
            for e in &self.node(p).edges {
                // The `|` after a complete display command is output control, not a
                // parameter: `display version extra` has too many parameters.
                if matches!(e.tok, Tok::Kw { word: "|", .. }) {
                    continue;
                }
                any_edge = true;
                match &e.tok {
                    Tok::Kw { .. } => any_kw = true,
                    Tok::Arg { kind, slot, .. } => {
                        any_arg = true;
                        if kind.accepts(&tok.text) {
                            let mut vals = p.vals.clone();
                            vals.push(Val {
                                slot: Some(slot),
                                text: tok.text.clone(),
                                keyword: false,
                                alias: false,
                                token: index,
                            });
                            next.push(Path {
                                cmd: p.cmd,
                                node: e.to,
                                mask: p.mask,
                                vals,
                            });
                        } else if kind.looks_like(&tok.text) {
                            wrong = true;
                        }
                    }
                }
            }
        }
        if !next.is_empty() {
            Ok(next)
        } else if !any_edge {
            Err(ErrorKind::TooMany)
        } else if wrong || (any_arg && !any_kw) {
            Err(ErrorKind::Wrong)
        } else {
            Err(ErrorKind::Unrecognized)
        }
    }

    /// Walks the tokens; the frontier after the last one.
    fn walk(&self, view: &View, toks: &[Token]) -> Result<Frontier, CliError> {
        let mut paths = self.start(view);
        for (i, tok) in toks.iter().enumerate() {
            let alias_ok = alias_position(i, &paths);
            let next = self
                .step(&paths, tok, i, alias_ok)
                .map_err(|kind| CliError {
                    kind,
                    column: tok.col,
                })?;
            paths = self.closure(next);
        }
        let alias_ok = alias_position(toks.len(), &paths);
        Ok(Frontier { paths, alias_ok })
    }

    /// Parses a line typed in `view`. `Ok(None)` for a blank line or a `#` comment line
    /// (accepted and meaningless, §1.3).
    pub fn parse(&self, view: &View, line: &str) -> Result<Option<Parsed<A>>, CliError> {
        check_length(line)?;
        let toks = tokenize(line)?;
        if toks.is_empty() || toks[0].text.starts_with('#') {
            return Ok(None);
        }
        let frontier = self.walk(view, &toks)?;
        let Some(done) = frontier.paths.iter().find(|p| self.node(p).accept) else {
            return Err(CliError {
                kind: ErrorKind::Incomplete,
                column: line.trim_end().chars().count(),
            });
        };
        let m = Matched { vals: &done.vals };
        let fault_at = |f: Fault| CliError {
            kind: f.kind,
            column: toks.get(f.token).map_or(0, |t| t.col),
        };
        let action = (self.defs[done.cmd].build)(&m, view).map_err(fault_at)?;
        let pipe = pipe_of(&m).map_err(fault_at)?;
        let canonical = done
            .vals
            .iter()
            .map(|v| {
                if v.keyword {
                    v.text.clone()
                } else {
                    quote(&v.text).into_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let typed = toks
            .iter()
            .zip(&done.vals)
            .map(|(t, v)| {
                if v.alias {
                    v.text.as_str()
                } else {
                    line.get(t.start..t.end).unwrap_or("")
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Some(Parsed {
            action,
            pipe,
            canonical,
            typed,
        }))
    }

    /// `?` help for a line (the `?` itself not included). With a space (or nothing) before
    /// the `?` it lists the next tokens; right after a partial word it lists the keywords that
    /// word starts (§1.2). Items are in ASCII order (argument labels, then keywords, then `|`),
    /// with `<cr>` last when the command could end here.
    pub fn help(&self, view: &View, line: &str) -> Result<Vec<HelpItem>, CliError> {
        check_length(line)?;
        let toks = tokenize(line)?;
        let partial = !line.is_empty() && !line.ends_with(char::is_whitespace);
        let (done, last) = match (partial, toks.split_last()) {
            (true, Some((last, done))) => (done, Some(last)),
            _ => (toks.as_slice(), None),
        };
        let frontier = self.walk(view, done)?;
        let mut items: Vec<HelpItem> = Vec::new();
        let prefix = last.map(|t| t.text.to_ascii_lowercase());
        for p in &frontier.paths {
            for e in &self.node(p).edges {
                match &e.tok {
                    Tok::Kw { word, help, .. } => {
                        if prefix.as_deref().is_none_or(|x| word.starts_with(x)) {
                            push(&mut items, (*word).into(), help.clone());
                        }
                    }
                    Tok::Arg { kind, help, .. } => {
                        if prefix.is_none() {
                            push(&mut items, kind.label(), help.clone());
                        }
                    }
                }
            }
        }
        if frontier.alias_ok {
            for &(alias, target) in ALIASES {
                let present = frontier.paths.iter().any(|p| {
                    self.node(p)
                        .edges
                        .iter()
                        .any(|e| matches!(e.tok, Tok::Kw { word, .. } if word == target))
                });
                if present && prefix.as_deref().is_none_or(|x| alias.starts_with(x)) {
                    push(
                        &mut items,
                        alias.into(),
                        Cow::Owned(format!("Alias for '{target}'")),
                    );
                }
            }
        }
        if let Some(last) = last
            && items.is_empty()
        {
            // No keyword starts so; an argument the partial text already fits is shown, as
            // Comware shows the argument's help for `1?` at a number.
            for p in &frontier.paths {
                for e in &self.node(p).edges {
                    if let Tok::Arg { kind, help, .. } = &e.tok
                        && (kind.accepts(&last.text) || kind.looks_like(&last.text))
                    {
                        push(&mut items, kind.label(), help.clone());
                    }
                }
            }
            if items.is_empty() {
                return Err(CliError {
                    kind: ErrorKind::Unrecognized,
                    column: last.col,
                });
            }
        }
        items.sort_by(|a, b| a.label.cmp(&b.label));
        if last.is_none() && frontier.paths.iter().any(|p| self.node(p).accept) {
            items.push(HelpItem {
                label: "<cr>".into(),
                help: "".into(),
            });
        }
        Ok(items)
    }

    /// Tab completion of the token under the cursor (the end of `line`): the keywords (and
    /// aliases) it is a prefix of. Nothing for an argument position or an empty word.
    pub fn complete(&self, view: &View, line: &str) -> Completion {
        let none = Completion {
            start: line.len(),
            candidates: Vec::new(),
        };
        if check_length(line).is_err() || line.is_empty() || line.ends_with(char::is_whitespace) {
            return none;
        }
        let Ok(toks) = tokenize(line) else {
            return none;
        };
        let Some((last, done)) = toks.split_last() else {
            return none;
        };
        let Ok(frontier) = self.walk(view, done) else {
            return none;
        };
        let prefix = last.text.to_ascii_lowercase();
        let mut candidates: Vec<String> = self
            .keywords(&frontier.paths, frontier.alias_ok)
            .into_iter()
            .filter(|(_, s)| s.starts_with(&prefix))
            .map(|(_, s)| s.to_string())
            .collect();
        candidates.sort();
        candidates.dedup();
        Completion {
            start: last.start,
            candidates,
        }
    }
}

/// Adds a help line unless one with the same label is there (the same keyword reached
/// through several commands is listed once).
fn push(items: &mut Vec<HelpItem>, label: Cow<'static, str>, help: Cow<'static, str>) {
    if !items.iter().any(|i| i.label == label) {
        items.push(HelpItem { label, help });
    }
}

#[cfg(test)]
impl<A> Grammar<A> {
    /// A line made by walking the tree, each step chosen by the next byte of `picks`: full
    /// keywords and a valid sample for each argument, stopping (where the command may end)
    /// when a byte says so. Lets property tests reach deep into every command.
    pub(crate) fn sample_line(&self, view: &View, picks: &[u8]) -> String {
        let mut paths = self.start(view);
        let mut words: Vec<String> = Vec::new();
        for (i, &pick) in picks.iter().enumerate() {
            if pick % 5 == 0 && paths.iter().any(|p| self.node(p).accept) {
                break;
            }
            let mut choices: Vec<String> = Vec::new();
            for p in &paths {
                for e in &self.node(p).edges {
                    let word = match &e.tok {
                        Tok::Kw { word, .. } => (*word).to_string(),
                        Tok::Arg { kind, .. } => sample(*kind, pick),
                    };
                    if !choices.contains(&word) {
                        choices.push(word);
                    }
                }
            }
            if choices.is_empty() {
                break;
            }
            let word = choices[usize::from(pick) / 5 % choices.len()].clone();
            let line = format!("{} {}", words.join(" "), quote(&word));
            let Ok(toks) = tokenize(&line) else { break };
            let Some(tok) = toks.last() else { break };
            let alias_ok = alias_position(i, &paths);
            match self.step(&paths, tok, i, alias_ok) {
                Ok(next) => paths = self.closure(next),
                Err(_) => break,
            }
            words.push(quote(&word).into_owned());
        }
        words.join(" ")
    }
}

#[cfg(test)]
fn sample(kind: ArgKind, pick: u8) -> String {
    let n = u32::from(pick);
    match kind {
        ArgKind::Ipv4 => format!("10.0.{}.{}", n % 3, n),
        ArgKind::Wildcard => ["0", "0.0.0.255", "0.0.255.255"][usize::from(pick) % 3].into(),
        ArgKind::Ipv6 => format!("2001:db8::{:x}", n % 7),
        ArgKind::Ipv6Prefix => format!("2001:db8::/{}", n % 128 + 1),
        ArgKind::Int { min, max } => {
            [min, max, min + (max - min) / 2][usize::from(pick) % 3].to_string()
        }
        ArgKind::Str { .. } => ["vpn1", "a b", "x\"y"][usize::from(pick) % 3].into(),
        ArgKind::CfgFile => "backup.cfg".into(),
        ArgKind::Regex => ["ab|c", "^ rule", "\\<s"][usize::from(pick) % 3].into(),
    }
}

/// Aliases apply to the first token, or the second after `undo` (§1.3).
fn alias_position(index: usize, paths: &[Path]) -> bool {
    index == 0
        || (index == 1
            && paths
                .first()
                .and_then(|p| p.vals.first())
                .is_some_and(|v| v.keyword && v.text == "undo"))
}

fn check_length(line: &str) -> Result<(), CliError> {
    if line.chars().count() > MAX_LINE_CHARS {
        return Err(CliError {
            kind: ErrorKind::TooMany,
            column: MAX_LINE_CHARS,
        });
    }
    Ok(())
}

/// Gathers the `|` filters of a matched display command.
fn pipe_of(m: &Matched<'_>) -> Result<OutputPipe, Fault> {
    let mut pipe = OutputPipe::default();
    let mut mode = None;
    for v in m.vals {
        match v.slot {
            Some(PIPE_LINENUM) => pipe.by_linenum = true,
            Some(PIPE_MODE) => {
                mode = Some(match v.text.as_str() {
                    "begin" => FilterMode::Begin,
                    "exclude" => FilterMode::Exclude,
                    _ => FilterMode::Include,
                })
            }
            Some(PIPE_REGEX) => {
                let f = mode
                    .take()
                    .and_then(|mode| OutputFilter::new(mode, &v.text))
                    .ok_or(Fault {
                        kind: ErrorKind::Wrong,
                        token: v.token,
                    })?;
                if pipe.filters.len() == MAX_FILTERS {
                    return Err(Fault {
                        kind: ErrorKind::TooMany,
                        token: v.token,
                    });
                }
                pipe.filters.push(f);
            }
            _ => {}
        }
    }
    Ok(pipe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(line: &str) -> Vec<(String, usize)> {
        tokenize(line)
            .unwrap()
            .into_iter()
            .map(|t| (t.text, t.col))
            .collect()
    }

    #[test]
    fn tokens_carry_their_columns_and_lose_their_quotes() {
        assert_eq!(
            texts("  display  session"),
            [("display".into(), 2), ("session".into(), 11)]
        );
        assert_eq!(
            texts(r#"sysname "a b" "x\"y\\z" "\d""#),
            [
                ("sysname".into(), 0),
                ("a b".into(), 8),
                (r#"x"y\z"#.into(), 14),
                (r"\d".into(), 24)
            ]
        );
        // Columns count characters, not bytes.
        assert_eq!(texts("é x"), [("é".into(), 0), ("x".into(), 2)]);
        assert_eq!(
            tokenize(r#"a "open"#),
            Err(CliError {
                kind: ErrorKind::Wrong,
                column: 2
            })
        );
    }

    #[test]
    fn help_layout() {
        let items = [
            HelpItem {
                label: "debugging".into(),
                help: "Enable to display debugging logs on the current terminal".into(),
            },
            HelpItem {
                label: "monitor".into(),
                help: "Enable to display logs on the current terminal".into(),
            },
        ];
        // §1.2's `terminal ?` example.
        assert_eq!(
            render_help(&items),
            "  debugging  Enable to display debugging logs on the current terminal\n  monitor    Enable to display logs on the current terminal"
        );
    }

    #[test]
    fn argument_kinds() {
        let int = ArgKind::Int { min: 1, max: 100 };
        assert!(int.accepts("1") && int.accepts("100"));
        for bad in ["0", "101", "+5", "-1", "0x10", "", "99999999999"] {
            assert!(!int.accepts(bad), "{bad}");
        }
        assert!(ArgKind::Wildcard.accepts("0") && ArgKind::Wildcard.accepts("0.0.0.255"));
        assert!(ArgKind::Ipv6Prefix.accepts("2001:db8::/32"));
        assert!(!ArgKind::Ipv6Prefix.accepts("2001:db8::/0"));
        assert!(!ArgKind::Ipv6Prefix.accepts("2001:db8::"));
        assert!(ArgKind::CfgFile.accepts("a.CFG") && !ArgKind::CfgFile.accepts(".cfg"));
        assert!(!ArgKind::CfgFile.accepts("éé.cf"));
        let s = ArgKind::Str { min: 1, max: 3 };
        assert!(s.accepts("abc") && !s.accepts("abcd") && !s.accepts("a?"));
    }

    proptest! {
        #[test]
        fn quoting_survives_tokenizing(s in "\\PC{0,40}") {
            let q = quote(&s);
            let toks = tokenize(&q).unwrap();
            prop_assert_eq!(toks.len(), 1);
            prop_assert_eq!(&toks[0].text, &s);
        }
    }
}

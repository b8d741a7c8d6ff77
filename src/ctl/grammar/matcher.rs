//! The walker: a line is walked token by token over the graphs of every command of the
//! current view at the same time, so prefix abbreviation, ambiguity and the error position
//! are decided across the whole view, as Comware does. What a complete command matched goes
//! to its builder; the `|` filters of a display command are split off here.

use super::error::{CliError, ErrorKind, Fault};
use super::syntax::{ArgKind, Graph, Node, Slot, Syn, Tok, UNDO, parse_int};
use super::tokens::{Token, check_length, quote, tokenize};
use crate::ctl::files::Redirect;
use crate::ctl::pipe::{FilterMode, MAX_FILTERS, OutputFilter, OutputPipe};
use crate::ctl::view::View;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

// ------------------------------------------------------------------------------------------
// Aliases (§1.3): system-defined, valid only as the first keyword or the second after `undo`.

pub const ALIASES: &[(&str, &str)] = &[
    ("access-list", "acl"),
    ("end", "return"),
    ("exit", "quit"),
    ("hostname", "sysname"),
    ("no", UNDO),
    ("show", "display"),
    ("write", "save"),
];

// ------------------------------------------------------------------------------------------
// The pipe (output filters), shared by every display command

pub const PIPE_LINENUM: Slot = "|by-linenum";
pub const PIPE_MODE: Slot = "|mode";
pub const PIPE_REGEX: Slot = "|regex";
/// `>` or `>>`, and the file after it.
pub const PIPE_REDIRECT: Slot = ">";
pub const PIPE_FILE: Slot = ">file";

/// The words that end a filter's regular expression: the next filter or a redirection.
const PIPE_WORDS: [&str; 3] = ["|", ">", ">>"];

/// `[ | [ by-linenum ] { begin | exclude | include } regular-expression ] &<1-128>
/// [ > filename | >> filename ]`. A regular expression runs to the end of the line or to the
/// next word that is `|`, `>` or `>>` standing alone (see `Grammar::join_regexes`).
pub fn pipe_syntax() -> Syn {
    let kw = |word, help: &'static str, slot| Syn::Kw {
        word,
        help: help.into(),
        slot,
    };
    let file = || Syn::Arg {
        kind: ArgKind::Str { min: 1, max: 255 },
        help: "Name of the file".into(),
        slot: PIPE_FILE,
    };
    let filters = Syn::Repeat(Box::new(Syn::Seq(vec![
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
    ])));
    let redirect = Syn::Opt(Box::new(Syn::Alt(vec![
        Syn::Seq(vec![
            kw(">", "Redirect it to a file", Some(PIPE_REDIRECT)),
            file(),
        ]),
        Syn::Seq(vec![
            kw(
                ">>",
                "Redirect it to a file in append mode",
                Some(PIPE_REDIRECT),
            ),
            file(),
        ]),
    ])));
    Syn::Seq(vec![filters, redirect])
}

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
    /// The canonical words from the value at `from` (an index into `vals`) on, pipe and
    /// redirection excluded.
    pub fn canonical_from(&self, from: usize) -> String {
        self.vals
            .iter()
            .skip(from)
            .take_while(|v| !(v.keyword && PIPE_WORDS.contains(&v.text.as_str())))
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
    /// Whether this is the `undo` form of the command (typed `undo` or its alias `no`).
    pub fn is_undo(&self) -> bool {
        self.vals
            .first()
            .is_some_and(|v| v.keyword && v.text == UNDO)
    }
}

/// Turns the matched tokens of a command typed in a view into its action. Shared by a set
/// command and its derived `undo` form (the builder asks `Matched::is_undo`).
pub type Builder<A> = Arc<dyn Fn(&Matched<'_>, &View) -> Result<A, Fault> + Send + Sync>;

/// One command: the views it lives in (bits of `View::bit`), its syntax compiled, and the
/// function that turns its matched tokens into an action.
pub struct Def<A> {
    pub views: u8,
    graph: Graph,
    build: Builder<A>,
}

impl<A: 'static> Def<A> {
    pub fn new(
        views: u8,
        syn: Syn,
        build: impl Fn(&Matched<'_>, &View) -> Result<A, Fault> + Send + Sync + 'static,
    ) -> Def<A> {
        Def {
            views,
            graph: Graph::compile(&syn),
            build: Arc::new(build),
        }
    }

    /// A set command and its `undo` form, derived from the set form's syntax
    /// (`Syn::undo_form`), with one builder for both.
    pub fn set_and_undo(
        views: u8,
        syn: Syn,
        build: impl Fn(&Matched<'_>, &View) -> Result<A, Fault> + Send + Sync + 'static,
    ) -> [Def<A>; 2] {
        let build: Builder<A> = Arc::new(build);
        [
            Def {
                views,
                graph: Graph::compile(&syn),
                build: build.clone(),
            },
            Def {
                views,
                graph: Graph::compile(&syn.undo_form()),
                build,
            },
        ]
    }

    /// The same command building a wider action (an area's command as the console's
    /// `Action`).
    pub fn map<B: 'static>(self, wrap: fn(A) -> B) -> Def<B> {
        let build = self.build;
        Def {
            views: self.views,
            graph: self.graph,
            build: Arc::new(move |m, view| build(m, view).map(wrap)),
        }
    }
}

/// A parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<A> {
    pub action: A,
    pub pipe: OutputPipe,
    /// `> FILE` / `>> FILE`: the output goes to a file in flash:/ (files.rs).
    pub redirect: Option<Redirect>,
    /// The command with every keyword in full and aliases resolved (pipe included).
    pub canonical: String,
    /// The line as typed with aliases replaced: what the history buffer keeps (H3C "Using
    /// the CLI", command buffering rules).
    pub typed: String,
}

// ------------------------------------------------------------------------------------------
// The walker

#[derive(Debug, Clone)]
pub(super) struct Path {
    cmd: usize,
    node: usize,
    mask: u64,
    pub(super) vals: Vec<Val>,
}

/// The command tree of all views and the one engine over it.
pub struct Grammar<A> {
    defs: Vec<Def<A>>,
}

/// Where the walk stopped for `?` and Tab: the frontier after the complete tokens.
pub(super) struct Frontier {
    pub(super) paths: Vec<Path>,
    pub(super) alias_ok: bool,
}

impl<A> Grammar<A> {
    pub fn new(defs: Vec<Def<A>>) -> Grammar<A> {
        Grammar { defs }
    }

    pub(super) fn start(&self, view: &View) -> Vec<Path> {
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

    pub(super) fn node(&self, p: &Path) -> &Node {
        &self.defs[p.cmd].graph.nodes[p.node]
    }

    /// All paths reachable through epsilon moves, each (command, node, used options) once.
    pub(super) fn closure(&self, paths: Vec<Path>) -> Vec<Path> {
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
    pub(super) fn keywords(
        &self,
        paths: &[Path],
        alias_ok: bool,
    ) -> Vec<(&'static str, &'static str)> {
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
    pub(super) fn step(
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
                // The `|`, `>` and `>>` after a complete display command are output
                // control, not parameters: `display version extra` has too many parameters.
                if matches!(e.tok, Tok::Kw { word, .. } if PIPE_WORDS.contains(&word)) {
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
    pub(super) fn walk(&self, view: &View, toks: &[Token]) -> Result<Frontier, CliError> {
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

    /// The tokens of `line` with each filter's regular expression joined into one token: the
    /// words from the one after `begin`/`exclude`/`include` up to the next word that is `|`,
    /// `>` or `>>` standing alone (unquoted), or the end of the line. The expression's first
    /// word is always its own, whatever it is. Quotes come off each word as for any argument
    /// and the spaces between words are kept as typed, so `| include rule 0` filters on
    /// `rule 0` and `| include "a | b"` on `a | b`. The walk stops joining where the line
    /// goes wrong: the real walk reports the error there.
    pub(super) fn join_regexes(&self, view: &View, line: &str, toks: Vec<Token>) -> Vec<Token> {
        let mut paths = self.start(view);
        let mut out: Vec<Token> = Vec::with_capacity(toks.len());
        let mut i = 0;
        while i < toks.len() {
            let regex_here = paths.iter().any(|p| {
                self.node(p).edges.iter().any(|e| {
                    matches!(
                        e.tok,
                        Tok::Arg {
                            kind: ArgKind::Regex,
                            ..
                        }
                    )
                })
            });
            let end = if regex_here {
                (i + 1..toks.len())
                    .find(|&j| {
                        let t = &toks[j];
                        PIPE_WORDS.contains(&t.text.as_str())
                            && line.get(t.start..t.end) == Some(t.text.as_str())
                    })
                    .unwrap_or(toks.len())
            } else {
                i + 1
            };
            let tok = join(line, &toks[i..end]);
            i = end;
            let alias_ok = alias_position(out.len(), &paths);
            match self.step(&paths, &tok, out.len(), alias_ok) {
                Ok(next) => paths = self.closure(next),
                Err(_) => {
                    out.push(tok);
                    out.extend_from_slice(&toks[i..]);
                    return out;
                }
            }
            out.push(tok);
        }
        out
    }

    /// Parses a line typed in `view`. `Ok(None)` for a blank line, a `#` comment line, or a
    /// `version ...` line in a configuration view (accepted and meaningless, §1.3: a pasted
    /// or saved configuration may start with one).
    pub fn parse(&self, view: &View, line: &str) -> Result<Option<Parsed<A>>, CliError> {
        check_length(line)?;
        let toks = tokenize(line)?;
        if toks.is_empty() || toks[0].text.starts_with('#') || is_version_line(view, &toks) {
            return Ok(None);
        }
        let toks = self.join_regexes(view, line, toks);
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
        let (pipe, redirect) = pipe_of(&m).map_err(fault_at)?;
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
            redirect,
            canonical,
            typed,
        }))
    }
}

/// Consecutive tokens as one: their texts with the line's own spacing between them.
fn join(line: &str, toks: &[Token]) -> Token {
    let (Some(first), Some(last)) = (toks.first(), toks.last()) else {
        return Token {
            text: String::new(),
            start: line.len(),
            end: line.len(),
            col: line.chars().count(),
        };
    };
    let mut text = first.text.clone();
    for pair in toks.windows(2) {
        text.push_str(line.get(pair[0].end..pair[1].start).unwrap_or(" "));
        text.push_str(&pair[1].text);
    }
    Token {
        text,
        start: first.start,
        end: last.end,
        col: first.col,
    }
}

/// `version 7.1.064, Release 0821P16`: the software version a saved Comware configuration
/// opens with. In a configuration view it is taken and ignored, whatever follows; in user
/// view it is no command (ours: user view holds no configuration).
fn is_version_line(view: &View, toks: &[Token]) -> bool {
    *view != View::User
        && toks
            .first()
            .is_some_and(|t| t.text.eq_ignore_ascii_case("version"))
}

/// Aliases apply to the first token, or the second after `undo` (§1.3).
pub(super) fn alias_position(index: usize, paths: &[Path]) -> bool {
    index == 0
        || (index == 1
            && paths
                .first()
                .and_then(|p| p.vals.first())
                .is_some_and(|v| v.keyword && v.text == UNDO))
}

/// Gathers the `|` filters and the redirection of a matched display command.
fn pipe_of(m: &Matched<'_>) -> Result<(OutputPipe, Option<Redirect>), Fault> {
    let mut pipe = OutputPipe::default();
    let mut redirect = None;
    let mut mode = None;
    let mut append = None;
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
            Some(PIPE_REDIRECT) => append = Some(v.text == ">>"),
            Some(PIPE_FILE) => {
                redirect = Some(Redirect {
                    file: v.text.clone(),
                    append: append.take().unwrap_or(false),
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
    Ok((pipe, redirect))
}

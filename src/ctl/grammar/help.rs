//! `?` and Tab: they read the very frontier the parser would continue from, so help,
//! completion and parsing never disagree (reference/comware.md §1.2, §1.3).

use super::error::{CliError, ErrorKind};
use super::matcher::{ALIASES, Grammar};
use super::syntax::Tok;
use super::tokens::{check_length, tokenize};
use crate::ctl::view::View;
use std::borrow::Cow;

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

impl<A> Grammar<A> {
    /// `?` help for a line (the `?` itself not included). With a space (or nothing) before
    /// the `?` it lists the next tokens; right after a partial word it lists the keywords that
    /// word starts (§1.2). Items are in ASCII order (argument labels, then keywords, then `|`),
    /// with `<cr>` last when the command could end here.
    pub fn help(&self, view: &View, line: &str) -> Result<Vec<HelpItem>, CliError> {
        check_length(line)?;
        let toks = self.join_regexes(view, line, tokenize(line)?);
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
        let toks = self.join_regexes(view, line, toks);
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

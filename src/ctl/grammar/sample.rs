//! Lines made by walking the command tree, for the property tests: they reach deep into every
//! command, where random text would mostly fail at the first word.

use super::matcher::{Grammar, alias_position};
use super::syntax::{ArgKind, Tok};
use super::tokens::{quote, tokenize};
use crate::ctl::view::View;

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

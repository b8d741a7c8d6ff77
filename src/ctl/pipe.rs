//! The output pipes of display commands (`| [by-linenum] {begin|exclude|include} REGEX`,
//! reference/comware.md §1.6): Comware's regular expressions translated to the `regex`
//! crate's dialect, and the filters applied to a command's output, whole or a piece at a
//! time. The grammar splits the pipe off the command line; nothing here knows the grammar.
//! A `> FILE` / `>> FILE` redirection is split off with them (`Parsed::redirect`, files.rs).

use regex::{Regex, RegexBuilder};

/// A filter's regular expression is 1-256 characters (H3C "Using the CLI").
pub const MAX_REGEX_CHARS: usize = 256;

/// At most 128 `|` filters per display command (§1.6).
pub const MAX_FILTERS: usize = 128;

/// What `_` stands for inside an expression: a comma, a space, a round or a curly bracket.
const DELIMITER_CLASS: &str = "[ ,(){}]";

/// Translates a Comware regular expression (H3C "Using the CLI", special characters table)
/// to the `regex` crate's dialect. The dialects agree on `^ $ . * + | ( ) [ ] [^ ] {n,m}
/// \b \B \w \W`; Comware's word anchors `\<` and `\>` become `\b`; inside brackets a `]`
/// right after `[` or `[^` is literal, and `[ & ~` are escaped because the crate reads them
/// as class operators. `_` is Comware's delimiter: at the very start of the expression it is
/// `^`, at its very end `$`, anywhere else a comma, space, round or curly bracket (`a_b`
/// matches `a b` and `a(b`; `_ab` only a line starting with `ab`); `\_` and `_` inside
/// brackets are a plain underscore. Back-references (`\1`) have no equivalent: `None`.
pub fn translate_regex(pattern: &str) -> Option<String> {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern
        .chars()
        .enumerate()
        .map(|(i, c)| (i == 0, c))
        .peekable();
    let mut in_class = false;
    while let Some((first, c)) = chars.next() {
        let last = chars.peek().is_none();
        match c {
            '_' if !in_class && first => out.push('^'),
            '_' if !in_class && last => out.push('$'),
            '_' if !in_class => out.push_str(DELIMITER_CLASS),
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('<' | '>') if !in_class => out.push_str(r"\b"),
                Some(d) if d.is_ascii_digit() => return None,
                Some(x @ ('b' | 'B' | 'w' | 'W')) => {
                    out.push('\\');
                    out.push(x);
                }
                Some(x) => out.push_str(&regex::escape(&x.to_string())),
                None => out.push_str(r"\\"),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek().is_some_and(|&(_, c)| c == '^') {
                    chars.next();
                    out.push('^');
                }
                if chars.peek().is_some_and(|&(_, c)| c == ']') {
                    chars.next();
                    out.push_str(r"\]");
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// Compiles a filter's expression; `None` when it is too long, empty or invalid. The size
/// limit keeps a hostile pattern from costing the control plane more than a moment.
pub fn compile_regex(pattern: &str) -> Option<Regex> {
    let n = pattern.chars().count();
    if n == 0 || n > MAX_REGEX_CHARS {
        return None;
    }
    let translated = translate_regex(pattern)?;
    RegexBuilder::new(&translated)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .ok()
}

// ------------------------------------------------------------------------------------------
// Output filters (`| [by-linenum] {begin|exclude|include} REGEX`, §1.6)

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterMode {
    Begin,
    Exclude,
    Include,
}

impl FilterMode {
    pub const fn keyword(self) -> &'static str {
        match self {
            FilterMode::Begin => "begin",
            FilterMode::Exclude => "exclude",
            FilterMode::Include => "include",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OutputFilter {
    pub mode: FilterMode,
    pub pattern: String,
    regex: Regex,
}

impl PartialEq for OutputFilter {
    fn eq(&self, other: &Self) -> bool {
        self.mode == other.mode && self.pattern == other.pattern
    }
}

impl Eq for OutputFilter {}

impl OutputFilter {
    pub fn new(mode: FilterMode, pattern: &str) -> Option<OutputFilter> {
        Some(OutputFilter {
            mode,
            pattern: pattern.to_string(),
            regex: compile_regex(pattern)?,
        })
    }

    pub fn is_match(&self, line: &str) -> bool {
        self.regex.is_match(line)
    }
}

/// The filters split off a display command. Empty = show everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputPipe {
    pub by_linenum: bool,
    pub filters: Vec<OutputFilter>,
}

impl OutputPipe {
    pub fn is_empty(&self) -> bool {
        !self.by_linenum && self.filters.is_empty()
    }

    /// Applies the filters to a command's output. A line is shown when it meets every
    /// condition (`begin`: at or after the first line its expression matches). Line numbers
    /// are 5 characters wide, then `:` or, for a line after a `begin` match that does not
    /// match itself, `-` (H3C "Using the CLI", by-linenum example).
    pub fn apply(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        let mut s = self.apply_piece(&mut PipeState::default(), text);
        // Text without a final newline keeps none, even when its last line was filtered out.
        if !text.ends_with('\n') && s.ends_with('\n') {
            s.pop();
        }
        s
    }

    /// `apply` for output that arrives in pieces of whole lines (a paged session table):
    /// `state` carries the line number and the `begin` matches from one piece to the next,
    /// so the pieces filtered one by one give what `apply` gives for their concatenation.
    pub fn apply_piece(&self, state: &mut PipeState, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        state.begun.resize(self.filters.len(), false);
        let mut out = String::new();
        for piece in text.split_inclusive('\n') {
            let line = piece.strip_suffix('\n').unwrap_or(piece);
            state.line += 1;
            let mut show = true;
            let mut begin_miss = false;
            for (f, begun) in self.filters.iter().zip(state.begun.iter_mut()) {
                let m = f.is_match(line);
                match f.mode {
                    FilterMode::Include => show &= m,
                    FilterMode::Exclude => show &= !m,
                    FilterMode::Begin => {
                        *begun |= m;
                        show &= *begun;
                        begin_miss |= !m;
                    }
                }
            }
            if !show {
                continue;
            }
            if self.by_linenum {
                let mark = if begin_miss { '-' } else { ':' };
                out.push_str(&format!("{:>5}{mark} ", state.line));
            }
            out.push_str(piece);
        }
        out
    }
}

/// Where a piecewise `OutputPipe::apply_piece` has got to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipeState {
    line: usize,
    begun: Vec<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn comware_regexes_translate() {
        for (comware, ours) in [
            ("def|int", Some("def|int")),
            (r"\<do", Some(r"\bdo")),
            (r"do\>", Some(r"do\b")),
            (r"er\b", Some(r"er\b")),
            ("[]abc]", Some(r"[\]abc]")),
            ("[^]a]", Some(r"[^\]a]")),
            ("[a&&b~[]", Some(r"[a\&\&b\~\[]")),
            (r"\^\.", Some(r"\^\.")),
            (r"(string)\1", None),
        ] {
            assert_eq!(translate_regex(comware).as_deref(), ours, "{comware}");
        }
        let f = OutputFilter::new(FilterMode::Include, r"\<do").unwrap();
        assert!(f.is_match("domain") && f.is_match("a doa") && !f.is_match("undo"));
        assert!(compile_regex("").is_none());
        assert!(compile_regex(&"a".repeat(256)).is_some());
        assert!(compile_regex(&"a".repeat(257)).is_none());
        assert!(compile_regex("a(").is_none());
    }

    /// H3C's special characters table: `_` is `^` first, `$` last, and a comma, space, round
    /// or curly bracket anywhere else.
    #[test]
    fn underscore_is_a_delimiter() {
        for (comware, ours) in [
            ("a_b", "a[ ,(){}]b"),
            ("_ab", "^ab"),
            ("ab_", "ab$"),
            ("_a_b_", "^a[ ,(){}]b$"),
            (r"a\_b", "a_b"),
            ("[_]", "[_]"),
            ("_", "^"),
        ] {
            assert_eq!(translate_regex(comware).as_deref(), Some(ours), "{comware}");
        }
        let f = OutputFilter::new(FilterMode::Include, "rule_0").unwrap();
        for line in ["rule 0", "rule,0", "rule(0", "rule)0", "rule{0", "rule}0"] {
            assert!(f.is_match(line), "{line}");
        }
        assert!(!f.is_match("rule_0") && !f.is_match("rule-0") && !f.is_match("rule0"));
        let f = OutputFilter::new(FilterMode::Include, "_acl").unwrap();
        assert!(f.is_match("acl advanced 3000") && !f.is_match(" acl x"));
        let f = OutputFilter::new(FilterMode::Include, "tcp_").unwrap();
        assert!(f.is_match(" rule 5 permit tcp") && !f.is_match("tcp x"));
        let f = OutputFilter::new(FilterMode::Include, r"a\_b").unwrap();
        assert!(f.is_match("a_b") && !f.is_match("a b"));
    }

    fn pipe(by_linenum: bool, filters: &[(FilterMode, &str)]) -> OutputPipe {
        OutputPipe {
            by_linenum,
            filters: filters
                .iter()
                .map(|(m, p)| OutputFilter::new(*m, p).unwrap())
                .collect(),
        }
    }

    #[test]
    fn output_filters() {
        let text = "#\n sysname S\n#\nacl advanced 3000\n rule 5 permit tcp\n#\nreturn\n";
        assert_eq!(pipe(false, &[]).apply(text), text);
        assert_eq!(
            pipe(false, &[(FilterMode::Include, "rule|sysname")]).apply(text),
            " sysname S\n rule 5 permit tcp\n"
        );
        assert_eq!(
            pipe(false, &[(FilterMode::Exclude, "^#")]).apply(text),
            " sysname S\nacl advanced 3000\n rule 5 permit tcp\nreturn\n"
        );
        assert_eq!(
            pipe(false, &[(FilterMode::Begin, "^acl")]).apply(text),
            "acl advanced 3000\n rule 5 permit tcp\n#\nreturn\n"
        );
        assert_eq!(
            pipe(true, &[(FilterMode::Begin, "acl")]).apply(text),
            "    4: acl advanced 3000\n    5-  rule 5 permit tcp\n    6- #\n    7- return\n"
        );
        assert_eq!(
            pipe(true, &[(FilterMode::Include, "S$")]).apply(text),
            "    2:  sysname S\n"
        );
        assert_eq!(
            pipe(
                false,
                &[(FilterMode::Begin, "acl"), (FilterMode::Exclude, "#")]
            )
            .apply(text),
            "acl advanced 3000\n rule 5 permit tcp\nreturn\n"
        );
        assert_eq!(pipe(false, &[(FilterMode::Include, "zzz")]).apply(text), "");
    }

    #[test]
    fn output_filters_in_pieces_equal_the_whole() {
        let text = "#\n sysname S\n#\nacl advanced 3000\n rule 5 permit tcp\n#\nreturn\n";
        let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
        for p in [
            pipe(false, &[]),
            pipe(false, &[(FilterMode::Include, "rule|sysname")]),
            pipe(true, &[(FilterMode::Begin, "acl")]),
            pipe(
                true,
                &[(FilterMode::Begin, "acl"), (FilterMode::Exclude, "#")],
            ),
        ] {
            // Every way of cutting the text in two at line ends.
            for &cut in &ends {
                let mut st = PipeState::default();
                let pieces =
                    p.apply_piece(&mut st, &text[..cut]) + &p.apply_piece(&mut st, &text[cut..]);
                assert_eq!(pieces, p.apply(text), "cut at {cut}");
            }
        }
    }

    proptest! {
        #[test]
        fn regexes_never_panic(s in "\\PC{0,64}") {
            if let Some(f) = OutputFilter::new(FilterMode::Begin, &s) {
                let _ = OutputPipe { by_linenum: true, filters: vec![f] }.apply("a\nb\n");
            }
        }
    }
}

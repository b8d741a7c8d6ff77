//! A typed line as tokens: Comware's quoting (§1.3), the character columns a `^` is placed
//! at, and the length limit of the edit buffer.

use super::error::{CliError, ErrorKind};
use std::borrow::Cow;

/// Comware's edit buffer holds at most 511 characters (§1.3); a longer line can only come
/// through the socket and is refused rather than walked.
pub const MAX_LINE_CHARS: usize = 511;

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

/// A line longer than the edit buffer is refused before it is walked.
pub fn check_length(line: &str) -> Result<(), CliError> {
    if line.chars().count() > MAX_LINE_CHARS {
        return Err(CliError {
            kind: ErrorKind::TooMany,
            column: MAX_LINE_CHARS,
        });
    }
    Ok(())
}

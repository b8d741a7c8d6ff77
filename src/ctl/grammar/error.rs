//! Comware's five syntax errors (reference/comware.md §1.5) and where the `^` goes.

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

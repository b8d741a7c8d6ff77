//! The words the areas' commands are made of: syntax in Comware manual notation, the help
//! strings and slots several areas share (Comware's strings where the manuals or captures
//! give them, §1.2 and the CLI guide, worded alike where they do not), and the small
//! conversions their builders and canonical texts have in common.

use crate::ctl::grammar::{ArgKind, ErrorKind, Fault, Matched, Slot, Syn, quote};
use crate::proto::wire::Family;
use crate::table::apps;
use std::borrow::Cow;

// ------------------------------------------------------------------------------------------
// Syntax

pub fn kw(word: &'static str, help: &'static str) -> Syn {
    Syn::Kw {
        word,
        help: help.into(),
        slot: None,
    }
}

/// A keyword whose presence or choice the builder reads from `slot`.
pub fn kws(slot: Slot, word: &'static str, help: impl Into<Cow<'static, str>>) -> Syn {
    Syn::Kw {
        word,
        help: help.into(),
        slot: Some(slot),
    }
}

pub fn arg(slot: Slot, kind: ArgKind, help: &'static str) -> Syn {
    Syn::Arg {
        kind,
        help: help.into(),
        slot,
    }
}

pub fn int(min: u32, max: u32) -> ArgKind {
    ArgKind::Int { min, max }
}

pub fn seq(items: Vec<Syn>) -> Syn {
    Syn::Seq(items)
}

/// `[ x ]`
pub fn opt(s: Syn) -> Syn {
    Syn::Opt(Box::new(s))
}

/// `{ a | b }`
pub fn alt(items: Vec<Syn>) -> Syn {
    Syn::Alt(items)
}

/// `[ a | b | c ] *`
pub fn any(items: Vec<Syn>) -> Syn {
    Syn::Any(items)
}

/// A value the `undo` form of the command leaves out (the seconds of `session aging-time
/// state syn 30`).
pub fn set_only(s: Syn) -> Syn {
    Syn::SetOnly(Box::new(s))
}

/// A part the `undo` form of the command makes optional (`undo session mode [hybrid]`).
pub fn undo_optional(s: Syn) -> Syn {
    Syn::UndoOptional(Box::new(s))
}

// ------------------------------------------------------------------------------------------
// Help strings and slots more than one area uses

pub const H_DISPLAY: &str = "Display current system information";
pub const H_RESET: &str = "Reset operation";
/// `session ...` in system view.
pub const H_SESSION: &str = "Configure session management";
/// `display session ...`, `reset session ...`.
pub const H_SESSION_DISPLAY: &str = "Session management";

pub const FAMILY: Slot = "family";
pub const APP: Slot = "app";
pub const STATE: Slot = "state";
pub const PROTO: Slot = "proto";
pub const DPORT: Slot = "dport";
pub const IPV6: Slot = "ipv6";
pub const NUM: Slot = "number";
pub const KIND: Slot = "kind";
pub const ALL: Slot = "all";
pub const NAME: Slot = "name";

/// The applications of `table::apps` (OTHER excluded: it has no timer or mapping of its
/// own), each with the help `help` gives its name, or a user-defined application's name
/// (`STRING<1-63>`, §12). A pre-defined name may be abbreviated as keywords are; a
/// user-defined name is typed in full, which is why no user-defined name may be the
/// beginning of a pre-defined one (`commands/alg.rs`).
pub fn application_keywords(help: fn(&str) -> String) -> Syn {
    let mut items: Vec<Syn> = apps::APPS
        .iter()
        .skip(usize::from(apps::OTHER) + 1)
        .map(|a| kws(APP, a.keyword, help(a.name)))
        .collect();
    items.push(application_name("User-defined application name"));
    alt(items)
}

/// An application's name as a string (§12: 1-63 characters).
pub fn application_name(help: &'static str) -> Syn {
    arg(APP, APP_NAME, help)
}

pub const APP_NAME: ArgKind = ArgKind::Str { min: 1, max: 63 };

/// An application as a command names it: a pre-defined one (its id), or a user-defined one
/// by name (lower case: names are case-insensitive), whose id only the running
/// configuration knows: it is resolved when the command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppName {
    Predefined(u8),
    User(String),
}

impl AppName {
    /// A name as typed: a pre-defined application's keyword (any case) or a user's name.
    pub fn parse(text: &str) -> AppName {
        match apps::by_keyword(text) {
            Some(id) => AppName::Predefined(id),
            None => AppName::User(text.to_ascii_lowercase()),
        }
    }

    /// The id of the application, if it exists in `user` (pre-defined ones always do).
    pub fn resolve(&self, user: &apps::UserApps) -> Option<u8> {
        match self {
            AppName::Predefined(id) => Some(*id),
            AppName::User(name) => user.id(name),
        }
    }

    /// The word a canonical command line names it with.
    pub fn word(&self) -> Cow<'_, str> {
        match self {
            AppName::Predefined(id) => app_keyword(*id).into(),
            AppName::User(name) => quote(name),
        }
    }
}

/// The application the `APP` slot names, if the command has one.
pub fn app_of(m: &Matched<'_>) -> Option<AppName> {
    m.text(APP).map(AppName::parse)
}

/// `% The application NAME does not exist.` (ours: a user-defined name no mapping defines).
pub fn no_such_application(app: &AppName) -> String {
    format!(" % The application {} does not exist.\n", app.word())
}

// ------------------------------------------------------------------------------------------
// Builders and canonical text

/// The family a `{ipv4|ipv6}` choice in slot `FAMILY` names.
pub fn family_of(m: &Matched<'_>) -> Option<Family> {
    match m.text(FAMILY)? {
        "ipv6" => Some(Family::V6),
        _ => Some(Family::V4),
    }
}

pub fn family_word(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

/// ` ipv6` after `acl`, `packet-filter` and the like when the IPv6 variant is meant.
pub fn ipv6_word(ipv6: bool) -> &'static str {
    if ipv6 { " ipv6" } else { "" }
}

pub fn app_keyword(app: u8) -> &'static str {
    apps::APPS
        .get(usize::from(app))
        .map_or("other", |a| a.keyword)
}

/// A fault on a token the grammar accepted: should not happen, but a console never panics.
pub fn internal(m: &Matched<'_>) -> Fault {
    Fault {
        kind: ErrorKind::Wrong,
        token: m.vals.len().saturating_sub(1),
    }
}

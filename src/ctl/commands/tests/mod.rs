//! Every command of every area, through the one grammar: the action each line gives and
//! its canonical text, configuration lines, abbreviations and aliases (`actions.rs`), the
//! five errors and where their caret goes, `?`, Tab and the pipes (`feedback.rs`), and property
//! tests that walk the whole tree (`props.rs`). The helpers all three share are here.

mod actions;
mod feedback;
mod log;
mod port_mapping;
mod props;

use super::*;
use crate::acl::AclKind;
use crate::ctl::grammar::CliError;
use crate::table::apps;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(super) const ADV4: View = View::Acl {
    ipv6: false,
    kind: AclKind::Advanced,
    number: 3000,
};
pub(super) const BASIC4: View = View::Acl {
    ipv6: false,
    kind: AclKind::Basic,
    number: 2000,
};
pub(super) const ADV6: View = View::Acl {
    ipv6: true,
    kind: AclKind::Advanced,
    number: 3001,
};
pub(super) const BASIC6: View = View::Acl {
    ipv6: true,
    kind: AclKind::Basic,
    number: 2001,
};

pub(super) fn parse(view: &View, line: &str) -> Action {
    match grammar().parse(view, line) {
        Ok(Some(p)) => p.action,
        other => panic!("{line:?} in {view:?}: {other:?}"),
    }
}

pub(super) fn err(view: &View, line: &str) -> CliError {
    match grammar().parse(view, line) {
        Err(e) => e,
        other => panic!("{line:?} in {view:?} should fail: {other:?}"),
    }
}

pub(super) fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
}

pub(super) fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

pub(super) fn app(kw: &str) -> u8 {
    apps::by_keyword(kw).unwrap()
}

pub(super) fn pre(kw: &str) -> kit::AppName {
    kit::AppName::Predefined(app(kw))
}

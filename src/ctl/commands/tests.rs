//! Every command of every area, through the one grammar: the action each line gives and
//! its canonical text, configuration lines, abbreviations and aliases, the five errors and
//! where their caret goes, `?` and Tab, and property tests that walk the whole tree.

use super::acl::PORT_NAMES;
use super::aging::SETTABLE_STATES;
use super::*;
use crate::acl::{self, AclKind};
use crate::ctl::grammar::{CliError, ErrorKind, render_help};
use crate::ctl::pipe::FilterMode;
use crate::proto::Protocol;
use crate::proto::wire::Family;
use crate::table::aging::AgingState;
use crate::table::apps;
use crate::table::query::{SessionFilter, StateFilter};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const ADV4: View = View::Acl {
    ipv6: false,
    kind: AclKind::Advanced,
    number: 3000,
};
const BASIC4: View = View::Acl {
    ipv6: false,
    kind: AclKind::Basic,
    number: 2000,
};
const ADV6: View = View::Acl {
    ipv6: true,
    kind: AclKind::Advanced,
    number: 3001,
};
const BASIC6: View = View::Acl {
    ipv6: true,
    kind: AclKind::Basic,
    number: 2001,
};

fn parse(view: &View, line: &str) -> Action {
    match grammar().parse(view, line) {
        Ok(Some(p)) => p.action,
        other => panic!("{line:?} in {view:?}: {other:?}"),
    }
}

fn err(view: &View, line: &str) -> CliError {
    match grammar().parse(view, line) {
        Err(e) => e,
        other => panic!("{line:?} in {view:?} should fail: {other:?}"),
    }
}

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
}

fn app(kw: &str) -> u8 {
    apps::by_keyword(kw).unwrap()
}

/// Every command, in its view, with the action it must give.
fn table() -> Vec<(View, &'static str, Action)> {
    let none = SessionFilter::default;
    vec![
        (
            View::User,
            "display session table ipv4",
            Action::Session(SessionCmd::DisplayTable {
                family: Family::V4,
                filters: none(),
            }),
        ),
        (
            View::System,
            "display session table ipv4 source-ip 10.0.0.1 10.0.0.9 destination-ip 192.168.1.1 \
             protocol tcp source-port 1024 destination-port 80 application http \
             state tcp-established responder vpn-instance vpn1 verbose",
            Action::Session(SessionCmd::DisplayTable {
                family: Family::V4,
                filters: SessionFilter {
                    source_ip: Some((v4("10.0.0.1"), Some(v4("10.0.0.9")))),
                    destination_ip: Some((v4("192.168.1.1"), None)),
                    protocol: Some(Protocol::Tcp),
                    source_port: Some(1024),
                    destination_port: Some(80),
                    application: Some(app("http")),
                    state: StateFilter::by_keyword("tcp-established"),
                    responder: true,
                    vpn_instance: Some("vpn1".into()),
                    verbose: true,
                },
            }),
        ),
        (
            ADV4,
            "display session table ipv6 verbose protocol icmpv6 source-ip 2001:db8::1",
            Action::Session(SessionCmd::DisplayTable {
                family: Family::V6,
                filters: SessionFilter {
                    source_ip: Some((v6("2001:db8::1"), None)),
                    protocol: Some(Protocol::Icmpv6),
                    verbose: true,
                    ..none()
                },
            }),
        ),
        (
            View::User,
            "reset session table",
            Action::Session(SessionCmd::ResetTable {
                family: None,
                filters: none(),
            }),
        ),
        (
            View::User,
            "reset session table ipv4 source-ip 10.10.10.10",
            Action::Session(SessionCmd::ResetTable {
                family: Some(Family::V4),
                filters: SessionFilter {
                    source_ip: Some((v4("10.10.10.10"), None)),
                    ..none()
                },
            }),
        ),
        (
            View::User,
            "reset session table ipv6 source-ip 2011::0002 protocol udp-lite vpn-instance v",
            Action::Session(SessionCmd::ResetTable {
                family: Some(Family::V6),
                filters: SessionFilter {
                    source_ip: Some((v6("2011::2"), None)),
                    protocol: Some(Protocol::UdpLite),
                    vpn_instance: Some("v".into()),
                    ..none()
                },
            }),
        ),
        (
            View::User,
            "display session statistics",
            Action::Session(SessionCmd::DisplayStatistics {
                summary: false,
                family: None,
                filters: none(),
            }),
        ),
        (
            View::User,
            "display session statistics summary",
            Action::Session(SessionCmd::DisplayStatistics {
                summary: true,
                family: None,
                filters: none(),
            }),
        ),
        (
            View::User,
            "display session statistics ipv4 destination-port 53 protocol udp",
            Action::Session(SessionCmd::DisplayStatistics {
                summary: false,
                family: Some(Family::V4),
                filters: SessionFilter {
                    protocol: Some(Protocol::Udp),
                    destination_port: Some(53),
                    ..none()
                },
            }),
        ),
        (View::User, "reset session statistics", Action::Session(SessionCmd::ResetStatistics)),
        (
            View::System,
            "display session aging-time state",
            Action::Aging(AgingCmd::DisplayState),
        ),
        (
            View::User,
            "display session aging-time application",
            Action::Aging(AgingCmd::DisplayApplication),
        ),
        (
            View::System,
            "session aging-time state syn 60",
            Action::Aging(AgingCmd::SetState {
                state: AgingState::Syn,
                seconds: 60,
            }),
        ),
        (
            View::System,
            "session aging-time state tcp-est 100000",
            Action::Aging(AgingCmd::SetState {
                state: AgingState::TcpEst,
                seconds: 100_000,
            }),
        ),
        (
            View::System,
            "undo session aging-time state",
            Action::Aging(AgingCmd::UndoState { state: None }),
        ),
        (
            View::System,
            "undo session aging-time state icmpv6-reply",
            Action::Aging(AgingCmd::UndoState {
                state: Some(AgingState::Icmpv6Reply),
            }),
        ),
        (
            View::System,
            "session aging-time application ftp 1800",
            Action::Aging(AgingCmd::SetApplication {
                app: app("ftp"),
                seconds: 1800,
            }),
        ),
        (
            View::System,
            "session aging-time application ftp-data 1",
            Action::Aging(AgingCmd::SetApplication {
                app: app("ftp-data"),
                seconds: 1,
            }),
        ),
        (
            View::System,
            "undo session aging-time application",
            Action::Aging(AgingCmd::UndoApplication { app: None }),
        ),
        (
            View::System,
            "undo session aging-time application sip",
            Action::Aging(AgingCmd::UndoApplication {
                app: Some(app("sip")),
            }),
        ),
        (
            View::System,
            "session persistent acl 2000 aging-time 72",
            Action::Aging(AgingCmd::Persistent {
                ipv6: false,
                number: 2000,
                hours: 72,
            }),
        ),
        (
            View::System,
            "session persistent acl ipv6 3000 aging-time 100",
            Action::Aging(AgingCmd::Persistent {
                ipv6: true,
                number: 3000,
                hours: 100,
            }),
        ),
        (
            View::System,
            "session persistent acl 3999",
            Action::Aging(AgingCmd::Persistent {
                ipv6: false,
                number: 3999,
                hours: 24,
            }),
        ),
        (
            View::System,
            "undo session persistent acl",
            Action::Aging(AgingCmd::UndoPersistent { ipv6: false }),
        ),
        (
            View::System,
            "undo session persistent acl ipv6",
            Action::Aging(AgingCmd::UndoPersistent { ipv6: true }),
        ),
        (View::System, "session mode hybrid", Action::Session(SessionCmd::ModeHybrid)),
        (View::System, "undo session mode", Action::Session(SessionCmd::UndoMode)),
        (View::System, "undo session mode hybrid", Action::Session(SessionCmd::UndoMode)),
        (
            View::System,
            "session statistics enable",
            Action::Session(SessionCmd::StatisticsEnable),
        ),
        (
            View::System,
            "undo session statistics enable",
            Action::Session(SessionCmd::UndoStatisticsEnable),
        ),
        (
            View::System,
            "acl advanced 3000",
            Action::Acl(AclCmd::Enter {
                ipv6: false,
                kind: AclKind::Advanced,
                number: 3000,
            }),
        ),
        (
            View::System,
            "acl ipv6 basic 2999",
            Action::Acl(AclCmd::Enter {
                ipv6: true,
                kind: AclKind::Basic,
                number: 2999,
            }),
        ),
        (
            View::System,
            "acl number 2500",
            Action::Acl(AclCmd::Enter {
                ipv6: false,
                kind: AclKind::Basic,
                number: 2500,
            }),
        ),
        (
            View::System,
            "undo acl all",
            Action::Acl(AclCmd::UndoAcl {
                ipv6: false,
                target: AclTarget::All,
            }),
        ),
        (
            View::System,
            "undo acl ipv6 advanced 3001",
            Action::Acl(AclCmd::UndoAcl {
                ipv6: true,
                target: AclTarget::Number(3001),
            }),
        ),
        (
            ADV4,
            "rule 5 permit tcp source 129.9.0.0 0.0.255.255 destination 202.38.160.0 0.0.0.255 destination-port eq 80",
            Action::Acl(AclCmd::Rule(
                "rule 5 permit tcp source 129.9.0.0 0.0.255.255 destination 202.38.160.0 0.0.0.255 destination-port eq 80".into(),
            )),
        ),
        (
            ADV4,
            "rule permit tcp destination-port eq ftp",
            Action::Acl(AclCmd::Rule("rule permit tcp destination-port eq ftp".into())),
        ),
        (
            ADV4,
            "rule deny icmp destination 192.168.1.0 0.0.0.255",
            Action::Acl(AclCmd::Rule("rule deny icmp destination 192.168.1.0 0.0.0.255".into())),
        ),
        (
            ADV4,
            "rule 7 permit udp source-port range 1000 2000 destination any",
            Action::Acl(AclCmd::Rule("rule 7 permit udp source-port range 1000 2000 destination any".into())),
        ),
        (
            BASIC4,
            "rule 5 permit source 1.1.1.1 0",
            Action::Acl(AclCmd::Rule("rule 5 permit source 1.1.1.1 0".into())),
        ),
        (BASIC4, "rule deny", Action::Acl(AclCmd::Rule("rule deny".into()))),
        (
            ADV6,
            "rule permit ipv6 source 2001:db8::/32 destination 2001:db8:1:: 48",
            Action::Acl(AclCmd::Rule("rule permit ipv6 source 2001:db8::/32 destination 2001:db8:1:: 48".into())),
        ),
        (
            BASIC6,
            "rule 10 deny source any",
            Action::Acl(AclCmd::Rule("rule 10 deny source any".into())),
        ),
        (ADV6, "undo rule 10", Action::Acl(AclCmd::UndoRule(10))),
        (BASIC4, "undo rule 0", Action::Acl(AclCmd::UndoRule(0))),
        (
            View::User,
            "display acl 3000",
            Action::Acl(AclCmd::Display {
                ipv6: false,
                target: AclTarget::Number(3000),
            }),
        ),
        (
            View::System,
            "display acl ipv6 all",
            Action::Acl(AclCmd::Display {
                ipv6: true,
                target: AclTarget::All,
            }),
        ),
        (View::System, "sysname FW-1", Action::System(SystemCmd::Sysname("FW-1".into()))),
        (
            View::System,
            "sysname \"edge \\\"one\\\"\"",
            Action::System(SystemCmd::Sysname("edge \"one\"".into())),
        ),
        (View::System, "undo sysname", Action::System(SystemCmd::UndoSysname)),
        (
            BASIC6,
            "display current-configuration",
            Action::System(SystemCmd::DisplayCurrentConfiguration),
        ),
        (ADV4, "display this", Action::System(SystemCmd::DisplayThis)),
        (
            View::User,
            "save",
            Action::System(SystemCmd::Save {
                file: None,
                force: false,
            }),
        ),
        (
            View::System,
            "save force",
            Action::System(SystemCmd::Save {
                file: None,
                force: true,
            }),
        ),
        (
            ADV4,
            "save backup.cfg",
            Action::System(SystemCmd::Save {
                file: Some("backup.cfg".into()),
                force: false,
            }),
        ),
        (View::User, "display version", Action::System(SystemCmd::DisplayVersion)),
        (
            View::User,
            "display history-command",
            Action::System(SystemCmd::DisplayHistory { all: false }),
        ),
        (
            View::System,
            "display history-command all",
            Action::System(SystemCmd::DisplayHistory { all: true }),
        ),
        (View::User, "system-view", Action::System(SystemCmd::SystemView)),
        (View::User, "quit", Action::System(SystemCmd::Quit)),
        (ADV6, "quit", Action::System(SystemCmd::Quit)),
        (View::System, "return", Action::System(SystemCmd::Return)),
        (View::User, "screen-length disable", Action::System(SystemCmd::ScreenLengthDisable)),
        (
            View::User,
            "undo screen-length disable",
            Action::System(SystemCmd::UndoScreenLengthDisable),
        ),
    ]
}

#[test]
fn every_command_parses_to_its_action_and_back() {
    for (view, line, want) in table() {
        assert_eq!(parse(&view, line), want, "{line}");
        // The canonical text parses to the same action in the same view.
        let canonical = want.canonical();
        assert_eq!(parse(&view, &canonical), want, "{canonical}");
    }
}

#[test]
fn config_commands_round_trip_through_their_canonical_line() {
    let mut lines: Vec<(View, String)> = vec![
        (View::System, "session persistent acl 2000".into()),
        (View::System, "session persistent acl 2000 aging-time 72".into()),
        (View::System, "session persistent acl ipv6 3000 aging-time 100".into()),
        (View::System, "session persistent acl 3999 aging-time 0".into()),
        (View::System, "session mode hybrid".into()),
        (View::System, "session statistics enable".into()),
        (View::System, "acl advanced 3000".into()),
        (View::System, "acl basic 2000".into()),
        (View::System, "acl ipv6 advanced 3001".into()),
        (View::System, "acl ipv6 basic 2999".into()),
        (View::System, "sysname Sysname".into()),
        (View::System, "sysname \"my box\"".into()),
        (
            ADV4,
            "rule 5 permit tcp source 129.9.0.0 0.0.255.255 destination 202.38.160.0 0.0.0.255 destination-port eq 80".into(),
        ),
        (ADV4, "rule permit tcp destination-port eq ftp".into()),
        (ADV4, "rule 0 deny icmp destination 192.168.1.0 0.0.0.255".into()),
        (
            ADV4,
            "rule 1 permit udp source-port range 1000 2000 destination-port neq 53".into(),
        ),
        (ADV4, "rule 2 permit 47 source any".into()),
        (BASIC4, "rule 10 permit source 1.1.1.1 0".into()),
        (ADV6, "rule 5 permit ipv6 source 2001:db8::/32".into()),
        (ADV6, "rule 6 deny tcp destination-port lt 1024".into()),
        (BASIC6, "rule permit source 2001:db8:: 64".into()),
    ];
    for s in SETTABLE_STATES {
        lines.push((
            View::System,
            format!("session aging-time state {} 30", s.keyword()),
        ));
    }
    for a in apps::APPS.iter().skip(1) {
        lines.push((
            View::System,
            format!("session aging-time application {} 600", a.keyword),
        ));
    }
    for (view, line) in lines {
        let action = parse(&view, &line);
        assert!(action.is_config(), "{line}");
        assert_eq!(action.canonical(), line);
        assert_eq!(parse(&view, &action.canonical()), action);
        let config = action.config_line().unwrap();
        assert_eq!(config.trim_start(), line);
        let header = matches!(action, Action::Acl(AclCmd::Enter { .. }));
        assert_eq!(config.starts_with(' '), !header, "{config}");
    }
    assert_eq!(parse(&View::System, "display this").config_line(), None);
}

#[test]
fn abbreviations_case_and_aliases() {
    let sys = View::System;
    for (view, short, long) in [
        (
            &View::User,
            "dis sess tab ipv4",
            "display session table ipv4",
        ),
        (
            &View::User,
            "DIS Sess TAB IPv4 VERB",
            "display session table ipv4 verbose",
        ),
        (&View::User, "dis cu", "display current-configuration"),
        (&View::User, "sy", "system-view"),
        (&View::User, "res s t ipv6", "reset session table ipv6"),
        (&View::User, "scr d", "screen-length disable"),
        (&sys, "sess ag st syn 60", "session aging-time state syn 60"),
        (
            &sys,
            "sess ag app ftp 60",
            "session aging-time application ftp 60",
        ),
        (
            &sys,
            "sess ag app ftp-d 60",
            "session aging-time application ftp-data 60",
        ),
        (
            &sys,
            "sess per acl ipv 3000 ag 0",
            "session persistent acl ipv6 3000 aging-time 0",
        ),
        (&sys, "un sess stat en", "undo session statistics enable"),
        (&sys, "ac adv 3000", "acl advanced 3000"),
        (
            &ADV4,
            "ru 5 per tcp source any destination 1.1.1.1 0 destination-p eq ww",
            "rule 5 permit tcp source any destination 1.1.1.1 0 destination-port eq www",
        ),
        // Aliases (§1.3): first keyword, or second after `undo`.
        (&View::User, "show version", "display version"),
        (&View::User, "sh ver", "display version"),
        (&View::User, "write", "save"),
        (&View::User, "write force", "save force"),
        (
            &View::User,
            "no screen-length disable",
            "undo screen-length disable",
        ),
        (&sys, "exit", "quit"),
        (&sys, "end", "return"),
        (&sys, "hostname R1", "sysname R1"),
        (&sys, "undo hostname", "undo sysname"),
        (&sys, "no hostname", "undo sysname"),
        (&sys, "access-list advanced 3000", "acl advanced 3000"),
        (&sys, "no access-list all", "undo acl all"),
    ] {
        let got = grammar()
            .parse(view, short)
            .unwrap_or_else(|e| panic!("{short}: {e:?}"))
            .unwrap();
        assert_eq!(got.action, parse(view, long), "{short}");
        assert_eq!(got.canonical, long, "{short}");
    }
    // An alias is not a keyword anywhere else.
    assert_eq!(
        err(&View::User, "display show").kind,
        ErrorKind::Unrecognized
    );
    // History keeps the typed form with the alias replaced.
    let p = grammar()
        .parse(&View::User, "  show   sess tab ipv4 ")
        .unwrap()
        .unwrap();
    assert_eq!(p.typed, "display sess tab ipv4");
}

#[test]
fn blank_and_comment_lines_do_nothing() {
    for line in ["", "   ", "#", " # a section"] {
        assert_eq!(grammar().parse(&View::System, line), Ok(None));
    }
}

fn rendered(prompt: &str, view: &View, line: &str) -> String {
    err(view, line).render(prompt, line)
}

#[test]
fn the_five_errors_put_the_caret_under_the_token() {
    // §1.5's capture, exactly.
    assert_eq!(
        rendered("<aHope_WLAN_AC>", &View::User, "display ntp-status"),
        "<aHope_WLAN_AC>display ntp-status\n                       ^\n % Unrecognized command found at '^' position."
    );
    assert_eq!(
        rendered("<Sysname>", &View::User, "display session"),
        "<Sysname>display session\n                        ^\n % Incomplete command found at '^' position."
    );
    assert_eq!(
        rendered("<Sysname>", &View::User, "display session table ipv4 d"),
        "<Sysname>display session table ipv4 d\n                                    ^\n % Ambiguous command found at '^' position."
    );
    assert_eq!(
        rendered("<Sysname>", &View::User, "display version extra"),
        "<Sysname>display version extra\n                         ^\n % Too many parameters found at '^' position."
    );
    assert_eq!(
        rendered("[Sysname]", &View::System, "session aging-time state syn 0"),
        "[Sysname]session aging-time state syn 0\n                                      ^\n % Wrong parameter found at '^' position."
    );
    // Caret-only form for a terminal that echoed the line already.
    assert_eq!(
        err(&View::System, "sysnam").caret_lines("[S]"),
        "         ^\n % Incomplete command found at '^' position."
    );
}

#[test]
fn error_kinds_and_columns() {
    let u = View::User;
    let s = View::System;
    for (view, line, kind, col) in [
        (&u, "foo", ErrorKind::Unrecognized, 0),
        (&u, "   foo", ErrorKind::Unrecognized, 3),
        (&u, "display session tables", ErrorKind::Unrecognized, 16),
        (
            &u,
            "display session table ipv4 foo",
            ErrorKind::Unrecognized,
            27,
        ),
        // Reset commands live in user view only (§8).
        (&s, "reset session statistics", ErrorKind::Unrecognized, 0),
        (
            &s,
            "session aging-time state bogus 10",
            ErrorKind::Unrecognized,
            25,
        ),
        // Only SPEC A1's keywords are settable.
        (
            &s,
            "session aging-time state sctp-est 10",
            ErrorKind::Unrecognized,
            25,
        ),
        (&u, "display session table", ErrorKind::Incomplete, 21),
        (
            &u,
            "display session table ipv4 source-ip",
            ErrorKind::Incomplete,
            36,
        ),
        (
            &u,
            "display session table ipv4 source-ip ",
            ErrorKind::Incomplete,
            36,
        ),
        (
            &s,
            "session aging-time state syn",
            ErrorKind::Incomplete,
            28,
        ),
        (&s, "s", ErrorKind::Ambiguous, 0),
        (&s, "e", ErrorKind::Ambiguous, 0),
        (
            &s,
            "session aging-time application netbios 10",
            ErrorKind::Ambiguous,
            31,
        ),
        (&u, "display session table ipv4 d", ErrorKind::Ambiguous, 27),
        (&u, "quit now", ErrorKind::TooMany, 5),
        (&s, "session mode hybrid now", ErrorKind::TooMany, 20),
        (
            &s,
            "session aging-time state syn 100001",
            ErrorKind::Wrong,
            29,
        ),
        (&s, "session aging-time state syn 1x", ErrorKind::Wrong, 29),
        (
            &u,
            "display session table ipv4 source-ip 1.1.1.300",
            ErrorKind::Wrong,
            37,
        ),
        // An IPv6 address where the IPv4 table wants IPv4.
        (
            &u,
            "display session table ipv4 source-ip 2001::1",
            ErrorKind::Wrong,
            37,
        ),
        (
            &u,
            "display session table ipv4 destination-port 65536",
            ErrorKind::Wrong,
            44,
        ),
        // A range whose end is below its start: wrong end.
        (
            &u,
            "display session table ipv4 source-ip 10.0.0.9 10.0.0.1",
            ErrorKind::Wrong,
            46,
        ),
        (&s, "acl advanced 2000", ErrorKind::Wrong, 13),
        (&s, "session persistent acl 4000", ErrorKind::Wrong, 23),
        (&s, "sysname \"unterminated", ErrorKind::Wrong, 8),
        (
            &s,
            &format!("sysname {}", "x".repeat(65)),
            ErrorKind::Wrong,
            8,
        ),
        (&u, "display version | include", ErrorKind::Incomplete, 25),
        (&u, "display version | include (", ErrorKind::Wrong, 26),
        (&u, "display version | include \\1", ErrorKind::Wrong, 26),
        // No pipe after a non-display command.
        (&u, "save | include x", ErrorKind::Wrong, 5),
        // ACL rules: ports only for tcp/udp; a basic ACL has no destination.
        (
            &ADV4,
            "rule permit icmp destination-port eq 80",
            ErrorKind::Unrecognized,
            17,
        ),
        (
            &BASIC4,
            "rule permit destination any",
            ErrorKind::Unrecognized,
            12,
        ),
        (
            &ADV4,
            "rule permit tcp source 1.1.1.1",
            ErrorKind::Incomplete,
            30,
        ),
        (
            &ADV4,
            "rule permit udp source-port range 2000 1000",
            ErrorKind::Wrong,
            39,
        ),
        (
            &ADV6,
            "rule permit ipv6 source 2001:db8::/129",
            ErrorKind::Wrong,
            24,
        ),
        (&u, &"x".repeat(600), ErrorKind::TooMany, 511),
    ] {
        assert_eq!(
            err(view, line),
            CliError { kind, column: col },
            "{line:?} in {view:?}"
        );
    }
}

fn help(view: &View, line: &str) -> String {
    render_help(&grammar().help(view, line).unwrap())
}

#[test]
fn question_mark_help() {
    let u = View::User;
    assert_eq!(
        help(&u, "display session "),
        "  aging-time      Session aging time\n  relation-table  Display relation table information\n  statistics      Display session statistics\n  table           Display session table information"
    );
    assert_eq!(
        help(&u, "dis"),
        "  display  Display current system information"
    );
    assert_eq!(
        help(&u, "display session table "),
        "  ipv4  IPv4 sessions\n  ipv6  IPv6 sessions"
    );
    assert_eq!(
        help(&u, "display version "),
        "  |     Matching output\n  <cr>"
    );
    assert_eq!(
        help(&View::System, "session aging-time state syn "),
        "  INTEGER<1-100000>  Aging time in seconds"
    );
    assert_eq!(
        help(&u, "display session table ipv4 source-ip 1.1.1.1 "),
        [
            "  X.X.X.X           End source IP address",
            "  application       Specify the application of sessions",
            "  destination-ip    Specify the destination IP address of sessions",
            "  destination-port  Specify the destination port of sessions",
            "  protocol          Specify the protocol of sessions",
            "  responder         Match the filters against the responder's addresses and ports",
            "  source-port       Specify the source port of sessions",
            "  state             Specify the state of sessions",
            "  verbose           Display detailed information",
            "  vpn-instance      Specify a VPN instance",
            "  |                 Matching output",
            "  <cr>",
        ]
        .join("\n")
    );
    assert_eq!(
        help(&u, "display session table ipv4 protocol "),
        [
            "  dccp      DCCP sessions",
            "  icmp      ICMP sessions",
            "  raw-ip    Raw IP sessions",
            "  sctp      SCTP sessions",
            "  tcp       TCP sessions",
            "  udp       UDP sessions",
            "  udp-lite  UDP-Lite sessions",
        ]
        .join("\n")
    );
    assert_eq!(
        help(&u, "display version | "),
        [
            "  begin       Display the first line matching the specified regular expression and all subsequent lines",
            "  by-linenum  Display a number before each output line",
            "  exclude     Display all lines not matching the specified regular expression",
            "  include     Display all lines matching the specified regular expression",
        ]
        .join("\n")
    );
    assert_eq!(
        help(&u, "display version | include "),
        "  TEXT  Regular expression"
    );
    assert_eq!(
        help(&View::System, "undo session "),
        "  aging-time  Session aging time\n  mode        Specify the session management mode\n  persistent  Specify persistent sessions\n  statistics  Session statistics"
    );
    assert_eq!(
        help(&View::System, "sess"),
        "  session  Configure session management"
    );
    assert_eq!(
        help(&View::System, "s"),
        [
            "  save     Save current configuration",
            "  session  Configure session management",
            "  show     Alias for 'display'",
            "  sysname  Specify the host name",
        ]
        .join("\n")
    );
    assert_eq!(
        help(&View::System, "session aging-time state syn 1"),
        "  INTEGER<1-100000>  Aging time in seconds"
    );
    assert_eq!(
        help(&ADV4, "rule permit tcp destination-port "),
        "  eq     Equal to given port number\n  gt     Greater than given port number\n  lt     Less than given port number\n  neq    Not equal to given port number\n  range  Between two port numbers"
    );
    // An error before the `?` is reported instead.
    assert_eq!(
        grammar().help(&u, "display nonsense "),
        Err(CliError {
            kind: ErrorKind::Unrecognized,
            column: 8
        })
    );
    assert_eq!(
        grammar().help(&u, "display xyz"),
        Err(CliError {
            kind: ErrorKind::Unrecognized,
            column: 8
        })
    );
}

#[test]
fn tab_completion() {
    let u = View::User;
    let c = grammar().complete(&u, "dis");
    assert_eq!(
        (c.start, c.candidates.as_slice()),
        (0, &["display".to_string()][..])
    );
    assert_eq!(c.apply("dis").as_deref(), Some("display "));
    let c = grammar().complete(&u, "display session t");
    assert_eq!(
        c.apply("display session t").as_deref(),
        Some("display session table ")
    );
    let c = grammar().complete(&u, "DIS SESS TAB IPV4 VER");
    assert_eq!(
        c.apply("DIS SESS TAB IPV4 VER").as_deref(),
        Some("DIS SESS TAB IPV4 verbose ")
    );
    let c = grammar().complete(&View::System, "s");
    assert_eq!(c.candidates, ["save", "session", "show", "sysname"]);
    assert_eq!(c.apply("s"), None);
    let c = grammar().complete(&View::System, "session aging-time application ftp");
    assert_eq!(c.candidates, ["ftp", "ftp-data"]);
    // Arguments, a finished word, an unknown word, a bad prefix: nothing to offer.
    for line in [
        "display session table ipv4 source-ip 1",
        "display ",
        "display zz",
        "zz y",
        "",
    ] {
        assert!(grammar().complete(&u, line).candidates.is_empty(), "{line}");
    }
}

#[test]
fn pipe_is_split_off_display_commands() {
    let p = grammar()
        .parse(
            &View::User,
            "display current-configuration | by-linenum begin session | exclude \"aging time\"",
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        p.action,
        Action::System(SystemCmd::DisplayCurrentConfiguration)
    );
    assert!(p.pipe.by_linenum);
    let f: Vec<(FilterMode, &str)> = p
        .pipe
        .filters
        .iter()
        .map(|f| (f.mode, f.pattern.as_str()))
        .collect();
    assert_eq!(
        f,
        [
            (FilterMode::Begin, "session"),
            (FilterMode::Exclude, "aging time")
        ]
    );
    let p = grammar()
        .parse(&View::User, "dis ver | inc def|int")
        .unwrap()
        .unwrap();
    assert_eq!(p.action, Action::System(SystemCmd::DisplayVersion));
    assert_eq!(p.pipe.filters[0].pattern, "def|int");
    assert_eq!(p.canonical, "display version | include def|int");
}

#[test]
fn rule_names_and_help_tables_agree_with_the_engine() {
    // Every port name the tree offers is one acl.rs knows.
    for (name, _) in PORT_NAMES {
        let text = format!("rule permit tcp destination-port eq {name}");
        assert!(
            acl::parse_rule(&text, Family::V4, AclKind::Advanced).is_ok(),
            "{name}"
        );
    }
    // Every state keyword the tree offers names a state of its protocol's machine.
    for (f, kw) in StateFilter::all() {
        assert_eq!(StateFilter::by_keyword(kw), Some(f));
        assert_ne!(f.protocol.descriptor().state_name(f.state), "-", "{kw}");
        assert!(
            grammar()
                .parse(
                    &View::User,
                    &format!("display session table ipv4 state {kw}")
                )
                .is_ok()
                || !f.protocol.of_family(Family::V4)
        );
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn views() -> Vec<View> {
        vec![
            View::User,
            View::System,
            View::Acl {
                ipv6: false,
                kind: AclKind::Advanced,
                number: 3000,
            },
            View::Acl {
                ipv6: false,
                kind: AclKind::Basic,
                number: 2000,
            },
            View::Acl {
                ipv6: true,
                kind: AclKind::Advanced,
                number: 3000,
            },
            View::Acl {
                ipv6: true,
                kind: AclKind::Basic,
                number: 2000,
            },
            View::Interface { name: "GE1".into() },
        ]
    }

    /// Words that make up real commands, abbreviations, aliases and bad values, so random
    /// lines often parse and often fail deep inside a command.
    const WORDS: &[&str] = &[
        "display",
        "dis",
        "show",
        "session",
        "sess",
        "s",
        "table",
        "t",
        "ipv4",
        "ipv6",
        "source-ip",
        "destination-ip",
        "1.1.1.1",
        "10.0.0.9",
        "2001::1",
        "::",
        "protocol",
        "tcp",
        "udp",
        "icmp",
        "raw-ip",
        "source-port",
        "destination-port",
        "80",
        "65536",
        "0",
        "verbose",
        "statistics",
        "summary",
        "aging-time",
        "state",
        "syn",
        "tcp-est",
        "application",
        "ftp",
        "dns",
        "10",
        "100000",
        "reset",
        "undo",
        "no",
        "persistent",
        "acl",
        "advanced",
        "basic",
        "number",
        "3000",
        "2000",
        "all",
        "mode",
        "hybrid",
        "enable",
        "rule",
        "permit",
        "deny",
        "source",
        "destination",
        "any",
        "0.0.0.255",
        "eq",
        "range",
        "www",
        "|",
        "include",
        "begin",
        "by-linenum",
        "x",
        "(",
        "sysname",
        "\"a b\"",
        "save",
        "force",
        "a.cfg",
        "quit",
        "return",
        "system-view",
        "screen-length",
        "disable",
        "history-command",
        "version",
        "this",
        "current-configuration",
        "responder",
        "vpn-instance",
        "vpn1",
        "tcp-established",
        "?",
        "\"",
        "#",
    ];

    fn line() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(WORDS), 0..14).prop_map(|w| w.join(" "))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,120}|.{0,40}", v in 0usize..7) {
            let view = &views()[v];
            let g = grammar();
            if let Err(e) = g.parse(view, &s) {
                prop_assert!(e.column <= s.chars().count());
            }
            let _ = g.help(view, &s);
            let c = g.complete(view, &s);
            let _ = c.apply(&s);
        }

        #[test]
        fn every_walk_of_the_tree_parses_and_round_trips(
            picks in prop::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            v in 0usize..7,
        ) {
            let view = &views()[v];
            let g = grammar();
            let line = g.sample_line(view, &picks);
            match g.parse(view, &line) {
                Ok(None) => prop_assert!(line.is_empty()),
                Ok(Some(p)) => {
                    let again = g.parse(view, &p.action.canonical()).unwrap().unwrap();
                    prop_assert_eq!(&again.action, &p.action, "{}", line);
                    let again = g.parse(view, &p.canonical).unwrap().unwrap();
                    prop_assert_eq!(&again.action, &p.action);
                    prop_assert_eq!(&again.pipe, &p.pipe);
                    // The running-config line (indented) reads back as the same setting.
                    if let Some(c) = p.action.config_line() {
                        let back = g.parse(view, &c).unwrap().unwrap();
                        prop_assert_eq!(back.action, p.action);
                    }
                }
                // A walk stops anywhere (incomplete) or picks values the builder refuses
                // (a range end below its start, a rule acl.rs rejects): never anything else.
                Err(e) => prop_assert!(
                    matches!(e.kind, ErrorKind::Incomplete | ErrorKind::Wrong),
                    "{:?}: {:?}", line, e
                ),
            }
        }

        #[test]
        fn whatever_parses_round_trips_through_its_canonical_form(s in line(), v in 0usize..7) {
            let view = &views()[v];
            let g = grammar();
            if let Err(e) = g.parse(view, &s) {
                prop_assert!(e.column <= s.chars().count(), "{:?} {:?}", s, e);
            }
            let _ = g.help(view, &s);
            let _ = g.complete(view, &s);
            if let Ok(Some(p)) = g.parse(view, &s) {
                let again = g.parse(view, &p.action.canonical());
                prop_assert_eq!(again.map(|a| a.map(|a| a.action)), Ok(Some(p.action.clone())), "{}", s);
                let again = g.parse(view, &p.canonical).unwrap().unwrap();
                prop_assert_eq!(again.action, p.action);
                prop_assert_eq!(again.pipe, p.pipe);
            }
        }
    }
}

/// The example ALG of docs/writing-an-alg.md, registered in the crate's tests only, is known
/// to the console with no console code of its own: `alg irc` / `undo alg irc`, its help
/// text, and its canonical line.
#[test]
fn a_registered_alg_gets_its_commands_from_the_registry() {
    let irc = crate::alg::by_keyword("irc").expect("registered in tests");
    for (line, on) in [("alg irc", true), ("undo alg irc", false)] {
        let a = parse(&View::System, line);
        assert_eq!(
            a,
            Action::Alg(super::alg::AlgCmd::Alg { alg: Some(irc), on })
        );
        assert_eq!(a.canonical(), line);
    }
}

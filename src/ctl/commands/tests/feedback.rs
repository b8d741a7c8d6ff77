//! What the operator sees when a line is not a command: the five errors and their caret,
//! `?` help, Tab completion, and the `|` pipes of display commands.

use super::super::*;
use super::*;
use crate::ctl::grammar::{CliError, ErrorKind, render_help};
use crate::ctl::pipe::FilterMode;

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
        "  aging-time      Session aging time\n  relation-table  Display relation table information\n  statistics      Display session statistics\n  table           Display session table information\n  top-statistics  Display top 10 session statistics"
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
        "  >     Redirect it to a file\n  >>    Redirect it to a file in append mode\n  |     Matching output\n  <cr>"
    );
    assert_eq!(
        help(&View::System, "session aging-time state syn "),
        "  INTEGER<1-100000>  Aging time in seconds"
    );
    assert_eq!(
        help(&u, "display session table ipv4 source-ip 1.1.1.1 "),
        [
            "  >                 Redirect it to a file",
            "  >>                Redirect it to a file in append mode",
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
        "  aging-time       Session aging time\n  alarm            Configure session alarms\n  alg              Configure ALG processing\n  early-drop       Evict unanswered sessions when the session table is full\n  log              Configure session logging\n  mode             Specify the session management mode\n  persistent       Specify persistent sessions\n  statistics       Session statistics\n  synchronization  Configure session synchronization\n  top-statistics   Top session statistics"
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
    // `t` is `table` or `top-statistics`: `ta` completes.
    let c = grammar().complete(&u, "display session ta");
    assert_eq!(
        c.apply("display session ta").as_deref(),
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

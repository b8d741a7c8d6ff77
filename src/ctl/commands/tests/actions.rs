//! The action each line gives, its canonical text and configuration line, abbreviations,
//! aliases, and the tables the tree shares with the engine.

use super::super::acl::PORT_NAMES;
use super::super::aging::SETTABLE_STATES;
use super::super::*;
use super::*;
use crate::acl::{self, AclKind};
use crate::alarm::AlarmKind;
use crate::ctl::grammar::ErrorKind;
use crate::proto::Protocol;
use crate::proto::wire::Family;
use crate::table::aging::AgingState;
use crate::table::app_proto::AppProtocol;
use crate::table::apps;
use crate::table::query::{SessionFilter, StateFilter};
use crate::table::top::Window;

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
                    app_protocol: None,
                    source_port: Some(1024),
                    destination_port: Some(80),
                    application: Some(app("http")),
                    application_name: None,
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
                app: pre("ftp"),
                seconds: 1800,
            }),
        ),
        (
            View::System,
            "session aging-time application ftp-data 1",
            Action::Aging(AgingCmd::SetApplication {
                app: pre("ftp-data"),
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
                app: Some(pre("sip")),
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
            "session early-drop enable",
            Action::Session(SessionCmd::EarlyDropEnable),
        ),
        (
            View::System,
            "undo session early-drop enable",
            Action::Session(SessionCmd::UndoEarlyDropEnable),
        ),
        (
            View::User,
            "display packet-drop summary",
            Action::Drops(DropsCmd::Summary),
        ),
        (
            View::User,
            "display session statistics history-max",
            Action::Statistics(StatisticsCmd::HistoryMax),
        ),
        (
            View::System,
            "display session top-statistics last-24-hours",
            Action::Statistics(StatisticsCmd::DisplayTop(Window::Last24Hours)),
        ),
        (
            View::User,
            "dis sess top last-30",
            Action::Statistics(StatisticsCmd::DisplayTop(Window::Last30Days)),
        ),
        (
            View::System,
            "session top-statistics enable",
            Action::Statistics(StatisticsCmd::TopEnable),
        ),
        (
            View::System,
            "undo session top-statistics enable",
            Action::Statistics(StatisticsCmd::UndoTopEnable),
        ),
        (
            View::User,
            "display session statistics ipv4 destination-ip 192.0.2.1 protocol dns source-port 53",
            Action::Session(SessionCmd::DisplayStatistics {
                summary: false,
                family: Some(Family::V4),
                filters: SessionFilter {
                    destination_ip: Some((v4("192.0.2.1"), None)),
                    app_protocol: Some(AppProtocol::Dns),
                    source_port: Some(53),
                    ..none()
                },
            }),
        ),
        (
            View::User,
            "display session statistics summary ipv6 protocol udp-lite",
            Action::Session(SessionCmd::DisplayStatistics {
                summary: true,
                family: Some(Family::V6),
                filters: SessionFilter {
                    protocol: Some(Protocol::UdpLite),
                    ..none()
                },
            }),
        ),
        (
            View::System,
            "dis packet-d sum",
            Action::Drops(DropsCmd::Summary),
        ),
        (
            View::System,
            "session alarm usage-abrupt enable",
            Action::Info(InfoCmd::AlarmEnable {
                kind: AlarmKind::Usage,
                on: true,
            }),
        ),
        (
            View::System,
            "undo session alarm try-rate-abrupt enable",
            Action::Info(InfoCmd::AlarmEnable {
                kind: AlarmKind::TryRate,
                on: false,
            }),
        ),
        (
            View::System,
            "session alarm rate-abrupt threshold 50 base-threshold 5",
            Action::Info(InfoCmd::AlarmThreshold {
                kind: AlarmKind::Rate,
                set: Some((50, 5)),
            }),
        ),
        (
            View::System,
            "session alarm rate-abrupt threshold 30",
            Action::Info(InfoCmd::AlarmThreshold {
                kind: AlarmKind::Rate,
                set: Some((30, 10)),
            }),
        ),
        (
            View::System,
            "undo session alarm usage-abrupt threshold",
            Action::Info(InfoCmd::AlarmThreshold {
                kind: AlarmKind::Usage,
                set: None,
            }),
        ),
        (
            View::System,
            "info-center logbuffer size 100",
            Action::Info(InfoCmd::LogbufferSize(Some(100))),
        ),
        (
            View::System,
            "undo info-center logbuffer size",
            Action::Info(InfoCmd::LogbufferSize(None)),
        ),
        (
            View::System,
            "display logbuffer",
            Action::Info(InfoCmd::DisplayLogbuffer),
        ),
        (
            View::User,
            "reset logbuffer",
            Action::Info(InfoCmd::ResetLogbuffer),
        ),
        (View::User, "terminal monitor", Action::Info(InfoCmd::Monitor(true))),
        (
            View::User,
            "undo terminal monitor",
            Action::Info(InfoCmd::Monitor(false)),
        ),
        (
            View::User,
            "terminal logging level 4",
            Action::Info(InfoCmd::LoggingLevel(Some(4))),
        ),
        (
            View::User,
            "undo terminal logging level",
            Action::Info(InfoCmd::LoggingLevel(None)),
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
        (View::System, "session top-statistics enable".into()),
        (View::System, "session alarm usage-abrupt enable".into()),
        (View::System, "session alarm try-rate-abrupt threshold 40".into()),
        (
            View::System,
            "session alarm rate-abrupt threshold 100 base-threshold 2".into(),
        ),
        (View::System, "info-center logbuffer size 0".into()),
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
    for s in SETTABLE_STATES.iter() {
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

/// `alg pptp` / `undo alg pptp` (issue #17).
#[test]
fn alg_pptp_switches_the_pptp_alg() {
    let pptp = crate::alg::by_keyword("pptp").expect("registered");
    for (line, on) in [("alg pptp", true), ("undo alg pptp", false)] {
        let a = parse(&View::System, line);
        assert_eq!(
            a,
            Action::Alg(super::alg::AlgCmd::Alg {
                alg: Some(pptp),
                on
            })
        );
        assert_eq!(a.canonical(), line);
    }
}

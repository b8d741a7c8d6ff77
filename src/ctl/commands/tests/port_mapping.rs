//! Port mappings and user-defined applications (SPEC S5, comware.md §12, issue #11): every
//! form of `port-mapping` parsed, done on an engine (no cores) and written back into the
//! configuration, which a fresh engine takes back as it was; the application's life
//! (defined by its first mapping, timed, gone with its last); the refusals.

use super::*;
use crate::config::Config;
use crate::ctl::engine::Engine;
use crate::ctl::exec::{Console, apply_startup};
use crate::ctl::grammar::ErrorKind;
use crate::ctl::running::Running;
use crate::table::apps::{FIRST_USER_APP, MAX_USER_APPS, OTHERS_AGING_S};
use crate::table::port_map::MatchScope;
use std::sync::Arc;

fn engine() -> Arc<Engine> {
    Arc::new(Engine::new(
        Vec::new(),
        Running::factory(&Config::default()),
        "/nonexistent/startup.cfg".into(),
    ))
}

/// A console in system view on `e`.
fn system(e: &Arc<Engine>) -> Console {
    let mut c = Console::new(e.clone());
    c.line("system-view");
    c
}

fn mapping(line: &str) -> AlgCmd {
    match parse(&View::System, line) {
        Action::Alg(cmd @ AlgCmd::PortMapping { .. }) => cmd,
        other => panic!("{line}: {other:?}"),
    }
}

/// Every form of §12, typed in full or otherwise, and the canonical line it gives.
const FORMS: &[(&str, &str)] = &[
    (
        "port-mapping application ftp port 2121",
        "port-mapping application ftp port 2121",
    ),
    (
        "port-mapping application FTP port 2121 protocol tcp",
        "port-mapping application ftp port 2121 protocol tcp",
    ),
    (
        "port-mapping application MyApp port 9000 protocol udp-lite",
        "port-mapping application myapp port 9000 protocol udp-lite",
    ),
    (
        "port-mapping application my_app-2 port 9001 acl 2000",
        "port-mapping application my_app-2 port 9001 acl 2000",
    ),
    (
        "port-mapping application myapp port 9002 protocol sctp acl ipv6 2999",
        "port-mapping application myapp port 9002 protocol sctp acl ipv6 2999",
    ),
    (
        "port-mapping application myapp port 9003 host ip 10.1.1.1",
        "port-mapping application myapp port 9003 host ip 10.1.1.1",
    ),
    (
        "port-mapping application myapp port 9003 host ip 10.1.1.1 10.1.1.9",
        "port-mapping application myapp port 9003 host ip 10.1.1.1 10.1.1.9",
    ),
    (
        "port-mapping application myapp port 9004 protocol dccp host ipv6 2001:db8::1 2001:db8::5",
        "port-mapping application myapp port 9004 protocol dccp host ipv6 2001:db8::1 2001:db8::5",
    ),
    (
        "port-mapping application myapp port 9005 subnet ip 10.2.0.0 16",
        "port-mapping application myapp port 9005 subnet ip 10.2.0.0 16",
    ),
    (
        "port-mapping application myapp port 9005 subnet ip 10.3.0.0 255.255.255.0",
        "port-mapping application myapp port 9005 subnet ip 10.3.0.0 24",
    ),
    (
        "port-mapping application myapp port 9006 protocol udp subnet ipv6 2001:db8:1:: 48",
        "port-mapping application myapp port 9006 protocol udp subnet ipv6 2001:db8:1:: 48",
    ),
];

#[test]
fn every_form_parses_to_its_canonical_line_and_back() {
    for (typed, canonical) in FORMS {
        let cmd = mapping(typed);
        assert_eq!(cmd.canonical(), *canonical, "{typed}");
        assert_eq!(mapping(canonical), cmd);
        assert_eq!(cmd.config_line(), Some(format!(" {canonical}")));
        // The undo form takes the same words.
        let undo = mapping(&format!("undo {canonical}"));
        assert_eq!(undo.canonical(), format!("undo {canonical}"));
        assert!(!undo.is_config());
    }
    let AlgCmd::PortMapping { app, scope, .. } =
        mapping("port-mapping application web port 80 host ip 10.0.0.1 10.0.0.2")
    else {
        unreachable!()
    };
    assert_eq!(app, kit::AppName::User("web".into()));
    assert_eq!(
        scope,
        MatchScope::Host {
            start: v4("10.0.0.1"),
            end: v4("10.0.0.2")
        }
    );
    assert_eq!(
        mapping("port-mapping application http port 8080"),
        AlgCmd::PortMapping {
            app: pre("http"),
            port: 8080,
            proto: None,
            scope: MatchScope::Any,
            vpn: None,
            on: true,
        }
    );
}

#[test]
fn bad_names_and_conditions_are_wrong_parameters() {
    let s = View::System;
    for (line, column) in [
        ("port-mapping application other port 1", 25),
        ("port-mapping application INVALID port 1", 25),
        ("port-mapping application my.app port 1", 25),
        (
            "port-mapping application a port 1 host ip 10.0.0.9 10.0.0.1",
            51,
        ),
        (
            "port-mapping application a port 1 subnet ip 10.0.0.0 255.0.255.0",
            53,
        ),
        (
            "port-mapping application a port 1 subnet ip 10.0.0.0 33",
            53,
        ),
        ("port-mapping application a port 1 acl 3000", 38),
        ("port-mapping application a port 1 host ip 2001:db8::1", 42),
    ] {
        let e = err(&s, line);
        assert_eq!((e.kind, e.column), (ErrorKind::Wrong, column), "{line}");
    }
    let long = "a".repeat(64);
    let e = err(&s, &format!("port-mapping application {long} port 1"));
    assert_eq!(e.kind, ErrorKind::Wrong);
    mapping(&format!(
        "port-mapping application {} port 1",
        "a".repeat(63)
    ));
}

/// Issue #11: what `display current-configuration` prints for each form is accepted back,
/// and a fresh engine given it has the same configuration.
#[test]
fn each_form_printed_is_applied_back_as_it_was() {
    for (typed, canonical) in FORMS {
        let first = engine();
        let mut c = system(&first);
        for line in [
            "acl basic 2000",
            "rule permit source 10.0.0.0 0.255.255.255",
            "quit",
        ] {
            c.line(line);
        }
        let r = c.line(typed);
        assert_eq!(r.output, "", "{typed}");
        let r = c.line("session aging-time application myapp 77");
        let timed = r.output.is_empty();
        let saved = configuration(&first.running.lock().unwrap());
        assert!(
            saved.lines().any(|l| l == format!(" {canonical}")),
            "{saved}"
        );
        let again = engine();
        let failed = apply_startup(again.clone(), &saved);
        assert!(failed.is_empty(), "{typed}: {failed:?}\n{saved}");
        let (a, b) = (first.running.lock().unwrap(), again.running.lock().unwrap());
        assert_eq!(a.table.port_map, b.table.port_map, "{typed}");
        assert_eq!(a.table.user_apps, b.table.user_apps, "{typed}");
        assert_eq!(a.table.aging, b.table.aging, "{typed}");
        assert_eq!(configuration(&b), saved);
        assert_eq!(
            timed,
            saved.contains(" session aging-time application myapp 77\n"),
            "{saved}"
        );
    }
}

#[test]
fn a_user_defined_application_lives_as_long_as_its_mappings() {
    let e = engine();
    let mut c = system(&e);
    let aging = |c: &mut Console| c.line("display session aging-time application").output;
    let row = |name: &str, v: u32| format!("\n{name:<63}{v}\n");

    // Unknown before its first mapping.
    let r = c.line("session aging-time application myapp 600");
    assert_eq!(r.output, " % The application myapp does not exist.\n");
    let r = c.line("display session table ipv4 application myapp");
    assert_eq!(r.output, " % The application myapp does not exist.\n");

    assert_eq!(
        c.line("port-mapping application MyApp port 9000").output,
        ""
    );
    assert!(aging(&mut c).contains(&row("myapp", OTHERS_AGING_S)));
    let id = e.running.lock().unwrap().table.user_apps.id("myapp");
    assert_eq!(id, Some(FIRST_USER_APP));
    // A second mapping of the same application keeps its id.
    c.line("port-mapping application myapp port 9001 protocol udp");
    assert_eq!(e.running.lock().unwrap().table.user_apps.id("MYAPP"), id);

    assert_eq!(
        c.line("session aging-time application MYAPP 600").output,
        ""
    );
    assert!(aging(&mut c).contains(&row("myapp", 600)));
    let conf = configuration(&e.running.lock().unwrap());
    assert!(
        conf.contains(
            " port-mapping application myapp port 9000\n port-mapping application myapp port 9001 protocol udp\n session aging-time application myapp 600\n"
        ),
        "{conf}"
    );
    // `undo` of the one application, of all: back to 1200.
    c.line("undo session aging-time application myapp");
    assert!(aging(&mut c).contains(&row("myapp", OTHERS_AGING_S)));
    c.line("session aging-time application myapp 600");
    c.line("undo session aging-time application");
    assert!(aging(&mut c).contains(&row("myapp", OTHERS_AGING_S)));
    c.line("session aging-time application myapp 600");

    // `display port-mapping user-defined` and its filters.
    let t = c.line("display port-mapping user-defined").output;
    assert!(
        t.contains("\n MYAPP              9000   ---          ---          ---\n"),
        "{t}"
    );
    assert!(
        t.contains("\n MYAPP              9001   UDP          ---          ---\n"),
        "{t}"
    );
    let t = c
        .line("display port-mapping user-defined application myapp port 9001")
        .output;
    assert_eq!(t.lines().count(), 3, "{t}");
    let t = c
        .line("display port-mapping user-defined application nothere")
        .output;
    assert_eq!(t.lines().count(), 2, "{t}");

    // `undo` of a mapping another application holds removes nothing.
    c.line("undo port-mapping application ftp port 9000");
    assert_eq!(e.running.lock().unwrap().table.port_map.len(), 2);
    // The same place mapped to another application: overwritten.
    c.line("port-mapping application http port 9001 protocol udp");
    c.line("undo port-mapping application myapp port 9000");
    let r = e.running.lock().unwrap();
    assert!(r.table.user_apps.is_empty(), "{:?}", r.table.user_apps);
    assert_eq!(r.table.port_map.len(), 1);
    assert_eq!(r.table.aging.app_s[usize::from(FIRST_USER_APP)], None);
    drop(r);
    assert!(!aging(&mut c).contains("myapp"));
    let conf = configuration(&e.running.lock().unwrap());
    assert!(!conf.contains("myapp"), "{conf}");
}

#[test]
fn refusals_say_why() {
    let e = engine();
    let mut c = system(&e);
    // A name that begins a pre-defined one would be read as it where names abbreviate.
    let r = c.line("port-mapping application tel port 2323");
    assert_eq!(
        r.output,
        " % The name tel is the beginning of the pre-defined application telnet: choose another.\n"
    );
    let r = c.line("port-mapping application web port 80 host ip 10.0.0.1 vpn-instance blue");
    assert_eq!(
        r.output,
        " % VPN instances are not supported: port mappings apply to the public network.\n"
    );
    assert!(e.running.lock().unwrap().table.user_apps.is_empty());
    for i in 0..MAX_USER_APPS {
        let r = c.line(&format!(
            "port-mapping application app{i} port {}",
            10000 + i
        ));
        assert_eq!(r.output, "", "{i}");
    }
    let r = c.line("port-mapping application onemore port 1");
    assert_eq!(
        r.output,
        format!(
            " % The number of user-defined applications has reached the limit ({MAX_USER_APPS}).\n"
        )
    );
    // A pre-defined application is not counted, and room comes back with a name's last mapping.
    assert_eq!(c.line("port-mapping application ftp port 1").output, "");
    c.line("undo port-mapping application app0 port 10000");
    assert_eq!(c.line("port-mapping application onemore port 2").output, "");
    let r = e.running.lock().unwrap();
    assert_eq!(r.table.user_apps.len(), MAX_USER_APPS);
    // The one id free is the freed one (with more room it would be taken last: apps.rs).
    assert_eq!(r.table.user_apps.id("onemore"), Some(FIRST_USER_APP));
}

#[test]
fn session_filters_name_user_defined_applications() {
    let e = engine();
    let mut c = system(&e);
    c.line("port-mapping application myapp port 9000");
    let Action::Session(cmd) = parse(&View::User, "display session table ipv4 application MyApp")
    else {
        unreachable!()
    };
    assert_eq!(
        cmd.canonical(),
        "display session table ipv4 application myapp"
    );
    // Pre-defined names still abbreviate.
    let Action::Session(cmd) = parse(&View::User, "display session table ipv4 application ftp-d")
    else {
        unreachable!()
    };
    assert_eq!(
        cmd.canonical(),
        "display session table ipv4 application ftp-data"
    );
    // No cores: an empty table, but no error for a defined name.
    let r = c.line("display session statistics ipv4 application myapp");
    assert!(!r.output.contains('%'), "{}", r.output);
    c.line("return");
    let r = c.line("reset session table ipv4 application nothere");
    assert_eq!(r.output, " % The application nothere does not exist.\n");
}

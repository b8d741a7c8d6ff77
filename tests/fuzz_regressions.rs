//! Every input a fuzz target failed on (fuzz/regressions/TARGET/), run through the same checks
//! as the target, so each fix stays fixed under `cargo test` (libFuzzer is not needed).

use sessmgr::config::Config;
use sessmgr::ctl::commands::configuration;
use sessmgr::ctl::engine::Engine;
use sessmgr::ctl::exec::apply_startup;
use sessmgr::ctl::running::Running;
use sessmgr::ctl::startup::seed;
use std::path::PathBuf;
use std::sync::Arc;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.expect("entry").path();
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect();
    v.sort();
    v
}

fn engine(running: Running) -> Arc<Engine> {
    Arc::new(Engine::new(
        Vec::new(),
        running,
        "/nonexistent/sessmgr-fuzz/startup.cfg".into(),
    ))
}

/// fuzz/fuzz_targets/config.rs's checks.
fn config_checks(name: &str, data: &[u8]) {
    let (toml, startup) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let cfg = match Config::parse(&String::from_utf8_lossy(toml)) {
        Ok(cfg) => cfg,
        Err(e) => {
            assert!(!e.key.is_empty(), "{name}: an error without a key: {e}");
            Config::default()
        }
    };
    let first = engine(seed(&cfg));
    let _ = apply_startup(first.clone(), &String::from_utf8_lossy(startup));
    let saved = configuration(&first.running.lock().expect("running"));
    let next = engine(Running::factory(&cfg));
    let failed = apply_startup(next.clone(), &saved);
    assert!(
        failed.is_empty(),
        "{name}: the saved configuration is refused at the next start: {failed:?}\n{saved}"
    );
    assert_eq!(
        configuration(&next.running.lock().expect("running")),
        saved,
        "{name}: a restart changed the configuration"
    );
}

#[test]
fn the_config_targets_failures_stay_fixed() {
    let all = inputs("config");
    assert!(!all.is_empty());
    for (name, data) in all {
        config_checks(&name, &data);
    }
}

/// fuzz/fuzz_targets/h323_per.rs's checks: every entry a RAS message announces admits only
/// the other end of the RAS session, every H.245 entry is to an end of the control session
/// from the other (T.120: from anyone), and every entry names a port (a GCF's `rasAddress`
/// with port 0 once made an entry to port 0, and an OpenLogicalChannel's media port 1 an RTP
/// entry to port 0).
#[test]
fn h323_per_regressions() {
    use sessmgr::alg::h323::{H245, H323};
    use sessmgr::alg::kit::AlgKit;
    for (name, data) in inputs("h323_per") {
        let (a, b) = ("198.18.0.1".parse().ok(), "198.18.0.2".parse().ok());
        let mut ras: AlgKit<H323> = AlgKit::new("198.18.0.1:1719", "198.18.0.2:1719").over_udp();
        let mut control: AlgKit<H323> =
            AlgKit::new("198.18.0.1:40000", "198.18.0.2:1300").expected(H245);
        for piece in data.split(|&b| b == 0xff) {
            let Some((&dir, bytes)) = piece.split_first() else {
                continue;
            };
            let e = if dir & 1 == 0 {
                ras.client(bytes)
            } else {
                ras.server(bytes)
            };
            for e in e {
                assert!(e.dport != 0 && (e.src == a || e.src == b), "{name}: {e:?}");
            }
            let e = if dir & 2 == 0 {
                control.client(bytes)
            } else {
                control.server(bytes)
            };
            for e in e {
                assert!(e.dport != 0, "{name}: {e:?}");
                assert!(
                    (Some(e.dst) == a && (e.src == b || e.src.is_none()))
                        || (Some(e.dst) == b && (e.src == a || e.src.is_none())),
                    "{name}: {e:?}"
                );
            }
        }
    }
}

//! The configuration loaders: config.toml (`Config::parse`) and the startup configuration
//! (`ctl::exec::apply_startup`, the Comware text `save` writes and the engine applies at
//! start). The input is a config.toml, then a NUL byte, then a startup text.
//!
//! Checked: nothing panics; an error names a key; and what `save` would write after the
//! startup text was typed over config.toml's seed (the running configuration's text), applied
//! at the next start over the factory defaults (a startup file exists then: config.toml only
//! seeds), is accepted line for line and gives the same configuration back (a restart keeps
//! the configuration, and never warns about the engine's own file).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessmgr::config::Config;
use sessmgr::ctl::commands::configuration;
use sessmgr::ctl::engine::Engine;
use sessmgr::ctl::exec::apply_startup;
use sessmgr::ctl::running::Running;
use sessmgr::ctl::startup::seed;
use std::sync::Arc;

/// An engine without cores, started from `running` (apply_startup never runs `save`, so its
/// startup file is never written).
fn engine(running: Running) -> Arc<Engine> {
    Arc::new(Engine::new(
        Vec::new(),
        running,
        "/nonexistent/sessmgr-fuzz/startup.cfg".into(),
    ))
}

fn running_text(e: &Engine) -> String {
    configuration(&e.running.lock().expect("running configuration"))
}

fuzz_target!(|data: &[u8]| {
    let (toml, startup) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let toml = String::from_utf8_lossy(toml);
    let cfg = match Config::parse(&toml) {
        Ok(cfg) => cfg,
        Err(e) => {
            assert!(!e.key.is_empty(), "an error without a key: {e}");
            let _ = e.to_string();
            Config::default()
        }
    };
    let startup = String::from_utf8_lossy(startup);
    let first = engine(seed(&cfg));
    let _ = apply_startup(first.clone(), &startup);
    let saved = running_text(&first);

    let next = engine(Running::factory(&cfg));
    let failed = apply_startup(next.clone(), &saved);
    assert!(
        failed.is_empty(),
        "the saved configuration is refused at the next start: {failed:?}\n{saved}"
    );
    assert_eq!(
        running_text(&next),
        saved,
        "a restart changed the configuration"
    );
});

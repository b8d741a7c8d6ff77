//! The shipped config.toml is valid and means what its comments say.

use sessmgr::config::Config;
use sessmgr::table::SessionMode;
use sessmgr::table::aging::AgingState;
use std::path::Path;

#[test]
fn shipped_config_toml_loads_with_documented_values() {
    let c = Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml"))
        .expect("config.toml must load");
    assert_eq!(c.table.mode, SessionMode::Bidirectional);
    assert_eq!(c.table.capacity, 1_048_576);
    assert!(c.table.statistics);
    assert_eq!(c.table.aging.state(AgingState::TcpEst), 3600);
    assert_eq!(c.acls.len(), 2);
    assert!(c.table.persistent_v4.is_none());
    // The shipped fragment settings are the defaults.
    assert_eq!(c.fragment, sessmgr::proto::frag::FragLimits::default());
}

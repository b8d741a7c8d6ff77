//! config.toml -> a validated configuration. Units are in key names; every error names the
//! key and the reason.

use crate::acl::Acl;
use crate::io::IoMode;
use crate::proto::frag::FragLimits;
use crate::proto::wire::Family;
use crate::table::aging::{AgingConfig, AgingState};
use crate::table::apps;
use crate::table::config::{PERSISTENT_DEFAULT_HOURS, PersistentRule, SessionMode, TableConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A configuration error: the key (dotted path) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key `{key}`: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

fn err(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    session: RawSession,
    #[serde(default)]
    acl: Vec<RawAcl>,
    #[serde(default)]
    fragment: RawFragment,
    #[serde(default)]
    runtime: RawRuntime,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    alg: RawAlg,
    #[serde(default)]
    restart: RawRestart,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRestart {
    save_sessions: Option<bool>,
    file: Option<PathBuf>,
}

/// `[restart]` (issue #16 §3): the state file a clean stop writes and the next start reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartConfig {
    /// On by default; `run` with the capture back-end (a demo) never saves.
    pub save_sessions: bool,
    /// Where; `None`: beside the startup configuration, `<startup>.sessions`.
    pub file: Option<PathBuf>,
}

impl Default for RestartConfig {
    fn default() -> Self {
        RestartConfig {
            save_sessions: true,
            file: None,
        }
    }
}

/// `[alg.NAME]`: settings of one ALG.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlg {
    #[serde(default)]
    sip: RawSip,
}

/// `[alg.sip]`: the kernel's `nf_conntrack_sip` module parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSip {
    direct_media: Option<bool>,
    direct_signalling: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<String>,
}

/// `[metrics]`: the Prometheus endpoint (SPEC B4, actors/metrics/).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Where the endpoint listens (`listen = "127.0.0.1:9712"`); `None`: no endpoint.
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    cores: Option<u64>,
    backend: Option<String>,
    interfaces: Option<Vec<String>>,
    io_mode: Option<String>,
    capture: Option<String>,
    capture_loop: Option<bool>,
    capture_pace: Option<String>,
    control_socket: Option<String>,
    control_group: Option<String>,
    log_events: Option<bool>,
    startup_config: Option<String>,
    xdp_attach: Option<String>,
    fast_path: Option<bool>,
    fast_path_entries: Option<u64>,
}

/// Where `sessmgr run` gets its packets (SPEC P2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A capture played back in real time (monitor only): the default, which works anywhere.
    /// `flat_out`: as fast as the cores take it, for load measurements.
    Pcap {
        capture: PathBuf,
        looping: bool,
        flat_out: bool,
    },
    /// AF_PACKET on named Linux interfaces.
    AfPacket { interfaces: Vec<String> },
    /// netmap on appliance NICs (needs the netmap kernel module).
    Netmap { interfaces: Vec<String> },
    /// AF_XDP on named Linux interfaces (inline only; src/io/afxdp).
    AfXdp { interfaces: Vec<String> },
}

/// `sessmgr run` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub cores: usize,
    pub backend: Backend,
    pub io_mode: IoMode,
    pub control_socket: PathBuf,
    /// Besides root (and the engine's own user), the members of this group may use the
    /// control socket (`None`: root alone).
    pub control_group: Option<ControlGroup>,
    /// Write every session event (created, state changed, deleted) to the daemon log.
    pub log_events: bool,
    /// The CLI configuration `save` writes and the engine applies at start (SPEC C4).
    pub startup_config: PathBuf,
    /// The AF_XDP back-end's settings (`xdp_attach`, `fast_path`, `fast_path_entries`).
    pub xdp: XdpSettings,
}

/// `runtime.xdp_attach`, `runtime.fast_path` and `runtime.fast_path_entries`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XdpSettings {
    pub attach: crate::io::afxdp::XdpAttach,
    /// The in-kernel fast path for established IPv4 TCP/UDP sessions, with a flow map of this
    /// many one-way entries (two per session); `None` = off (the default).
    pub fast_path: Option<u32>,
}

/// Flow map entries when `fast_path_entries` is not set: 65,536 sessions.
pub const DEFAULT_FAST_PATH_ENTRIES: u32 = 131_072;

/// The one interface a capture's frames come in on, played (`backend = "pcap"`) or replayed
/// (`sessmgr replay`): `interface capture` configures it (packet filters, session logs).
pub const CAPTURE_INTERFACE: &str = "capture";

impl RuntimeConfig {
    /// The engine's interfaces in port order (the console's interface views); a capture's
    /// frames come in on one, `capture`.
    pub fn interface_names(&self) -> Vec<String> {
        match &self.backend {
            Backend::Pcap { .. } => vec![CAPTURE_INTERFACE.to_string()],
            Backend::AfPacket { interfaces }
            | Backend::Netmap { interfaces }
            | Backend::AfXdp { interfaces } => interfaces.clone(),
        }
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cores: 1,
            backend: Backend::Pcap {
                capture: PathBuf::from("captures/demo.pcap"),
                looping: true,
                flat_out: false,
            },
            io_mode: IoMode::Monitor,
            control_socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
            control_group: None,
            log_events: true,
            startup_config: PathBuf::from("startup.cfg"),
            xdp: XdpSettings::default(),
        }
    }
}

fn xdp_settings(
    attach: Option<&str>,
    fast_path: Option<bool>,
    entries: Option<u64>,
    backend: &str,
) -> Result<XdpSettings, ConfigError> {
    use crate::io::afxdp::XdpAttach;
    let afxdp_only = |key: &str| {
        err(
            key,
            format!("only the afxdp back-end has it (backend is \"{backend}\")"),
        )
    };
    let mut x = XdpSettings::default();
    if let Some(a) = attach {
        if backend != "afxdp" {
            return Err(afxdp_only("runtime.xdp_attach"));
        }
        x.attach = match a {
            "auto" => XdpAttach::Auto,
            "driver" => XdpAttach::Driver,
            "generic" => XdpAttach::Generic,
            other => {
                return Err(err(
                    "runtime.xdp_attach",
                    format!("'{other}' is not one of \"auto\", \"driver\", \"generic\""),
                ));
            }
        };
    }
    if fast_path == Some(true) && backend != "afxdp" {
        return Err(afxdp_only("runtime.fast_path"));
    }
    if let Some(n) = entries {
        if fast_path != Some(true) {
            return Err(err(
                "runtime.fast_path_entries",
                "sizes the fast path's flow map: set fast_path = true too",
            ));
        }
        let range = crate::io::afxdp::FAST_PATH_ENTRIES;
        if !u32::try_from(n).is_ok_and(|n| range.contains(&n)) {
            return Err(err(
                "runtime.fast_path_entries",
                format!(
                    "{n} is outside {}-{} (two entries per offloaded session)",
                    range.start(),
                    range.end()
                ),
            ));
        }
    }
    if fast_path == Some(true) {
        x.fast_path = Some(entries.map_or(DEFAULT_FAST_PATH_ENTRIES, |n| n as u32));
    }
    Ok(x)
}

/// Where the control socket lives unless configured: in a directory of its own under `/run`,
/// which the engine creates for its user alone (mode 0700), so no other user can reach the
/// socket, take its name or replace it.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/sessmgr/sessmgr.sock";

/// The longest path a Unix socket can be bound to (`sun_path` holds 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// `runtime.control_group`: a group whose members may use the control socket, resolved when
/// the configuration is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlGroup {
    pub name: String,
    pub gid: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    mode: Option<String>,
    capacity_sessions: Option<u64>,
    statistics_enable: Option<bool>,
    early_drop: Option<bool>,
    #[serde(default)]
    aging_time_state_s: BTreeMap<String, i64>,
    #[serde(default)]
    aging_time_application_s: BTreeMap<String, i64>,
    persistent: Option<RawPersistent>,
    persistent_ipv6: Option<RawPersistent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPersistent {
    acl: u32,
    aging_time_hours: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAcl {
    number: u32,
    #[serde(default)]
    ipv6: bool,
    #[serde(default)]
    rules: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFragment {
    /// Gone: the pools are bounded by bytes. Named in an error rather than ignored.
    max_datagrams: Option<toml::Value>,
    max_bytes: Option<u64>,
    low_bytes: Option<u64>,
    source_share_percent: Option<u64>,
    timeout_s: Option<u64>,
}

/// The validated configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Table settings for the whole engine (capacity is the engine total).
    pub table: TableConfig,
    pub acls: Vec<Acl>,
    pub fragment: FragLimits,
    pub runtime: RuntimeConfig,
    pub metrics: MetricsConfig,
    pub restart: RestartConfig,
    /// `[alg.sip]` (applied engine-wide with `alg::sip::set_options`).
    pub sip: crate::alg::sip::SipOptions,
}

/// Aging times accepted by `session aging-time` (comware.md §4.2: 1-100000 s on current V7).
const AGING_RANGE: std::ops::RangeInclusive<i64> = 1..=100_000;

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(path.display().to_string(), format!("cannot read: {e}")))?;
        let mut cfg = Self::parse(&text)?;
        // A relative capture path is relative to the configuration file.
        if let Some(dir) = path.parent() {
            if let Backend::Pcap { capture, .. } = &mut cfg.runtime.backend
                && capture.is_relative()
            {
                *capture = dir.join(&*capture);
            }
            if cfg.runtime.startup_config.is_relative() {
                cfg.runtime.startup_config = dir.join(&cfg.runtime.startup_config);
            }
        }
        Ok(cfg)
    }

    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let span = e
                .span()
                .map(|s| format!(" (bytes {}..{})", s.start, s.end))
                .unwrap_or_default();
            // The key is where the error points, or, when no key is written there (a table
            // header without a name, the end of the text), the line; a message naming no span
            // (a missing key) names it between backticks.
            let key = match e.span() {
                Some(s) => key_at(text, s.start)
                    .filter(|k| !k.is_empty())
                    .unwrap_or_else(|| format!("(line {})", line_at(text, s.start))),
                None => e
                    .message()
                    .split('`')
                    .nth(1)
                    .filter(|k| !k.is_empty())
                    .map_or_else(|| "(document)".into(), str::to_string),
            };
            err(key, format!("{}{span}", e.message().trim()))
        })?;
        let mut cfg = Config::default();
        let s = raw.session;
        if let Some(mode) = s.mode {
            cfg.table.mode = match mode.as_str() {
                "bidirectional" => SessionMode::Bidirectional,
                "hybrid" => SessionMode::Hybrid,
                other => {
                    return Err(err(
                        "session.mode",
                        format!("'{other}' is neither \"bidirectional\" nor \"hybrid\""),
                    ));
                }
            };
        }
        if let Some(c) = s.capacity_sessions {
            if c == 0 || c > 1 << 32 {
                return Err(err(
                    "session.capacity_sessions",
                    "must be between 1 and 4294967296",
                ));
            }
            cfg.table.capacity = c as usize;
        }
        cfg.table.statistics = s.statistics_enable.unwrap_or(cfg.table.statistics);
        cfg.table.early_drop = s.early_drop.unwrap_or(cfg.table.early_drop);
        cfg.table.aging = aging(&s.aging_time_state_s, &s.aging_time_application_s)?;

        for (i, a) in raw.acl.iter().enumerate() {
            let family = if a.ipv6 { Family::V6 } else { Family::V4 };
            let key = format!("acl[{i}]");
            let mut acl = Acl::new(a.number, family).ok_or_else(|| {
                err(
                    format!("{key}.number"),
                    format!(
                        "{} is not a basic (2000-2999) or advanced (3000-3999) ACL",
                        a.number
                    ),
                )
            })?;
            if cfg
                .acls
                .iter()
                .any(|x: &Acl| x.number == a.number && x.family == family)
            {
                return Err(err(
                    format!("{key}.number"),
                    format!("ACL {} is defined twice", a.number),
                ));
            }
            for (j, r) in a.rules.iter().enumerate() {
                acl.add_rule(r)
                    .map_err(|e| err(format!("{key}.rules[{j}]"), e.to_string()))?;
            }
            cfg.acls.push(acl);
        }
        cfg.table.persistent_v4 = persistent(
            &cfg.acls,
            s.persistent.as_ref(),
            Family::V4,
            "session.persistent",
        )?;
        cfg.table.persistent_v6 = persistent(
            &cfg.acls,
            s.persistent_ipv6.as_ref(),
            Family::V6,
            "session.persistent_ipv6",
        )?;

        let f = raw.fragment;
        let positive = |v: Option<u64>, key: &str, dflt: u64| match v {
            Some(0) => Err(err(key, "must be positive")),
            Some(n) => Ok(n),
            None => Ok(dflt),
        };
        if f.max_datagrams.is_some() {
            return Err(err(
                "fragment.max_datagrams",
                "no longer used: each family's reassembly pool is bounded by bytes \
                 (fragment.max_bytes, fragment.low_bytes); remove the key",
            ));
        }
        let d = FragLimits::default();
        let max_bytes = positive(f.max_bytes, "fragment.max_bytes", d.max_bytes as u64)?;
        let low_bytes = positive(f.low_bytes, "fragment.low_bytes", max_bytes / 4 * 3)?;
        if low_bytes > max_bytes {
            return Err(err(
                "fragment.low_bytes",
                format!("must not exceed fragment.max_bytes ({max_bytes})"),
            ));
        }
        let share = positive(
            f.source_share_percent,
            "fragment.source_share_percent",
            u64::from(d.source_share_percent),
        )?;
        if share > 100 {
            return Err(err(
                "fragment.source_share_percent",
                "a percentage: at most 100",
            ));
        }
        let as_usize = |n: u64, key: &str| {
            usize::try_from(n).map_err(|_| err(key, "too large for this machine"))
        };
        cfg.fragment = FragLimits {
            max_bytes: as_usize(max_bytes, "fragment.max_bytes")?,
            low_bytes: as_usize(low_bytes, "fragment.low_bytes")?,
            source_share_percent: share as u8,
            timeout_ns: positive(
                f.timeout_s,
                "fragment.timeout_s",
                d.timeout_ns / 1_000_000_000,
            )?
            .checked_mul(1_000_000_000)
            .ok_or_else(|| err("fragment.timeout_s", "too large"))?,
        };
        cfg.runtime = runtime(raw.runtime)?;
        cfg.metrics = metrics(raw.metrics)?;
        cfg.restart = RestartConfig {
            save_sessions: raw.restart.save_sessions.unwrap_or(true),
            file: raw.restart.file,
        };
        let defaults = crate::alg::sip::SipOptions::default();
        cfg.sip = crate::alg::sip::SipOptions {
            direct_media: raw.alg.sip.direct_media.unwrap_or(defaults.direct_media),
            direct_signalling: raw
                .alg
                .sip
                .direct_signalling
                .unwrap_or(defaults.direct_signalling),
        };
        Ok(cfg)
    }
}

/// The dotted key (`session.capacity_sessions`) of the line holding byte `offset` of a TOML
/// document: the key before its `=`, under the last table header above it; on a header line,
/// the table itself. An offset at the end of the text (an unfinished last line) is on the last
/// line.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len().saturating_sub(1));
    let mut table = String::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let end = start + line.len();
        let t = line.trim();
        if let Some(name) = t
            .strip_prefix("[[")
            .and_then(|r| r.split("]]").next())
            .or_else(|| t.strip_prefix('[').and_then(|r| r.split(']').next()))
        {
            table = name.trim().to_string();
            if (start..end).contains(&offset) {
                return Some(table);
            }
        } else if (start..end).contains(&offset) {
            let key = t.split('=').next()?.trim().trim_matches('"');
            if key.is_empty() || !t.contains('=') {
                return (!table.is_empty()).then_some(table);
            }
            return Some(if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            });
        }
        start = end;
    }
    None
}

/// The line (from 1) holding byte `offset`; past the end, the last line.
fn line_at(text: &str, offset: usize) -> usize {
    let upto = &text.as_bytes()[..offset.min(text.len())];
    upto.iter().filter(|&&b| b == b'\n').count() + 1
}

fn runtime(r: RawRuntime) -> Result<RuntimeConfig, ConfigError> {
    let mut rt = RuntimeConfig::default();
    if let Some(c) = r.cores {
        if !(1..=64).contains(&c) {
            return Err(err("runtime.cores", format!("{c} is outside 1-64")));
        }
        rt.cores = c as usize;
    }
    if let Some(m) = r.io_mode {
        rt.io_mode = match m.as_str() {
            "inline" => IoMode::Inline,
            "monitor" => IoMode::Monitor,
            other => {
                return Err(err(
                    "runtime.io_mode",
                    format!("'{other}' is neither \"inline\" nor \"monitor\""),
                ));
            }
        };
    }
    rt.xdp = xdp_settings(
        r.xdp_attach.as_deref(),
        r.fast_path,
        r.fast_path_entries,
        r.backend.as_deref().unwrap_or("pcap"),
    )?;
    let interfaces = r.interfaces.unwrap_or_default();
    let backend = r.backend.as_deref().unwrap_or("pcap");
    rt.backend = match backend {
        "pcap" => {
            if !interfaces.is_empty() {
                return Err(err(
                    "runtime.interfaces",
                    "the pcap back-end plays a capture: set runtime.capture instead",
                ));
            }
            if rt.io_mode == IoMode::Inline {
                return Err(err(
                    "runtime.io_mode",
                    "the pcap back-end can only monitor (there is no port to forward to)",
                ));
            }
            Backend::Pcap {
                capture: r
                    .capture
                    .map_or_else(|| PathBuf::from("captures/demo.pcap"), PathBuf::from),
                looping: r.capture_loop.unwrap_or(true),
                flat_out: match r.capture_pace.as_deref() {
                    None | Some("recorded") => false,
                    Some("max") => true,
                    Some(other) => {
                        return Err(err(
                            "runtime.capture_pace",
                            format!("'{other}' is neither \"recorded\" nor \"max\""),
                        ));
                    }
                },
            }
        }
        "afpacket" | "netmap" | "afxdp" => {
            if r.capture_pace.is_some() {
                return Err(err(
                    "runtime.capture_pace",
                    format!("the {backend} back-end reads interfaces, not a capture"),
                ));
            }
            if r.capture.is_some() {
                return Err(err(
                    "runtime.capture",
                    format!("the {backend} back-end reads interfaces, not a capture"),
                ));
            }
            if interfaces.is_empty() {
                return Err(err(
                    "runtime.interfaces",
                    format!("the {backend} back-end needs at least one interface"),
                ));
            }
            if rt.io_mode == IoMode::Inline && !interfaces.len().is_multiple_of(2) {
                return Err(err(
                    "runtime.interfaces",
                    "inline mode bridges interfaces in pairs: give an even number",
                ));
            }
            if interfaces.len() > 64 {
                return Err(err("runtime.interfaces", "at most 64 interfaces"));
            }
            if backend == "afxdp" && rt.io_mode != IoMode::Inline {
                return Err(err("runtime.io_mode", crate::io::afxdp::MONITOR_REFUSED));
            }
            match backend {
                "afpacket" => Backend::AfPacket { interfaces },
                "afxdp" => Backend::AfXdp { interfaces },
                _ => Backend::Netmap { interfaces },
            }
        }
        other => {
            return Err(err(
                "runtime.backend",
                format!("'{other}' is not one of \"pcap\", \"afpacket\", \"afxdp\", \"netmap\""),
            ));
        }
    };
    if let Some(s) = r.control_socket {
        rt.control_socket = control_socket(&s)?;
    }
    if let Some(g) = r.control_group {
        rt.control_group = Some(control_group(&g)?);
    }
    rt.log_events = r.log_events.unwrap_or(rt.log_events);
    if let Some(p) = r.startup_config {
        rt.startup_config = PathBuf::from(p);
    }
    Ok(rt)
}

/// `runtime.control_socket`: a path that names a socket file and fits a Unix socket address.
fn control_socket(s: &str) -> Result<PathBuf, ConfigError> {
    const KEY: &str = "runtime.control_socket";
    let path = PathBuf::from(s);
    if s.is_empty() || s.ends_with('/') || path.file_name().is_none() {
        return Err(err(KEY, format!("'{s}' names no socket file")));
    }
    if s.contains('\0') {
        return Err(err(KEY, "a path cannot hold a NUL byte"));
    }
    if s.len() > MAX_SOCKET_PATH {
        return Err(err(
            KEY,
            format!(
                "{} bytes long; a Unix socket path holds at most {MAX_SOCKET_PATH}",
                s.len()
            ),
        ));
    }
    Ok(path)
}

/// `runtime.control_group`: the name of a group of this system.
fn control_group(name: &str) -> Result<ControlGroup, ConfigError> {
    const KEY: &str = "runtime.control_group";
    if name.is_empty() || name.contains(['\0', ':', '\n']) {
        return Err(err(KEY, format!("{name:?} is not a group name")));
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(ControlGroup {
            name: name.to_string(),
            gid: g.gid.as_raw(),
        }),
        Ok(None) => Err(err(
            KEY,
            format!("there is no group '{name}' on this system"),
        )),
        Err(e) => Err(err(KEY, format!("looking up group '{name}': {e}"))),
    }
}

fn aging(
    states: &BTreeMap<String, i64>,
    apps_s: &BTreeMap<String, i64>,
) -> Result<AgingConfig, ConfigError> {
    let mut a = AgingConfig::default();
    for (kw, &v) in states {
        let key = format!("session.aging_time_state_s.{kw}");
        let st = AgingState::by_keyword(kw)
            .ok_or_else(|| err(&key, "not a state of `session aging-time state`"))?;
        if !AGING_RANGE.contains(&v) {
            return Err(err(&key, format!("{v} is outside 1-100000 seconds")));
        }
        a.state_s[st as usize] = v as u32;
    }
    for (kw, &v) in apps_s {
        let key = format!("session.aging_time_application_s.{kw}");
        let app = apps::by_keyword(kw).ok_or_else(|| err(&key, "not a known application"))?;
        if !AGING_RANGE.contains(&v) {
            return Err(err(&key, format!("{v} is outside 1-100000 seconds")));
        }
        a.app_s[usize::from(app)] = Some(v as u32);
    }
    Ok(a)
}

fn persistent(
    acls: &[Acl],
    raw: Option<&RawPersistent>,
    family: Family,
    key: &str,
) -> Result<Option<PersistentRule>, ConfigError> {
    let Some(p) = raw else { return Ok(None) };
    let acl = acls
        .iter()
        .find(|a| a.number == p.acl && a.family == family)
        .ok_or_else(|| {
            err(
                format!("{key}.acl"),
                format!(
                    "no {} ACL {} is defined",
                    if family == Family::V6 { "IPv6" } else { "IPv4" },
                    p.acl
                ),
            )
        })?;
    let hours = p
        .aging_time_hours
        .unwrap_or(i64::from(PERSISTENT_DEFAULT_HOURS));
    if !(0..=360).contains(&hours) {
        return Err(err(
            format!("{key}.aging_time_hours"),
            format!("{hours} is outside 0-360 hours"),
        ));
    }
    Ok(Some(PersistentRule {
        acl: acl.clone(),
        hours: hours as u16,
    }))
}

/// `[metrics]`: an address and port (`127.0.0.1:9712`, `[::1]:9712`); absent, no endpoint.
fn metrics(m: RawMetrics) -> Result<MetricsConfig, ConfigError> {
    let listen = match m.listen {
        None => None,
        Some(text) => Some(text.parse().map_err(|_| {
            err(
                "metrics.listen",
                format!("'{text}' is not an address and port (\"127.0.0.1:9712\", \"[::1]:9712\")"),
            )
        })?),
    };
    Ok(MetricsConfig { listen })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_options_default_to_the_kernel_and_name_a_bad_key() {
        let c = Config::parse("").unwrap();
        assert!(c.sip.direct_media && c.sip.direct_signalling);
        let c = Config::parse("[alg.sip]\ndirect_media = false").unwrap();
        assert!(!c.sip.direct_media && c.sip.direct_signalling);
        let e = Config::parse("[alg.sip]\ndirect_media = 0").unwrap_err();
        assert!(e.key.contains("direct_media"), "{e}");
        let e = Config::parse("[alg.sip]\nmedia = true").unwrap_err();
        assert!(e.to_string().contains("media"), "{e}");
    }

    #[test]
    fn metrics_listen_is_an_address_and_port_or_absent() {
        assert_eq!(Config::parse("").unwrap().metrics.listen, None);
        let c = Config::parse("[metrics]\nlisten = \"127.0.0.1:9712\"").unwrap();
        assert_eq!(c.metrics.listen, Some("127.0.0.1:9712".parse().unwrap()));
        for bad in [
            "\"localhost\"",
            "\"127.0.0.1\"",
            "\"1.2.3.4:99999\"",
            "9712",
        ] {
            let e = Config::parse(&format!("[metrics]\nlisten = {bad}")).unwrap_err();
            assert_eq!(e.key, "metrics.listen", "{bad}: {e}");
        }
        let e = Config::parse("[metrics]\nport = 9712").unwrap_err();
        assert!(e.to_string().contains("port"), "{e}");
    }

    #[test]
    fn empty_config_is_the_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.table, TableConfig::default());
    }

    #[test]
    fn full_config_parses() {
        let c = Config::parse(
            r#"
[session]
mode = "hybrid"
capacity_sessions = 1000
statistics_enable = true
aging_time_state_s = { syn = 10, tcp-est = 7200 }
aging_time_application_s = { dns = 5 }
persistent = { acl = 3000, aging_time_hours = 0 }

[[acl]]
number = 3000
rules = ["rule permit tcp destination-port eq 22"]
"#,
        )
        .unwrap();
        assert_eq!(c.table.mode, SessionMode::Hybrid);
        assert_eq!(c.table.capacity, 1000);
        assert_eq!(c.table.aging.state(AgingState::Syn), 10);
        assert_eq!(c.table.aging.state(AgingState::TcpEst), 7200);
        assert_eq!(c.table.persistent_v4.as_ref().map(|p| p.hours), Some(0));
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::parse("[session]\nmode = \"sideways\"").unwrap_err();
        assert_eq!(e.key, "session.mode");
        let e = Config::parse("[session.aging_time_state_s]\nsyn = 0").unwrap_err();
        assert_eq!(e.key, "session.aging_time_state_s.syn");
        let e = Config::parse("[session.aging_time_state_s]\nwarp = 3").unwrap_err();
        assert_eq!(e.key, "session.aging_time_state_s.warp");
        let e = Config::parse("[session]\npersistent = { acl = 3001 }").unwrap_err();
        assert_eq!(e.key, "session.persistent.acl");
        let e = Config::parse("[[acl]]\nnumber = 3000\nrules = [\"rule permit tcp source 1.2.3\"]")
            .unwrap_err();
        assert_eq!(e.key, "acl[0].rules[0]");
        let e = Config::parse("[session]\ncolour = 1").unwrap_err();
        assert!(e.reason.contains("colour"), "{e}");
        assert_eq!(e.key, "session.colour");
        // A value of the wrong type names its key, not the value.
        let e = Config::parse("# sizes\n[session]\nmode = \"hybrid\"\ncapacity_sessions = -5\n")
            .unwrap_err();
        assert_eq!(e.key, "session.capacity_sessions", "{e}");
        let e = Config::parse("[runtime]\ncores = \"two\"").unwrap_err();
        assert_eq!(e.key, "runtime.cores", "{e}");
        let e = Config::parse("[fragment]\ntimeout_s = 0").unwrap_err();
        assert_eq!(e.key, "fragment.timeout_s");
        let e = Config::parse("[fragment]\nmax_datagrams = 1024").unwrap_err();
        assert_eq!(e.key, "fragment.max_datagrams");
        assert!(e.reason.contains("bytes"), "{e}");
        let e = Config::parse("[fragment]\nmax_bytes = 1000\nlow_bytes = 2000").unwrap_err();
        assert_eq!(e.key, "fragment.low_bytes");
        let e = Config::parse("[fragment]\nsource_share_percent = 101").unwrap_err();
        assert_eq!(e.key, "fragment.source_share_percent");
        let e = Config::parse("[fragment]\nsource_share_percent = 0").unwrap_err();
        assert_eq!(e.key, "fragment.source_share_percent");
        let e = Config::parse("[runtime]\nbackend = \"dpdk\"").unwrap_err();
        assert_eq!(e.key, "runtime.backend");
        let e = Config::parse(
            "[runtime]\nbackend = \"afpacket\"\nio_mode = \"inline\"\ninterfaces = [\"a\"]",
        )
        .unwrap_err();
        assert_eq!(e.key, "runtime.interfaces");
        let e = Config::parse("[runtime]\nio_mode = \"inline\"").unwrap_err();
        assert_eq!(e.key, "runtime.io_mode");
        // AF_XDP: inline only (its program takes frames away from the kernel stack).
        let e = Config::parse("[runtime]\nbackend = \"afxdp\"\ninterfaces = [\"a\", \"b\"]")
            .unwrap_err();
        assert_eq!(e.key, "runtime.io_mode");
        assert!(e.reason.contains("afpacket"), "{e}");
        let e = Config::parse(
            "[runtime]\nbackend = \"afxdp\"\nio_mode = \"inline\"\ninterfaces = [\"a\"]",
        )
        .unwrap_err();
        assert_eq!(e.key, "runtime.interfaces");
        let c = Config::parse(
            "[runtime]\nbackend = \"afxdp\"\nio_mode = \"inline\"\ninterfaces = [\"a\", \"b\"]",
        )
        .unwrap();
        assert_eq!(
            c.runtime.backend,
            Backend::AfXdp {
                interfaces: vec!["a".into(), "b".into()]
            }
        );
        // The fast path and the attach mode: AF_XDP's, checked and named.
        let xdp =
            "[runtime]\nbackend = \"afxdp\"\nio_mode = \"inline\"\ninterfaces = [\"a\", \"b\"]\n";
        let c = Config::parse(&format!(
            "{xdp}fast_path = true\nxdp_attach = \"generic\"\nfast_path_entries = 4096"
        ))
        .unwrap();
        assert_eq!(c.runtime.xdp.fast_path, Some(4096));
        assert_eq!(c.runtime.xdp.attach, crate::io::afxdp::XdpAttach::Generic);
        let c = Config::parse(&format!("{xdp}fast_path = true")).unwrap();
        assert_eq!(c.runtime.xdp.fast_path, Some(DEFAULT_FAST_PATH_ENTRIES));
        assert_eq!(Config::parse(xdp).unwrap().runtime.xdp.fast_path, None);
        for (extra, key) in [
            ("fast_path_entries = 10", "runtime.fast_path_entries"),
            (
                "fast_path = true\nfast_path_entries = 10",
                "runtime.fast_path_entries",
            ),
            ("xdp_attach = \"native\"", "runtime.xdp_attach"),
        ] {
            assert_eq!(
                Config::parse(&format!("{xdp}{extra}")).unwrap_err().key,
                key
            );
        }
        let e = Config::parse(
            "[runtime]\nbackend = \"afpacket\"\nio_mode = \"inline\"\ninterfaces = [\"a\", \"b\"]\nfast_path = true",
        )
        .unwrap_err();
        assert_eq!(e.key, "runtime.fast_path");
        assert!(e.reason.contains("afxdp"), "{e}");
        let e = Config::parse("[runtime]\ncores = 0").unwrap_err();
        assert_eq!(e.key, "runtime.cores");
        let e = Config::parse("[runtime]\ncapture_pace = \"warp\"").unwrap_err();
        assert_eq!(e.key, "runtime.capture_pace");
        let e = Config::parse(
            "[runtime]\nbackend = \"afpacket\"\ninterfaces = [\"a\"]\ncapture_pace = \"max\"",
        )
        .unwrap_err();
        assert_eq!(e.key, "runtime.capture_pace");
        let e = Config::parse("[runtime]\ncontrol_group = \"no-such-group-here\"").unwrap_err();
        assert_eq!(e.key, "runtime.control_group");
        assert!(e.reason.contains("no group 'no-such-group-here'"), "{e}");
        let e = Config::parse("[runtime]\ncontrol_group = \"\"").unwrap_err();
        assert_eq!(e.key, "runtime.control_group");
        let e = Config::parse("[runtime]\ncontrol_socket = \"/run/sessmgr/\"").unwrap_err();
        assert_eq!(e.key, "runtime.control_socket");
        let long = format!("/run/{}.sock", "s".repeat(110));
        let e = Config::parse(&format!("[runtime]\ncontrol_socket = \"{long}\"")).unwrap_err();
        assert_eq!(e.key, "runtime.control_socket");
        assert!(e.reason.contains("at most 107"), "{e}");
        let c = Config::parse("[runtime]\ncontrol_group = \"root\"").unwrap();
        assert_eq!(
            c.runtime.control_group,
            Some(ControlGroup {
                name: "root".into(),
                gid: 0
            })
        );
        assert_eq!(
            Config::parse("").unwrap().runtime.control_socket,
            PathBuf::from("/run/sessmgr/sessmgr.sock")
        );
        let c = Config::parse("[runtime]\ncapture_pace = \"max\"").unwrap();
        assert!(matches!(
            c.runtime.backend,
            Backend::Pcap { flat_out: true, .. }
        ));
    }

    /// Found by the `config` fuzz target: a table header without a name gave an error whose
    /// key was empty (``). Where no key is written, the error names the line.
    #[test]
    fn an_error_where_no_key_is_written_names_the_line() {
        let crash = b"[\n[session.\0\0\0\x7fg_timt_tease_s]\nwarp\x1b\0\0\0\0\0\0\0 = 3\n";
        let toml = &crash[..crash.iter().position(|&b| b == 0).unwrap()];
        let e = Config::parse(std::str::from_utf8(toml).unwrap()).unwrap_err();
        assert_eq!(e.key, "(line 1)", "{e}");
        for (text, key) in [
            ("[]\n", "(line 1)"),
            ("# x\n[[]]\n", "(line 2)"),
            // A line without its key: the table it is in.
            ("[session]\n= 3\n", "session"),
            // An unfinished last line still names its key.
            ("[session]\nmode = ", "session.mode"),
        ] {
            let e = Config::parse(text).unwrap_err();
            assert_eq!(e.key, key, "{text:?}: {e}");
        }
    }
}

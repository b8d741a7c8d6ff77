//! The running configuration every console edits (one copy, behind the engine's mutex), and
//! what each core is given of it: the table configuration with the persistent-session ACLs
//! and the packet filter resolved against the ACLs as they are now. Its text (`display
//! current-configuration`, `save`) is written by the command areas (commands/).

use crate::acl::Acl;
use crate::config::Config;
use crate::export::config::ExportConfig;
use crate::proto::wire::Family;
use crate::table::config::{PacketFilter, PersistentRule, PortAcls, TableConfig};
use crate::table::log::{LogSelect, PortLog, SessionLogConfig};

/// The running configuration all consoles edit.
#[derive(Debug, Clone)]
pub struct Running {
    pub sysname: String,
    /// Engine-wide; each core gets its share of the capacity.
    pub table: TableConfig,
    pub acls: Vec<Acl>,
    /// `session persistent acl [ipv6] N aging-time H`: [IPv4, IPv6].
    pub persistent: [Option<(u32, u16)>; 2],
    /// The engine's interfaces, in port order (port `i` = `interfaces[i]`).
    pub interfaces: Vec<String>,
    /// `packet-filter` lines of the interface views, in the order given.
    pub filters: Vec<FilterBinding>,
    /// `session log enable` lines of the interface views, in the order given. The global
    /// `session log` settings are in `table.session_log` (its `ports` left empty here:
    /// `resolved()` fills them).
    pub log_bindings: Vec<LogBinding>,
    /// Where session logs go (`info-center loghost ...`, `userlog flow ...`). Its `sysname`
    /// and `user_apps` are left empty here: `export_config()` fills them from the rest.
    pub export: ExportConfig,
    /// `session alarm {usage-abrupt|rate-abrupt|try-rate-abrupt} ...`, in
    /// `AlarmKind::ALL`'s order.
    pub alarms: [crate::alarm::AlarmRule; 3],
    /// `info-center logbuffer size N`.
    pub logbuffer_size: usize,
    /// `remote-backup group` (H1, RBM): the failover channel; `None` when not configured.
    pub rbm: Option<crate::sync::RbmConfig>,
}

/// `session log enable {ipv4|ipv6} [acl N] {inbound|outbound}` in the view of `interface`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBinding {
    pub interface: String,
    pub ipv6: bool,
    pub acl: Option<u32>,
    pub inbound: bool,
}

/// `packet-filter [ipv6] N {inbound|outbound}` in the view of `interface`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterBinding {
    pub interface: String,
    pub ipv6: bool,
    pub number: u32,
    pub inbound: bool,
}

impl Running {
    /// The factory configuration of `cfg`'s device: its boot settings (the table's capacity,
    /// the interfaces) and every console setting at its default. A startup file is applied
    /// over this (ctl/startup.rs).
    pub fn factory(cfg: &Config) -> Running {
        Running {
            sysname: crate::ctl::DEFAULT_SYSNAME.to_string(),
            table: TableConfig {
                capacity: cfg.table.capacity,
                ..TableConfig::default()
            },
            acls: Vec::new(),
            persistent: [None, None],
            interfaces: cfg.runtime.interface_names(),
            filters: Vec::new(),
            log_bindings: Vec::new(),
            export: ExportConfig::default(),
            alarms: [crate::alarm::AlarmRule::default(); 3],
            logbuffer_size: crate::infocenter::LOGBUFFER_DEFAULT,
            rbm: None,
        }
    }

    pub fn acl(&self, ipv6: bool, number: u32) -> Option<&Acl> {
        let fam = if ipv6 { Family::V6 } else { Family::V4 };
        self.acls
            .iter()
            .find(|a| a.family == fam && a.number == number)
    }

    /// The table configuration with the persistent rules resolved against the current ACLs
    /// (new sessions use them; existing ones keep what they were given, A3).
    pub fn resolved(&self) -> TableConfig {
        let mut t = self.table.clone();
        let rule = |ipv6: bool, p: Option<(u32, u16)>| {
            p.and_then(|(n, hours)| {
                self.acl(ipv6, n).map(|acl| PersistentRule {
                    acl: acl.clone(),
                    hours,
                })
            })
        };
        t.persistent_v4 = rule(false, self.persistent[0]);
        t.persistent_v6 = rule(true, self.persistent[1]);
        t.packet_filter = self.packet_filter();
        t.port_map_acls = self.port_map_acls();
        t.session_log = self.session_log();
        t
    }

    /// What the log actor is given: where logs go, with the device's name and the
    /// user-defined applications' names (`user_apps[id]`, for every id up to the highest
    /// user-defined one; empty for ids that are not user-defined).
    pub fn export_config(&self) -> ExportConfig {
        let user = &self.table.user_apps;
        let mut user_apps = Vec::new();
        for (id, name) in user.iter() {
            let id = usize::from(id);
            if user_apps.len() <= id {
                user_apps.resize(id + 1, String::new());
            }
            user_apps[id] = name.to_string();
        }
        ExportConfig {
            sysname: self.sysname.clone(),
            user_apps,
            ..self.export.clone()
        }
    }

    /// The session-log settings per ingress port: the port's `inbound` lines and its peer's
    /// `outbound` lines (inline ports come in pairs), their ACLs as they are now. A line
    /// naming an ACL that does not exist selects nothing (ours).
    fn session_log(&self) -> SessionLogConfig {
        let mut log = SessionLogConfig {
            ports: Vec::new(),
            ..self.table.session_log.clone()
        };
        if self.log_bindings.is_empty() {
            return log;
        }
        for (port, name) in self.interfaces.iter().enumerate() {
            let peer = u8::try_from(port)
                .ok()
                .and_then(|p| self.interfaces.get(usize::from(crate::io::peer(p))));
            let mut rules = PortLog::default();
            // The port's own inbound lines first, then its peer's outbound lines: at most one
            // of each per family, in an order that does not depend on the order typed.
            let inbound = self
                .log_bindings
                .iter()
                .filter(|b| b.inbound && &b.interface == name);
            let outbound = self
                .log_bindings
                .iter()
                .filter(|b| !b.inbound && peer == Some(&b.interface));
            for b in inbound.chain(outbound) {
                let select = match b.acl {
                    None => LogSelect::All,
                    Some(n) => self
                        .acl(b.ipv6, n)
                        .map_or(LogSelect::Nothing, |acl| LogSelect::Acl(acl.clone())),
                };
                if b.ipv6 {
                    rules.v6.push(select);
                } else {
                    rules.v4.push(select);
                }
            }
            log.ports.push(rules);
        }
        log
    }

    /// The ACLs the port mappings name (`port-mapping ... acl [ipv6] N`), as they are now; a
    /// mapping to an ACL that does not exist maps nothing.
    fn port_map_acls(&self) -> Vec<Acl> {
        let mut acls: Vec<Acl> = Vec::new();
        for m in &self.table.port_map {
            if let crate::table::port_map::MatchScope::Acl { ipv6, number } = m.scope
                && let Some(acl) = self.acl(ipv6, number)
                && !acls.contains(acl)
            {
                acls.push(acl.clone());
            }
        }
        acls
    }

    /// The packet filter per ingress port: the port's inbound ACLs and its peer's outbound
    /// ACLs (inline ports come in pairs). A binding to an ACL that does not exist filters
    /// nothing, as on Comware.
    fn packet_filter(&self) -> PacketFilter {
        let mut pf = PacketFilter::default();
        if self.filters.is_empty() {
            return pf;
        }
        for (port, _) in self.interfaces.iter().enumerate() {
            let mut acls = PortAcls::default();
            let peer = self
                .interfaces
                .get(usize::from(crate::io::peer(port as u8)));
            for b in &self.filters {
                let applies = (b.inbound && b.interface == self.interfaces[port])
                    || (!b.inbound && peer == Some(&b.interface));
                if let (true, Some(acl)) = (applies, self.acl(b.ipv6, b.number)) {
                    if b.ipv6 {
                        acls.v6.push(acl.clone());
                    } else {
                        acls.v4.push(acl.clone());
                    }
                }
            }
            pf.ports.push(acls);
        }
        pf
    }
}

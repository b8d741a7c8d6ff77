//! The running configuration every console edits (one copy, behind the engine's mutex), and
//! what each core is given of it: the table configuration with the persistent-session ACLs
//! and the packet filter resolved against the ACLs as they are now.

use super::render::render_acl_configuration;
use super::tree::Action;
use crate::acl::Acl;
use crate::proto::wire::Family;
use crate::table::aging::{AgingConfig, AgingState};
use crate::table::config::{PacketFilter, PersistentRule, PortAcls, SessionMode, TableConfig};

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
}

/// `packet-filter [ipv6] N {inbound|outbound}` in the view of `interface`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterBinding {
    pub interface: String,
    pub ipv6: bool,
    pub number: u32,
    pub inbound: bool,
}

impl FilterBinding {
    fn action(&self) -> Action {
        Action::PacketFilter {
            ipv6: self.ipv6,
            number: self.number,
            inbound: self.inbound,
            on: true,
        }
    }
}

impl Running {
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
        t
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

    /// An interface's section of the configuration (empty when it has no settings).
    pub(super) fn interface_text(&self, name: &str) -> String {
        let lines: Vec<String> = self
            .filters
            .iter()
            .filter(|b| b.interface == name)
            .filter_map(|b| b.action().config_line())
            .collect();
        if lines.is_empty() {
            return String::new();
        }
        let mut out = Action::EnterInterface {
            name: name.to_string(),
        }
        .canonical();
        out.push('\n');
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        out
    }

    /// Every setting as a CLI line (for `display current-configuration` and `save`).
    pub fn config_text(&self) -> String {
        let mut out = String::from("#\n");
        out.push_str(&format!(" sysname {}\n#\n", self.sysname));
        let mut settings: Vec<Action> = Vec::new();
        let defaults = AgingConfig::default();
        for s in AgingState::ALL {
            let v = self.table.aging.state(*s);
            if v != defaults.state(*s) {
                settings.push(Action::SetAgingState {
                    state: *s,
                    seconds: v,
                });
            }
        }
        for (app, (v, d)) in self
            .table
            .aging
            .app_s
            .iter()
            .zip(defaults.app_s.iter())
            .enumerate()
        {
            if let (Some(v), true) = (v, v != d) {
                settings.push(Action::SetAgingApplication {
                    app: app as u8,
                    seconds: *v,
                });
            }
        }
        for (i, p) in self.persistent.iter().enumerate() {
            if let Some((number, hours)) = p {
                settings.push(Action::SessionPersistentAcl {
                    ipv6: i == 1,
                    number: *number,
                    hours: u32::from(*hours),
                });
            }
        }
        if self.table.mode == SessionMode::Hybrid {
            settings.push(Action::SessionModeHybrid);
        }
        if self.table.statistics {
            settings.push(Action::SessionStatisticsEnable);
        }
        for m in &self.table.port_map {
            settings.push(Action::PortMapping {
                app: m.app,
                port: m.port,
                proto: m.proto,
                on: true,
            });
        }
        // ALGs are on by default: the configuration lists the ones turned off.
        for (id, _) in crate::alg::REGISTRY.iter().enumerate() {
            if !self.table.algs.has(id as u8) {
                settings.push(Action::Alg {
                    alg: Some(id as u8),
                    on: false,
                });
            }
        }
        let lines: Vec<String> = settings.iter().filter_map(Action::config_line).collect();
        if !lines.is_empty() {
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
            out.push_str("#\n");
        }
        let mut named: Vec<&String> = self.filters.iter().map(|b| &b.interface).collect();
        named.dedup();
        for name in self.interfaces.iter().filter(|i| named.contains(i)) {
            out.push_str(&self.interface_text(name));
            out.push_str("#\n");
        }
        for acl in &self.acls {
            out.push_str(&acl_text(acl));
            out.push_str("#\n");
        }
        out.push_str("return\n");
        out
    }
}

pub(super) fn acl_text(acl: &Acl) -> String {
    let mut out = String::new();
    render_acl_configuration(acl, &mut out);
    out
}

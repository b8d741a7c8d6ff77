//! `display session relation-table` (SPEC R3, reference/comware.md §6.1): one block per
//! entry, a blank line after each, then the count.
//!
//! ```text
//! Source IP/port:      192.168.1.100/-
//! Destination IP/port: 192.168.2.100/99
//! DS-Lite tunnel peer: -
//! VPN instance/VLAN ID/VLL ID: -/-/-
//! Protocol: TCP(6)    TTL: 299s    App: FTP-DATA
//!
//! Total entries found:  1
//! ```
//!
//! IPv6 entries have no source port: their first line is `Source IP:` with the value at
//! column 23. A wildcarded address or port is `-`.

use super::render::relation_protocol_name;
use crate::proto::key::addr_to_ip;
use crate::proto::wire::Family;
use crate::table::apps;
use crate::table::relation::RelationEntry;
use std::fmt::Write as _;

/// The blocks of `entries` (already filtered by family) with their TTLs counted from
/// `clock_ms`, and the total line.
pub fn render_relation_table(entries: &[RelationEntry], clock_ms: u64) -> String {
    let mut out = String::new();
    for e in entries {
        let sp = &e.spec;
        let ip = |a: &[u8; 16]| addr_to_ip(sp.family, a).to_string();
        let src = sp.src.as_ref().map_or("-".to_string(), ip);
        let _ = match sp.family {
            Family::V4 => writeln!(
                out,
                "Source IP/port:      {src}/{}",
                sp.sport.map_or("-".to_string(), |p| p.to_string())
            ),
            Family::V6 => writeln!(out, "Source IP:             {src}"),
        };
        let _ = writeln!(out, "Destination IP/port: {}/{}", ip(&sp.dst), sp.dport);
        let _ = writeln!(out, "DS-Lite tunnel peer: -");
        let vpn = if sp.vpn == 0 {
            "-".to_string()
        } else {
            sp.vpn.to_string()
        };
        let _ = writeln!(out, "VPN instance/VLAN ID/VLL ID: {vpn}/-/-");
        let _ = writeln!(
            out,
            "Protocol: {}({})    TTL: {}s    App: {}\n",
            relation_protocol_name(sp.proto),
            sp.proto,
            e.ttl_s(clock_ms),
            apps::name(sp.app)
        );
    }
    let _ = writeln!(out, "Total entries found:  {}", entries.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alg::RelationSpec;
    use crate::proto::wire::ipproto;
    use crate::table::SessionId;

    fn entry(family: Family, src: Option<[u8; 16]>, dst: [u8; 16], dport: u16) -> RelationEntry {
        RelationEntry {
            spec: RelationSpec {
                family,
                proto: ipproto::TCP,
                src,
                sport: None,
                dst,
                dport,
                vpn: 0,
                app: apps::by_keyword("ftp-data").unwrap_or(apps::OTHER),
            },
            master: SessionId {
                core: 0,
                slot: 1,
                generation: 1,
            },
            alg: 0,
            class: 0,
            created_ms: 0,
            expires_ms: 300_000,
            serial: 0,
            tag: 0,
            permanent: false,
        }
    }

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut x = [0; 16];
        x[..4].copy_from_slice(&a);
        x
    }

    /// PPTP's GRE entry (ndpi-pptp's PAC -> PNS): the call IDs where the ports go.
    #[test]
    fn a_gre_entry_shows_its_call_ids_as_ports() {
        let mut e = entry(
            Family::V4,
            Some(v4([198, 18, 0, 100])),
            v4([198, 18, 10, 100]),
            0,
        );
        e.spec.proto = ipproto::GRE;
        e.spec.sport = Some(0x2deb);
        e.spec.app = apps::by_keyword("pptp").unwrap_or(apps::OTHER);
        assert_eq!(
            render_relation_table(&[e], 0),
            "Source IP/port:      198.18.0.100/11755\n\
             Destination IP/port: 198.18.10.100/0\n\
             DS-Lite tunnel peer: -\n\
             VPN instance/VLAN ID/VLL ID: -/-/-\n\
             Protocol: GRE(47)    TTL: 300s    App: PPTP\n\
             \n\
             Total entries found:  1\n"
        );
    }

    #[test]
    fn layout_matches_the_manual() {
        let e = entry(
            Family::V4,
            Some(v4([192, 168, 1, 100])),
            v4([192, 168, 2, 100]),
            99,
        );
        assert_eq!(
            render_relation_table(&[e], 1_000),
            "Source IP/port:      192.168.1.100/-\n\
             Destination IP/port: 192.168.2.100/99\n\
             DS-Lite tunnel peer: -\n\
             VPN instance/VLAN ID/VLL ID: -/-/-\n\
             Protocol: TCP(6)    TTL: 299s    App: FTP-DATA\n\
             \n\
             Total entries found:  1\n"
        );
    }

    #[test]
    fn ipv6_has_no_source_port_and_wildcards_are_dashes() {
        let mut dst = [0u8; 16];
        dst[0] = 0x20;
        dst[1] = 0x01;
        dst[3] = 0x02;
        dst[15] = 2;
        let out = render_relation_table(&[entry(Family::V6, None, dst, 40000)], 0);
        assert!(
            out.starts_with("Source IP:             -\nDestination IP/port: 2001:2::2/40000\n")
        );
        assert!(out.ends_with("Total entries found:  1\n"));
        assert_eq!(render_relation_table(&[], 0), "Total entries found:  0\n");
    }
}

//! What the console asks a core about its shard, and the plain data a core answers with
//! (SPEC S9, T1): which sessions a `display/reset session table` or `display session
//! statistics` command selects, one session as the console shows it, the counts behind the
//! statistics, and the bounded pages a core answers between batches. The console (`ctl`)
//! builds the filters and renders the answers; nothing here formats text.

use super::aging::{self, is_expired};
use super::apps::UserApps;
use super::session::{Session, SessionId};
use super::shard::{Shard, SlotMeta};
use crate::proto::key::{FlowKey, addr_to_ip};
use crate::proto::wire::{Family, ipproto};
use crate::proto::{self, MAX_STATES, Protocol};
use std::borrow::Cow;
use std::net::IpAddr;

// ---------------------------------------------------------------------------------------------
// Filters (SPEC S9, comware.md §2.1, §8)
// ---------------------------------------------------------------------------------------------

/// The `state` filter: one listed protocol state of SPEC S2 (`state` is the machine's own
/// number, `TcpState as u8`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateFilter {
    pub protocol: Protocol,
    pub state: u8,
}

impl StateFilter {
    /// Every state filter, protocol by protocol (the descriptors' listed states).
    pub fn all() -> impl Iterator<Item = (StateFilter, &'static str)> {
        Protocol::ALL.into_iter().flat_map(|p| {
            p.descriptor().listed_states().map(move |(state, s)| {
                (
                    StateFilter { protocol: p, state },
                    s.keyword.unwrap_or_default(),
                )
            })
        })
    }

    pub fn keyword(self) -> &'static str {
        self.protocol
            .descriptor()
            .state(self.state)
            .and_then(|s| s.keyword)
            .unwrap_or("-")
    }

    pub fn by_keyword(kw: &str) -> Option<StateFilter> {
        Self::all().find(|(_, k)| *k == kw).map(|(f, _)| f)
    }
}

/// The filters of `display/reset session table` and `display session statistics`. Every
/// filter refers to the initiator->responder direction unless `responder`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Start and optional end (inclusive) of a range.
    pub source_ip: Option<(IpAddr, Option<IpAddr>)>,
    pub destination_ip: Option<(IpAddr, Option<IpAddr>)>,
    pub protocol: Option<Protocol>,
    /// `display session statistics ... protocol dns|ftp|...`: the application protocol
    /// (`app_proto.rs`), statistics only.
    pub app_protocol: Option<super::app_proto::AppProtocol>,
    pub source_port: Option<u16>,
    pub destination_port: Option<u16>,
    /// Application id of `table::apps` (what the cores compare).
    pub application: Option<u8>,
    /// A user-defined application as typed (`application NAME`): its id is known only to the
    /// running configuration, so the console resolves it into `application` when the command
    /// runs. Unresolved, the filter selects nothing.
    pub application_name: Option<String>,
    pub state: Option<StateFilter>,
    /// The address and port filters apply to the responder's tuple.
    pub responder: bool,
    pub vpn_instance: Option<String>,
    /// Display only: the verbose layout (§2.3).
    pub verbose: bool,
}

impl SessionFilter {
    /// Whether the filter selects by more than the layout (then the census cannot answer a
    /// statistics query: the sessions must be looked at).
    pub fn selects_sessions(&self) -> bool {
        *self
            != SessionFilter {
                verbose: self.verbose,
                ..Default::default()
            }
    }

    /// Whether `s` is selected (and, when given, belongs to `family`). The address and port
    /// filters read the initiator's tuple, or the responder's with `responder`.
    pub fn selects(&self, family: Option<Family>, s: &Session) -> bool {
        let orig = s.orig_key();
        if family.is_some_and(|fam| fam != orig.family) {
            return false;
        }
        let t = if self.responder {
            orig.reversed()
        } else {
            orig
        };
        let has_ports = ipproto::has_ports(t.proto);
        self.source_ip
            .as_ref()
            .is_none_or(|r| in_range(addr_to_ip(t.family, &t.src), r))
            && self
                .destination_ip
                .as_ref()
                .is_none_or(|r| in_range(addr_to_ip(t.family, &t.dst), r))
            && self.protocol.is_none_or(|p| p.covers(t.proto))
            && self.source_port.is_none_or(|p| has_ports && t.sport == p)
            && self
                .destination_port
                .is_none_or(|p| has_ports && t.dport == p)
            && self.application.is_none_or(|a| s.app == a)
            && self.app_protocol.is_none_or(|p| p.covers(s.app))
            && (self.application.is_some() || self.application_name.is_none())
            && self
                .state
                .is_none_or(|st| st.protocol.covers(t.proto) && s.state == st.state)
            // Every session is in the public network today (no VPN instances are configured).
            && self.vpn_instance.is_none()
    }
}

fn in_range(ip: IpAddr, range: &(IpAddr, Option<IpAddr>)) -> bool {
    match (range.0, range.1) {
        (a, None) => ip == a,
        (IpAddr::V4(a), Some(IpAddr::V4(b))) => matches!(ip, IpAddr::V4(x) if a <= x && x <= b),
        (IpAddr::V6(a), Some(IpAddr::V6(b))) => matches!(ip, IpAddr::V6(x) if a <= x && x <= b),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// One session as the console shows it (comware.md §2)
// ---------------------------------------------------------------------------------------------

/// One session row: what a core copies out of its shard for a query, so the control plane
/// renders without touching the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// `SessionId::to_u64` (not printed by Comware; kept for paging and resets).
    pub id: u64,
    pub family: Family,
    pub proto: u8,
    /// The initiator's tuple (`Initiator:` block).
    pub orig: FlowKey,
    /// The responder's tuple (`Responder:` block).
    pub reply: FlowKey,
    /// The engine's state name (SPEC S2, e.g. `ESTABLISHED`); the console adds the Comware
    /// protocol prefix of comware.md §4.3 (`TCP_ESTABLISHED`).
    pub state: &'static str,
    /// Application (SPEC S5), upper case as `display session table` prints it (`SSH`, `OTHER`,
    /// a user-defined name).
    pub app: Cow<'static, str>,
    /// Remaining lifetime in seconds; `None` = never ages (persistent with aging-time 0).
    pub ttl_s: Option<u64>,
    /// Creation time, seconds since the Unix epoch (UTC).
    pub created_unix_s: u64,
    /// Per direction: `[initiator->responder, responder->initiator]`.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// VPN instance name; `None` = the public network (`-`).
    pub vpn: Option<String>,
    /// Where the initiator's packets come in (the Initiator block's `Inbound interface`).
    pub inbound_interface: Option<String>,
    /// Where the responder's packets come in (the Responder block's `Inbound interface`).
    pub outbound_interface: Option<String>,
    /// `Source security zone` of the initiator and responder blocks; the engine has no zones
    /// yet, so `None` (`-`) unless a caller knows better.
    pub security_zones: [Option<String>; 2],
}

impl SessionRow {
    /// Copies a live session out of its shard.
    ///
    /// `clock_offset_s` turns the engine clock into Unix time (`unix = engine + offset`): 0 in
    /// replay, where the engine clock is the capture's own Unix time; live mode passes the
    /// difference between the wall clock and its coarse engine clock. The VPN instance is
    /// filled with its index when non-zero; the caller replaces it with the configured name.
    pub fn from_session(
        id: SessionId,
        s: &Session,
        meta: &SlotMeta,
        aging_cfg: &aging::AgingConfig,
        user_apps: &UserApps,
        now_ms: u64,
        clock_offset_s: i64,
    ) -> SessionRow {
        let orig = s.orig_key();
        let created = i64::from(meta.created_s).saturating_add(clock_offset_s);
        SessionRow {
            id: id.to_u64(),
            family: orig.family,
            proto: orig.proto,
            orig,
            reply: orig.reversed(),
            state: proto::state_name(orig.proto, s.state),
            app: user_apps.display_name(s.app),
            ttl_s: aging::ttl_s(aging_cfg, s, now_ms),
            created_unix_s: u64::try_from(created).unwrap_or(0),
            packets: [s.counters[0].packets, s.counters[1].packets],
            bytes: [s.counters[0].bytes, s.counters[1].bytes],
            vpn: (orig.vpn != 0).then(|| orig.vpn.to_string()),
            inbound_interface: None,
            outbound_interface: None,
            security_zones: [None, None],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics (comware.md §3)
// ---------------------------------------------------------------------------------------------

/// One protocol's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProtocolStatistics {
    /// Current sessions of the protocol.
    pub sessions: u64,
    /// Current sessions per state; index = state number - 1.
    pub by_state: [u64; MAX_STATES],
    /// New sessions per second.
    pub rate_per_s: u64,
    /// Packets and bytes received for the protocol (with `session statistics enable`).
    pub received_packets: u64,
    pub received_bytes: u64,
}

/// Everything `display session statistics [summary]` prints, as plain counts: each core fills
/// one from its shard, the console `merge`s them, then renders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatisticsCounts {
    /// `Current sessions`.
    pub sessions: u64,
    /// `Current relation-table entries`. The relation table is shared by all cores, so the
    /// console sets this once after merging; cores leave it 0 (`merge` adds it like the rest).
    pub relation_entries: u64,
    /// `Session establishment rate`, all protocols.
    pub rate_per_s: u64,
    /// Indexed by `Protocol as usize`.
    pub protocols: [ProtocolStatistics; Protocol::COUNT],
    /// What the received packets and bytes count. `false`: every packet of the protocol
    /// since the last `reset session statistics` (the census; comware.md §3.2), closed
    /// sessions' included. `true`: the counters of the current sessions a filter selected (a
    /// walk of the table: a session that has gone took its counters with it). The console
    /// says which (docs: "(ours)").
    pub received_by_selected: bool,
}

impl StatisticsCounts {
    pub fn protocol(&self, p: Protocol) -> &ProtocolStatistics {
        &self.protocols[p as usize]
    }

    pub fn protocol_mut(&mut self, p: Protocol) -> &mut ProtocolStatistics {
        &mut self.protocols[p as usize]
    }

    /// Counts one current session by IP protocol and state number: O(1), no string work. A
    /// state without a row (SCTP's HEARTBEAT_SENT, which Comware does not list) counts in the
    /// totals only.
    pub fn count_session(&mut self, proto: u8, state: u8) {
        self.count_sessions(Protocol::of(proto), state, 1);
    }

    /// Counts `n` current sessions of protocol `p` in state `state`.
    pub fn count_sessions(&mut self, p: Protocol, state: u8, n: u64) {
        self.sessions += n;
        let listed = p
            .descriptor()
            .state(state)
            .is_some_and(|s| s.keyword.is_some());
        let g = self.protocol_mut(p);
        g.sessions += n;
        if listed
            && let Some(c) = usize::from(state)
                .checked_sub(1)
                .and_then(|i| g.by_state.get_mut(i))
        {
            *c += n;
        }
    }

    /// Adds another core's counts (all fields are sums over cores, rates included: each core's
    /// rate is its own share of new sessions).
    pub fn merge(&mut self, other: &StatisticsCounts) {
        self.sessions += other.sessions;
        self.relation_entries += other.relation_entries;
        self.rate_per_s += other.rate_per_s;
        self.received_by_selected |= other.received_by_selected;
        for (a, b) in self.protocols.iter_mut().zip(other.protocols.iter()) {
            a.sessions += b.sessions;
            a.rate_per_s += b.rate_per_s;
            a.received_packets += b.received_packets;
            a.received_bytes += b.received_bytes;
            for (x, y) in a.by_state.iter_mut().zip(b.by_state.iter()) {
                *x += y;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The pages a core answers
// ---------------------------------------------------------------------------------------------

/// Slots one page looks at, at most: a free slot costs a flag test, so this bounds the walk
/// of a sparse table (a few hundred microseconds of a core's time).
pub const SCAN_SLOTS: usize = 65_536;

/// Live sessions one page tests against the query's filter, at most: about 30 ns each, so a
/// page whose filter selects few sessions still answers in about half a millisecond (65,536
/// live sessions took 2 ms: `examples/console_stats.rs`).
pub const SCAN_LIVE: usize = 16_384;

/// Rows one `display session table` page copies out, at most, whatever the console asks: a
/// core answers between its batches, and copying a row costs more than testing a session,
/// so a page is bounded by rows as well (about 0.2 ms of a core's time at 2,048 rows:
/// `examples/console_stats.rs` times it; docs/performance.md, "Console listing").
pub const PAGE_ROWS: usize = 2048;

/// One page of `display session table` from one core's shard.
#[derive(Debug, Clone, Default)]
pub struct RowsPage {
    pub rows: Vec<SessionRow>,
    /// The slot the next page starts at; `None` once the shard has been walked to its end.
    pub next: Option<u32>,
}

/// Walks one page of `shard` from slot `from`: its live sessions, at most `SCAN_SLOTS` slots
/// and `SCAN_LIVE` sessions, each given to `visit` until it answers `false` (the page is
/// full). Returns the slot the next page starts at (`None`: the shard's end), so that no
/// session is visited by two pages and none is skipped.
fn walk_page<'a>(
    shard: &'a Shard,
    from: u32,
    mut visit: impl FnMut(SessionId, &Session, &'a SlotMeta) -> bool,
) -> Option<u32> {
    let from = from as usize;
    for (tested, (id, s, m)) in shard.iter_slots(from, SCAN_SLOTS).enumerate() {
        if tested == SCAN_LIVE || !visit(id, &s, m) {
            return Some(id.slot);
        }
    }
    let scanned_to = from.saturating_add(SCAN_SLOTS);
    (scanned_to < shard.slot_count()).then_some(scanned_to as u32)
}

/// The page of `shard` starting at slot `from`: live, unexpired sessions `filter` selects, at
/// most `limit` of them (and never more than `PAGE_ROWS`), within one `walk_page`. A session
/// created behind the cursor while an operator pages is not shown (Comware's display is not
/// a snapshot either); none is shown twice, as slots only go forward.
pub fn rows_page(
    shard: &Shard,
    family: Option<Family>,
    filter: &SessionFilter,
    from: u32,
    limit: usize,
) -> RowsPage {
    let (aging, now) = (&shard.config.aging, shard.now_ms());
    let limit = limit.min(PAGE_ROWS);
    let mut rows = Vec::new();
    let next = walk_page(shard, from, |id, s, m| {
        if is_expired(aging, s, now) || !filter.selects(family, s) {
            return true;
        }
        if rows.len() == limit {
            return false;
        }
        rows.push(SessionRow::from_session(
            id,
            s,
            m,
            aging,
            &shard.config.user_apps,
            now,
            0,
        ));
        true
    });
    RowsPage { rows, next }
}

/// `display session statistics [ipv4|ipv6]` from the shard's census: O(1), whatever the
/// table's size. Received packets are the protocol's since the last reset (§3.2).
pub fn census_statistics(shard: &Shard, family: Option<Family>) -> StatisticsCounts {
    let mut v = StatisticsCounts::default();
    for p in Protocol::ALL {
        for (state, n) in shard.census.live(family, p).into_iter().enumerate() {
            if n > 0 {
                v.count_sessions(p, state as u8, n);
            }
        }
        let r = shard.census.received(family, p);
        let ps = v.protocol_mut(p);
        ps.received_packets = r.packets;
        ps.received_bytes = r.bytes;
    }
    set_rates(shard, family, &mut v);
    v
}

/// The establishment rates (per family and protocol; filters do not apply to a rate).
fn set_rates(shard: &Shard, family: Option<Family>, v: &mut StatisticsCounts) {
    v.rate_per_s = 0;
    for p in Protocol::ALL {
        let r = shard.census.rate(family, p);
        v.protocol_mut(p).rate_per_s = r;
        v.rate_per_s += r;
    }
}

/// One page of `display session statistics`: the census when nothing but the family is
/// selected, else the selected sessions of one `walk_page` from `from` (the answer says
/// where the next page starts; `None`: done), so a large shard is never walked in one turn.
/// The two count received packets differently (`StatisticsCounts::received_by_selected`):
/// a running total cannot be split by address or port after the fact.
pub fn statistics_page(
    shard: &Shard,
    family: Option<Family>,
    filter: &SessionFilter,
    from: u32,
) -> (StatisticsCounts, Option<u32>) {
    if !filter.selects_sessions() {
        return (census_statistics(shard, family), None);
    }
    let (aging, now) = (&shard.config.aging, shard.now_ms());
    let mut v = StatisticsCounts {
        received_by_selected: true,
        ..StatisticsCounts::default()
    };
    let next = walk_page(shard, from, |_, s, _| {
        if !is_expired(aging, s, now) && filter.selects(family, s) {
            v.count_session(s.key.proto, s.state);
            let p = v.protocol_mut(Protocol::of(s.key.proto));
            p.received_packets += s.counters[0].packets + s.counters[1].packets;
            p.received_bytes += s.counters[0].bytes + s.counters[1].bytes;
        }
        true
    });
    // The rate comes once per core: with the first page.
    if from == 0 {
        set_rates(shard, family, &mut v);
    }
    (v, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::session::{DirCounters, L4Track, flag};

    fn session(
        src: [u8; 4],
        sport: u16,
        dst: [u8; 4],
        dport: u16,
        proto: u8,
        state: u8,
        app: u8,
    ) -> Session {
        let mut s16 = [0u8; 16];
        let mut d16 = [0u8; 16];
        s16[..4].copy_from_slice(&src);
        d16[..4].copy_from_slice(&dst);
        let key = FlowKey {
            src: s16,
            dst: d16,
            sport,
            dport,
            proto,
            family: Family::V4,
            vpn: 0,
        };
        let (canon, swapped) = key.canonical();
        Session {
            key: canon,
            last_seen_ms: 0,
            persist_hours: 0,
            state,
            app,
            flags: flag::LIVE | if swapped { flag::ORIG_SWAPPED } else { 0 },
            l4: L4Track::None,
            counters: [DirCounters::default(); 2],
        }
    }

    #[test]
    fn filters_select_as_documented() {
        let s = session(
            [198, 18, 0, 5],
            40000,
            [198, 18, 1, 1],
            80,
            ipproto::TCP,
            3,
            0,
        );
        let any = SessionFilter::default();
        assert!(any.selects(None, &s));
        assert!(any.selects(Some(Family::V4), &s));
        assert!(!any.selects(Some(Family::V6), &s));
        let ip = |a: [u8; 4]| IpAddr::from(a);
        let f = SessionFilter {
            source_ip: Some((ip([198, 18, 0, 1]), Some(ip([198, 18, 0, 9])))),
            ..Default::default()
        };
        assert!(f.selects(None, &s));
        let f = SessionFilter {
            source_ip: Some((ip([198, 18, 0, 6]), None)),
            ..Default::default()
        };
        assert!(!f.selects(None, &s));
        let f = SessionFilter {
            destination_port: Some(80),
            protocol: Some(Protocol::Tcp),
            ..Default::default()
        };
        assert!(f.selects(None, &s));
        let f = SessionFilter {
            destination_port: Some(80),
            protocol: Some(Protocol::Udp),
            ..Default::default()
        };
        assert!(!f.selects(None, &s));
        // The responder's tuple: its source is the server.
        let f = SessionFilter {
            source_port: Some(80),
            responder: true,
            ..Default::default()
        };
        assert!(f.selects(None, &s));
        let f = SessionFilter {
            state: StateFilter::by_keyword("tcp-established"),
            ..Default::default()
        };
        assert!(f.selects(None, &s));
        let f = SessionFilter {
            state: StateFilter::by_keyword("tcp-syn-sent"),
            ..Default::default()
        };
        assert!(!f.selects(None, &s));
        let f = SessionFilter {
            vpn_instance: Some("red".into()),
            ..Default::default()
        };
        assert!(!f.selects(None, &s));
        assert!(Protocol::RawIp.covers(47));
        assert!(!Protocol::RawIp.covers(ipproto::TCP));
    }

    #[test]
    fn state_keywords_round_trip_and_skip_unlisted_states() {
        let all: Vec<_> = StateFilter::all().collect();
        // TCP 9, UDP 2, ICMP 2, ICMPv6 2, UDP-Lite 2, SCTP 7 (not HEARTBEAT_SENT), DCCP 7, raw 2.
        assert_eq!(all.len(), 33);
        for (f, kw) in all {
            assert_eq!(StateFilter::by_keyword(kw), Some(f));
            assert_eq!(f.keyword(), kw);
        }
        assert_eq!(StateFilter::by_keyword("sctp-heartbeat-sent"), None);
    }

    #[test]
    fn an_unlisted_state_counts_in_totals_only() {
        let mut c = StatisticsCounts::default();
        c.count_session(ipproto::SCTP, 8);
        c.count_session(ipproto::SCTP, 4);
        let g = c.protocol(Protocol::Sctp);
        assert_eq!((c.sessions, g.sessions), (2, 2));
        assert_eq!(g.by_state.iter().sum::<u64>(), 1);
    }
}

//! The ALG host (R1, R5): the shard's one part that deals with ALGs. It decides which new
//! sessions an ALG follows, feeds them their payload, publishes what the ALG announces with
//! the limits of its class, expires this core's entries, links data sessions to their masters,
//! and counts what it and the ALGs refused. The ALGs themselves (`crate::alg`) never see the
//! table; the shard never sees an ALG.
//!
//! Cost on the packet path: one flag test per packet of a session; the ALG map is touched
//! only for sessions an ALG follows, and only for packets that carry payload; a tick costs a
//! peek at the expiry queue when nothing is due.

use super::apps;
use super::relation::{EntryTerms, ExpiryQueue, RelationEntry, RelationTable};
use super::session::{SessionId, flag};
use crate::alg::frame::FrameBuffer;
use crate::alg::message::MessageBuffer;
use crate::alg::stream::{LineBuffer, StreamNotes};
use crate::alg::{
    self, AlgCounters, AlgId, AlgSession, AlgSet, Change, Control, Expect, Expects, Framing,
    HostRefusal, REGISTRY, RelationSpec,
};
use crate::proto::key::{Direction, FlowKey, ip_to_addr};
use crate::proto::wire::{Addr, Family, L4, Packet};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

/// One followed control session.
struct Followed {
    alg: AlgId,
    control: Control,
    vpn: u16,
    session: Box<dyn AlgSession>,
    /// Line reassembly per direction (line framing over TCP).
    streams: [LineBuffer; 2],
    /// Message reassembly per direction (message framing over TCP).
    messages: [MessageBuffer; 2],
    /// Length-framed message reassembly per direction (PPTP).
    frames: [FrameBuffer; 2],
}

/// For each application id, the ALG following its sessions (built once from the registry's
/// control applications and the application table).
static BY_APP: LazyLock<[Option<AlgId>; 256]> = LazyLock::new(|| {
    let mut t = [None; 256];
    for (i, r) in REGISTRY.iter().enumerate() {
        if let Some(app) = apps::by_keyword(r.info.control_app) {
            t[usize::from(app)] = Some(i as AlgId);
        }
    }
    t
});

/// For each ALG and expectation class, the application id of its data connections.
static DATA_APPS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    REGISTRY
        .iter()
        .map(|r| {
            r.info
                .classes
                .iter()
                .map(|c| apps::by_keyword(c.data_app).unwrap_or(apps::OTHER))
                .collect()
        })
        .collect()
});

/// The ALG that follows sessions of application `app`, if any.
#[inline]
pub fn for_app(app: u8) -> Option<AlgId> {
    BY_APP[usize::from(app)]
}

/// The application id of the data connections of an ALG's expectation class.
pub fn data_app(alg: AlgId, class: u8) -> u8 {
    DATA_APPS
        .get(usize::from(alg))
        .and_then(|c| c.get(usize::from(class)))
        .copied()
        .unwrap_or(apps::OTHER)
}

/// The table's address form; `None` when the address is of the other family.
fn to_addr(family: Family, ip: IpAddr) -> Option<Addr> {
    let (f, a) = ip_to_addr(ip);
    (f == family).then_some(a)
}

/// The relation entry for an announcement; `None` if it mixes families.
fn spec_of(alg: AlgId, control: &Control, e: &Expect, vpn: u16) -> Option<RelationSpec> {
    let src = match e.src {
        Some(ip) => Some(to_addr(control.family, ip)?),
        None => None,
    };
    Some(RelationSpec {
        family: control.family,
        proto: e.proto,
        src,
        sport: e.sport,
        dst: to_addr(control.family, e.dst)?,
        dport: e.dport,
        vpn,
        app: data_app(alg, e.class),
    })
}

fn count_notes(c: &mut AlgCounters, alg: AlgId, n: StreamNotes) {
    for (hit, why) in [
        (n.retransmitted, HostRefusal::RetransmittedSegment),
        (n.overlapped, HostRefusal::OverlappingSegment),
        (n.gap, HostRefusal::StreamGap),
        (n.overlong, HostRefusal::LineTooLong),
    ] {
        if hit {
            c.host(alg, why);
        }
    }
}

/// Tickets beyond which the expiry queue is compacted: it then holds more spent tickets than
/// the table holds entries (a core whose entries are claimed as fast as it publishes them).
const COMPACT_SLACK: usize = 1024;

/// The shard's ALG host.
#[derive(Default)]
pub struct AlgHost {
    /// The engine's shared relation table; `None`: no ALG runs and no entry is looked up
    /// (offline tools and benchmarks).
    relations: Option<Arc<RelationTable>>,
    /// The control sessions an ALG follows, by slot (their records carry flag `ALG`).
    followed: HashMap<u32, Followed, ahash::RandomState>,
    /// Data sessions' masters, by slot (their records carry flag `EXPECTED`).
    masters: HashMap<u32, SessionId, ahash::RandomState>,
    /// The entries this core's masters published, by deadline.
    expiry: ExpiryQueue,
    pub counters: AlgCounters,
    /// Keep every published entry for `take_published` (replay's per-frame `expect` lists).
    pub record_published: bool,
    /// Entries published since `take_published` last ran.
    published: Vec<RelationEntry>,
    /// Keep every published entry for `take_for_sync` (session synchronization, H1).
    pub record_for_sync: bool,
    /// Entries published since `take_for_sync` last ran.
    for_sync: Vec<RelationEntry>,
    /// PPTP's enhanced GRE on this core (the kernel's GRE "keymap"): for a packet's tuple as it
    /// travels with the sender's call ID unknown (source port 0, destination port = the
    /// receiver's call ID), the sender's call ID. Filled when a GRE session claims its call's
    /// entry (which names both call IDs), emptied when that session goes. GRE of one pair of
    /// hosts always lands on one core (steering by addresses), so this core's map is enough.
    gre_keys: HashMap<FlowKey, u16, ahash::RandomState>,
    /// The GRE sessions that filled `gre_keys`, by slot: their initiator tuple.
    gre_sessions: HashMap<u32, FlowKey, ahash::RandomState>,
}

/// The tuple of a GRE packet as the wire shows it: the sender's call ID unknown.
fn gre_wire_key(k: &FlowKey) -> FlowKey {
    FlowKey { sport: 0, ..*k }
}

impl AlgHost {
    /// Shares the engine's relation table (without one, no ALG runs).
    pub fn attach(&mut self, t: Arc<RelationTable>) {
        self.relations = Some(t);
    }

    pub fn relations(&self) -> Option<&Arc<RelationTable>> {
        self.relations.as_ref()
    }

    /// The entries published since the last call (recorded only with `record_published`).
    pub fn take_published(&mut self) -> impl Iterator<Item = RelationEntry> + '_ {
        self.published.drain(..)
    }

    /// The entries published since the last call (recorded only with `record_for_sync`).
    pub fn take_for_sync(&mut self) -> impl Iterator<Item = RelationEntry> + '_ {
        self.for_sync.drain(..)
    }

    /// Files an entry another engine published (failover) or an earlier run left
    /// (restart) for `master`, a session of this core: it lives `ttl_ms` more and goes with
    /// its master, as if this core's ALG had published it. `false`: the table is full or no
    /// ALG runs here (counted by the caller).
    #[allow(clippy::too_many_arguments)]
    pub fn adopt_entry(
        &mut self,
        spec: RelationSpec,
        master: SessionId,
        alg: AlgId,
        class: u8,
        ttl_ms: u64,
        terms: EntryTerms,
        now_ms: u64,
    ) -> bool {
        let Some(table) = &self.relations else {
            return false;
        };
        let limits = crate::alg::expect::RelationLimits {
            ttl_ms,
            per_master: 0,
        };
        match table.publish_with(spec, master, alg, class, limits, terms, now_ms) {
            Some(p) => {
                self.expiry.push(p.ticket);
                true
            }
            None => false,
        }
    }

    /// The sender's call ID of an enhanced GRE packet whose tuple is `k` (source port 0), if
    /// a PPTP call on this core names it; 0 otherwise (the kernel's keymap look-up).
    #[inline]
    pub fn gre_sender_key(&self, k: &FlowKey) -> u16 {
        if self.gre_keys.is_empty() {
            return 0;
        }
        self.gre_keys.get(k).copied().unwrap_or(0)
    }

    /// A GRE session was created from its call's entry (`orig` names both call IDs): both
    /// directions' packets now find it, and the call's other entry (the other direction's) is
    /// withdrawn, as the kernel's PPTP helper removes the sibling expectation.
    fn gre_call_started(&mut self, slot: u32, orig: &FlowKey, e: &RelationEntry) {
        self.gre_adopt(slot, orig);
        if e.tag != 0
            && let Some(t) = &self.relations
        {
            t.withdraw(e.master, 1u32 << e.class, Some(e.tag));
        }
    }

    /// Files a PPTP call's GRE session (initiator tuple `orig`, both call IDs) in this core's
    /// call-ID map: at its creation from its call's entry, or when another engine or an
    /// earlier run hands it over (failover, restart), so both directions' packets find it.
    pub fn gre_adopt(&mut self, slot: u32, orig: &FlowKey) {
        let there = gre_wire_key(orig);
        let back = FlowKey {
            src: orig.dst,
            dst: orig.src,
            sport: 0,
            dport: orig.sport,
            ..*orig
        };
        self.gre_keys.insert(there, orig.sport);
        self.gre_keys.insert(back, orig.dport);
        self.gre_sessions.insert(slot, *orig);
    }

    /// The control session a data session was created for, if it was.
    pub fn master_of(&self, slot: u32) -> Option<SessionId> {
        self.masters.get(&slot).copied()
    }

    /// The ALG following a session, if any.
    pub fn alg_of(&self, slot: u32) -> Option<AlgId> {
        self.followed.get(&slot).map(|a| a.alg)
    }

    /// A new session's first packet would create it: the relation entry it claims, if any
    /// (R1: on whichever core it lands, R5).
    #[inline]
    pub fn claim(&self, k: &FlowKey, now_ms: u64) -> Option<RelationEntry> {
        self.relations.as_ref()?.claim(k, now_ms)
    }

    /// A session was created in `slot`, from a claimed entry (a data connection: linked to its
    /// master) or not (its ALG, if its application has one and it is on, starts following
    /// it). Returns the flags the record gets.
    pub fn on_new(
        &mut self,
        slot: u32,
        orig: &FlowKey,
        app: u8,
        enabled: AlgSet,
        claimed: Option<&RelationEntry>,
    ) -> u8 {
        let mut flags = 0;
        if let Some(e) = claimed {
            self.masters.insert(slot, e.master);
            flags = flag::EXPECTED;
            if e.spec.proto == crate::proto::wire::ipproto::GRE && e.spec.sport.is_some() {
                self.gre_call_started(slot, orig, e);
            }
            // Media and data connections stop here; a connection of a class the ALG follows
            // (a registered SIP contact's incoming signalling) gets the ALG of its master.
            let follow = alg::info(e.alg)
                .and_then(|i| i.classes.get(usize::from(e.class)))
                .is_some_and(|c| c.follow);
            if !follow {
                return flags;
            }
        }
        let Some(id) = claimed.map(|e| e.alg).or_else(|| for_app(app)) else {
            return flags;
        };
        if self.relations.is_none() || !enabled.has(id) {
            return flags;
        }
        let Some(reg) = REGISTRY.get(usize::from(id)) else {
            return flags;
        };
        let control = Control::from_orig(orig);
        self.followed.insert(
            slot,
            Followed {
                alg: id,
                control,
                vpn: orig.vpn,
                session: (reg.start)(&control),
                streams: Default::default(),
                messages: Default::default(),
                frames: Default::default(),
            },
        );
        flags | flag::ALG
    }

    /// A packet of a followed session (`master` names it) was accepted: its payload goes to
    /// the ALG, and what the ALG announces is published before the packet leaves (R5).
    /// A packet the capture cut short (`pkt.cut`) has no whole payload; one that came in IP
    /// fragments (`pkt.reassembled`) is seen only by the ALGs in `fragments`.
    pub fn on_payload(
        &mut self,
        slot: u32,
        master: SessionId,
        dir: Direction,
        pkt: &Packet<'_>,
        fragments: AlgSet,
        now_ms: u64,
    ) {
        if pkt.payload.is_empty() {
            return;
        }
        let Some(a) = self.followed.get_mut(&slot) else {
            return;
        };
        let Some(info) = alg::info(a.alg) else {
            return;
        };
        let id = a.alg;
        // Comware's default: an ALG does not process a message that came in IP fragments
        // (`session alg fragment`). Its bytes still go through the stream buffers, so a TCP
        // stream advances past it and the next message is found.
        let inspect = !pkt.reassembled || fragments.has(id);
        if !inspect {
            self.counters.host(id, HostRefusal::FragmentedNotInspected);
        }
        let mut out = Expects::new();
        let mut refusals: SmallVec<[usize; 2]> = SmallVec::new();
        let (control, session) = (&a.control, &mut a.session);
        let mut message = |m: &[u8]| {
            if !inspect {
                return;
            }
            if let Err(r) = session.on_message(control, dir, m, &mut out) {
                refusals.push(r);
            }
        };
        let d = dir.index();
        match (info.framing, pkt.l4) {
            // A cut segment still feeds its bytes: the buffers follow the sequence space, so
            // the missing tail is a gap at the next segment and the cut message is dropped.
            (Framing::Lines, L4::Tcp(seg)) => {
                let notes = a.streams[d].feed(seg.seq, pkt.payload, info.max_line, message);
                count_notes(&mut self.counters, id, notes);
            }
            (Framing::Messages, L4::Tcp(seg)) => {
                let notes = a.messages[d].feed(seg.seq, pkt.payload, info.max_line, message);
                count_notes(&mut self.counters, id, notes.stream);
                for (why, n) in notes.reasons() {
                    self.counters.host_by(id, why, u64::from(n));
                }
            }
            (Framing::Length(f), L4::Tcp(seg)) => {
                let notes = a.frames[d].feed(seg.seq, pkt.payload, &f, info.max_line, message);
                count_notes(&mut self.counters, id, notes.stream);
                self.counters
                    .host_by(id, HostRefusal::NotAMessage, u64::from(notes.not_a_message));
            }
            (Framing::Lines | Framing::Length(_), _) => {}
            (Framing::Datagrams | Framing::Messages, _) if pkt.cut && inspect => {
                self.counters.host(id, HostRefusal::CutByCapture);
            }
            (Framing::Datagrams | Framing::Messages, _) => message(pkt.payload),
        }
        let (control, vpn) = (a.control, a.vpn);
        for r in refusals {
            self.counters.refused(id, r);
        }
        if out.is_empty() {
            return;
        }
        let Some(table) = self.relations.clone() else {
            return;
        };
        // Changes first: a message may end a call's entries and announce new ones.
        for c in out.changes() {
            match *c {
                Change::Withdraw(w) => {
                    table.withdraw(master, w.classes, w.tag);
                }
                Change::Refresh(w, ttl_ms) => {
                    let until = now_ms.saturating_add(ttl_ms);
                    table.refresh(master, w.classes, w.tag, until, &mut self.expiry);
                }
            }
        }
        for (e, terms) in out.announced() {
            let Some(spec) = spec_of(id, &control, e, vpn) else {
                self.counters.host(id, HostRefusal::WrongFamily);
                continue;
            };
            let Some(class) = info.classes.get(usize::from(e.class)) else {
                // An ALG naming a class it does not declare: its own bug, counted, no entry.
                self.counters.host(id, HostRefusal::UnknownClass);
                continue;
            };
            let mut limits = class.limits();
            if let Some(ttl) = terms.ttl_ms {
                limits.ttl_ms = ttl;
            }
            let et = EntryTerms {
                tag: terms.tag,
                permanent: terms.permanent,
            };
            match table.publish_with(spec, master, id, e.class, limits, et, now_ms) {
                Some(p) => {
                    self.expiry.push(p.ticket);
                    self.counters.class_limit(id, e.class, p.evicted as u64);
                    if self.record_published {
                        self.published.push(p.entry);
                    }
                    if self.record_for_sync {
                        self.for_sync.push(p.entry);
                    }
                }
                None => self.counters.host(id, HostRefusal::RelationTableFull),
            }
        }
        if self.expiry.len() > 2 * table.len() + COMPACT_SLACK {
            table.compact(&mut self.expiry);
        }
    }

    /// A session leaves (`flags` = its record's): its ALG state and relation entries (a
    /// master), or its link to its master (a data session), go with it.
    pub fn on_remove(&mut self, slot: u32, id: SessionId, flags: u8) {
        if flags & flag::ALG != 0 {
            self.followed.remove(&slot);
            if let Some(t) = &self.relations {
                t.remove_master(id);
            }
        }
        if flags & flag::EXPECTED != 0 {
            self.masters.remove(&slot);
            if let Some(k) = self.gre_sessions.remove(&slot) {
                let back = FlowKey {
                    src: k.dst,
                    dst: k.src,
                    sport: 0,
                    dport: k.sport,
                    ..k
                };
                for (wire, sender) in [(gre_wire_key(&k), k.sport), (back, k.dport)] {
                    // Another call's session may have taken the same tuple since.
                    if self.gre_keys.get(&wire) == Some(&sender) {
                        self.gre_keys.remove(&wire);
                    }
                }
            }
        }
    }

    /// Time passes on this core: the entries its masters published whose time is up go, at
    /// most `budget` of them.
    pub fn tick(&mut self, now_ms: u64, budget: usize) {
        if let Some(t) = &self.relations {
            // A peek at the queue's head when nothing is due.
            t.expire_due(&mut self.expiry, now_ms, budget);
        }
    }

    /// Tickets in this core's expiry queue (for tests and the memory report).
    pub fn queued(&self) -> usize {
        self.expiry.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_real_applications() {
        for r in REGISTRY {
            assert!(
                apps::by_keyword(r.info.control_app).is_some(),
                "{}",
                r.info.keyword
            );
            assert!(!r.info.classes.is_empty(), "{}", r.info.keyword);
            for c in r.info.classes {
                assert!(apps::by_keyword(c.data_app).is_some(), "{}", c.name);
            }
        }
        let ftp = alg::by_keyword("FTP").expect("ftp registered");
        assert_eq!(for_app(apps::by_keyword("ftp").unwrap_or(0)), Some(ftp));
        assert_eq!(apps::name(data_app(ftp, 0)), "FTP-DATA");
        assert_eq!(for_app(apps::OTHER), None);
    }

    /// The example ALG of docs/writing-an-alg.md (IRC DCC) is registered only in the crate's
    /// tests: its folder, one registry line and one port-mapping row are all it took for the
    /// engine to follow IRC sessions, publish the DCC offer with its class's limit and
    /// timeout, and relate the peer's connection to its control session.
    mod example_alg {
        use crate::proto::key::FlowHasher;
        use crate::proto::wire::{self, Datagram};
        use crate::table::{Shard, TableConfig, Verdict};

        const T0: u64 = 1_700_000_000_000_000_000;

        /// An IPv4 TCP segment, as a parsed packet is made from it.
        #[allow(clippy::too_many_arguments)]
        fn segment(
            src: [u8; 4],
            sport: u16,
            dst: [u8; 4],
            dport: u16,
            flags: u8,
            seq: u32,
            ack: u32,
            payload: &[u8],
        ) -> Vec<u8> {
            let total = 40 + payload.len();
            let mut p = vec![0u8; total];
            p[0] = 0x45;
            p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
            p[8] = 64;
            p[9] = 6;
            p[12..16].copy_from_slice(&src);
            p[16..20].copy_from_slice(&dst);
            p[20..22].copy_from_slice(&sport.to_be_bytes());
            p[22..24].copy_from_slice(&dport.to_be_bytes());
            p[24..28].copy_from_slice(&seq.to_be_bytes());
            p[28..32].copy_from_slice(&ack.to_be_bytes());
            p[32] = 5 << 4;
            p[33] = flags;
            p[34..36].copy_from_slice(&65535u16.to_be_bytes());
            p[40..].copy_from_slice(payload);
            p
        }

        fn track(shard: &mut Shard, bytes: &[u8], at_s: u64) -> (Verdict, Option<u32>) {
            let Ok(Datagram::Whole(pkt)) = wire::parse_ip(bytes) else {
                panic!("test segment does not parse");
            };
            let t = shard.track(&pkt, T0 + at_s * 1_000_000_000);
            (t.verdict, t.slot)
        }

        const CLIENT: [u8; 4] = [198, 18, 0, 1];
        const SERVER: [u8; 4] = [198, 19, 0, 2];
        const PEER: [u8; 4] = [198, 19, 0, 77];
        const SYN: u8 = 0x02;
        const SYN_ACK: u8 = 0x12;
        const ACK: u8 = 0x10;
        const PSH_ACK: u8 = 0x18;

        /// An IRC session to port 6667 with one DCC SEND offering 198.18.0.1:5000 (the
        /// address 3323068417), then the peer's connection to it.
        fn run(config: TableConfig) -> (Shard, Verdict) {
            let mut shard = Shard::new(0, config, FlowHasher::with_seed(3));
            shard.algs.attach(Default::default());
            let offer = b"PRIVMSG bob :\x01DCC SEND notes.txt 3323068417 5000 1024\x01\r\n";
            for (bytes, at) in [
                (segment(CLIENT, 40000, SERVER, 6667, SYN, 100, 0, b""), 0),
                (
                    segment(SERVER, 6667, CLIENT, 40000, SYN_ACK, 900, 101, b""),
                    0,
                ),
                (segment(CLIENT, 40000, SERVER, 6667, ACK, 101, 901, b""), 0),
                (
                    segment(CLIENT, 40000, SERVER, 6667, PSH_ACK, 101, 901, offer),
                    1,
                ),
            ] {
                let (v, _) = track(&mut shard, &bytes, at);
                assert!(matches!(v, Verdict::New | Verdict::Est), "{v:?}");
            }
            let (v, _) = track(
                &mut shard,
                &segment(PEER, 33333, CLIENT, 5000, SYN, 7, 0, b""),
                2,
            );
            (shard, v)
        }

        #[test]
        fn the_example_alg_follows_its_sessions_through_the_engine() {
            let irc = crate::alg::by_keyword("irc").expect("registered in tests");
            let (shard, v) = run(TableConfig::default());
            assert_eq!(
                v,
                Verdict::Rel,
                "the peer's connection claims the DCC entry"
            );
            let data = shard
                .iter()
                .find(|(_, s, _)| s.orig_key().dport == 5000)
                .expect("data session");
            let master = shard
                .algs
                .master_of(data.0.slot)
                .expect("linked to its master");
            let (control, _) = shard.get(master).expect("master live");
            assert_eq!(control.orig_key().dport, 6667);
            assert_eq!(shard.algs.alg_of(master.slot), Some(irc));
            assert_eq!(super::super::apps::name(data.1.app), "IRC");
            let t = shard.algs.relations().expect("attached");
            assert_eq!(t.counters().published, 1);
            assert_eq!(t.counters().claimed, 1);

            // `undo alg irc`: the session is not followed, the connection is a new one.
            let mut off = TableConfig::default();
            off.algs.set(irc, false);
            let (shard, v) = run(off);
            assert_eq!(v, Verdict::New);
            assert_eq!(
                shard.algs.relations().map(|t| t.counters().published),
                Some(0)
            );
        }
    }
}

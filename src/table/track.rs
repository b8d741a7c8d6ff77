//! The per-packet session logic: find or create the session, run its protocol's state
//! machine, count, stamp. Pure: time comes in with the packet.
//!
//! Verdicts follow nf_conntrack's packet classes so they can be compared with the kernel:
//! `New` for a packet that creates a session and for every further initiator packet until the
//! responder has answered (the kernel's IP_CT_NEW), `Est` after, `Rel` for an ICMP error
//! mapped to its session (S3), `Invalid` for a packet session management rejects.

use super::config::SessionMode;
use super::events::{CloseReason, EventKind};
use super::session::{DirCounters, Session, flag};
use super::shard::Shard;
use crate::drop::DropReason;
use crate::proto::icmp;
use crate::proto::key::{Direction, FlowKey};
use crate::proto::tcp::TcpPolicy;
use crate::proto::wire::{self, L4, Packet, ipproto};
use crate::proto::{self, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    New,
    Est,
    Rel,
    Invalid(DropReason),
    /// Not for session management, passed untouched: IPv6 neighbour discovery, router
    /// discovery and multicast listener messages (nf_conntrack leaves them untracked too;
    /// inline, dropping them would break IPv6 itself).
    Untracked,
}

impl Verdict {
    pub const fn name(self) -> &'static str {
        match self {
            Verdict::New => "new",
            Verdict::Est => "est",
            Verdict::Rel => "rel",
            Verdict::Invalid(_) => "invalid",
            Verdict::Untracked => "untracked",
        }
    }
}

/// Packets looked up together by `track_batch`.
pub const BATCH: usize = 64;

/// A packet's lookup key, computed once.
#[derive(Debug, Clone, Copy)]
pub struct Prepared {
    pub key: FlowKey,
    pub canon: FlowKey,
    pub swapped: bool,
    pub hash: u64,
}

/// Packets `track_batch` hands to `track` one by one: ICMP errors and ICMPv6 control.
fn is_icmp_error(pkt: &Packet<'_>) -> bool {
    match pkt.l4 {
        L4::Icmp(m) => icmp::is_error(pkt.ip.proto, m.ty),
        L4::Icmpv6(m) => icmp::is_error(pkt.ip.proto, m.ty) || icmp::is_link_local_control(m.ty),
        _ => false,
    }
}

/// Wheel entries examined to make room when the table is full.
const RECLAIM_BUDGET: usize = 1024;

/// What happened to one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    pub verdict: Verdict,
    pub dir: Option<Direction>,
    /// The session's slot in its shard (`Shard::id_of` names it; reading the generation is
    /// left to whoever needs an id, off the packet path).
    pub slot: Option<u32>,
    /// The session's protocol and state after the packet (for display).
    pub proto: u8,
    pub state: u8,
}

impl Tracked {
    fn invalid(reason: DropReason, proto: u8) -> Tracked {
        Tracked {
            verdict: Verdict::Invalid(reason),
            dir: None,
            slot: None,
            proto,
            state: 0,
        }
    }
}

/// Display name of a protocol state (SPEC S2).
pub fn state_name(proto: u8, state: u8) -> &'static str {
    proto::state_name(proto, state)
}

impl Shard {
    /// The port the next packets come in on (for the packet filter; `track` reads it).
    #[inline]
    pub fn set_ingress(&mut self, port: u8) {
        self.ingress = port;
    }

    /// Tracks one whole (reassembled if need be) datagram at `now_ns`.
    pub fn track(&mut self, pkt: &Packet<'_>, now_ns: u64) -> Tracked {
        self.now_ms = self.now_ms.max(now_ns / 1_000_000);
        self.note_second();
        if let L4::Icmp(m) | L4::Icmpv6(m) = pkt.l4
            && icmp::is_error(pkt.ip.proto, m.ty)
        {
            return self.track_icmp_error(pkt, m.rest);
        }
        if let L4::Icmpv6(m) = pkt.l4
            && icmp::is_link_local_control(m.ty)
        {
            return Tracked {
                verdict: Verdict::Untracked,
                dir: None,
                slot: None,
                proto: pkt.ip.proto,
                state: 0,
            };
        }
        let prep = self.prepare(pkt);
        let hint = self.find(&prep.canon, prep.hash);
        self.track_prepared(pkt, &prep, hint)
    }

    /// The lookup key of a packet (not an ICMP error): its tuple, canonical key and hash.
    #[inline]
    pub fn prepare(&self, pkt: &Packet<'_>) -> Prepared {
        let mut key = FlowKey::from_packet(pkt, 0);
        if let L4::Gre(_) = pkt.l4 {
            key.sport = self.algs.gre_sender_key(&key);
        }
        let (canon, swapped) = key.canonical();
        Prepared {
            key,
            canon,
            swapped,
            hash: self.hasher.hash_canonical(&canon),
        }
    }

    /// Starts loading what looking up a prepared packet reads first: its index cell. Called
    /// as packets are gathered into a batch, so the cells are in the cache by the time the
    /// batch is tracked.
    #[inline]
    pub fn prefetch_lookup(&self, p: &Prepared) {
        if self.prefetch.cells {
            self.index.prefetch_cells(p.hash);
        }
    }

    /// Starts loading the record (both cache lines) and metadata of the slot a prepared
    /// packet's index cell names, if it names one with the packet's tag.
    /// At a full table, a packet no index cell names is likely a new session that will evict
    /// a neighbour (S8 early drop): that victim's record and metadata are loaded instead, so
    /// an eviction costs no more misses than a creation in free room.
    #[inline]
    fn prefetch_record(&self, p: &Prepared) {
        let slot = match self.index.candidate(p.hash) {
            Some(slot) => slot,
            None if self.live >= self.config.capacity => match self.early_drop_candidate(p.hash) {
                Some(slot) => slot,
                None => return,
            },
            None => return,
        };
        crate::arena::prefetch_at(&self.records, slot as usize);
        // The metadata holds the counters the packet adds to (36 bytes: maybe two lines).
        crate::arena::prefetch_all_at(&self.meta, slot as usize);
    }

    /// Tracks a batch of whole datagrams (`preps[i]` = `prepare(&pkts[i])`) in order, exactly
    /// as `track` would one by one, but first starts loading, for every packet, the record its
    /// index cell names (both cache lines) and that slot's metadata: the batch's misses then
    /// overlap instead of being paid one after the other. `ports` are the ports they came in
    /// on (one per packet; missing = the current ingress port): the packet filter reads them.
    /// `times` are their times (one per packet, or one for all).
    pub fn track_batch(
        &mut self,
        pkts: &[Packet<'_>],
        preps: &[Prepared],
        ports: &[u8],
        times: &[u64],
        out: &mut Vec<Tracked>,
    ) {
        // The records of the next few packets are on their way while one is tracked: a
        // distance that keeps the CPU's outstanding misses near what it can hold.
        let ahead = self.prefetch.records_ahead;
        for p in preps.iter().take(ahead) {
            self.prefetch_record(p);
        }
        for (i, (pkt, p)) in pkts.iter().zip(preps.iter()).enumerate() {
            if ahead != 0
                && let Some(next) = preps.get(i.saturating_add(ahead))
            {
                self.prefetch_record(next);
            }
            if let Some(&port) = ports.get(i) {
                self.ingress = port;
            }
            let now_ns = times.get(i).or(times.first()).copied().unwrap_or(0);
            self.now_ms = self.now_ms.max(now_ns / 1_000_000);
            self.note_second();
            let t = if is_icmp_error(pkt) {
                self.track(pkt, now_ns)
            } else if matches!(pkt.l4, L4::Gre(_)) && p.key.sport == 0 {
                // An earlier packet of the batch may have started this packet's PPTP call
                // (the sender's call ID is known now): prepared again.
                let p = self.prepare(pkt);
                let found = self.find(&p.canon, p.hash);
                self.track_prepared(pkt, &p, found)
            } else {
                let found = self.find(&p.canon, p.hash);
                self.track_prepared(pkt, p, found)
            };
            out.push(t);
        }
    }

    /// Tracks a prepared packet; `found` = the slot holding its canonical key, if any.
    fn track_prepared(&mut self, pkt: &Packet<'_>, prep: &Prepared, found: Option<u32>) -> Tracked {
        if let Some(slot) = found {
            if self
                .aging
                .is_expired(&self.records[slot as usize], self.now_ms)
            {
                // Lazy expiry: the wheel has not reached it yet, but it is gone.
                self.remove(slot, CloseReason::AgedOut);
            } else if let Some(t) = self.track_existing(slot, pkt, prep.swapped) {
                return t;
            }
            // Expired or re-opened: create afresh.
        }
        self.create(pkt, &prep.key, prep.canon, prep.swapped, prep.hash)
    }

    /// Runs the machine of an existing session. `None` = the session was closed to re-open.
    fn track_existing(&mut self, slot: u32, pkt: &Packet<'_>, swapped: bool) -> Option<Tracked> {
        let policy = self.tcp_policy();
        let now_ms = self.now_ms;
        let statistics = self.config.statistics;
        let s = self.record_mut(slot);
        let dir = s.direction(swapped);
        let seen_reply = s.has(flag::SEEN_REPLY);
        let old_state = s.state;
        let proto = s.proto;
        let mut l4 = s.l4();
        let step =
            (proto::descriptor(proto).next)(&mut s.state, &mut l4, dir, pkt, seen_reply, &policy);
        s.l4 = l4.to_words();
        let (new_state, family) = (s.state, s.family());
        if new_state != old_state {
            self.census.change(family, proto, old_state, new_state);
        }
        let verdict = match step {
            Step::Invalid(reason) => {
                self.drops.count(reason);
                return Some(Tracked {
                    verdict: Verdict::Invalid(reason),
                    dir: Some(dir),
                    slot: Some(slot),
                    proto,
                    state: old_state,
                });
            }
            Step::Reopen => {
                self.remove(slot, CloseReason::Closed);
                return None;
            }
            Step::Accept | Step::AcceptThenClose => {
                if dir == Direction::Orig && !seen_reply {
                    // A data connection stays related until answered (IP_CT_RELATED).
                    if self.records[slot as usize].has(flag::EXPECTED) {
                        Verdict::Rel
                    } else {
                        Verdict::New
                    }
                } else {
                    Verdict::Est
                }
            }
        };
        let s = self.record_mut(slot);
        if dir == Direction::Reply {
            s.flags |= flag::SEEN_REPLY;
        }
        s.last_seen_ms = now_ms as u32;
        if statistics {
            let logged = s.has(flag::LOGGED);
            self.meta[slot as usize].counters[dir.index()].count(pkt.ip.len);
            self.census.receive(family, proto, pkt.ip.len);
            if logged {
                self.log_traffic(slot);
            }
        }
        let s = self.record_mut(slot);
        let state = s.state;
        if s.has(flag::ALG) {
            let id = self.id_of(slot);
            self.algs
                .on_payload(slot, id, dir, pkt, self.config.alg_fragments, now_ms);
        }
        if matches!(step, Step::AcceptThenClose) {
            self.remove(slot, CloseReason::Closed);
        } else {
            if state != old_state {
                self.emit(slot, EventKind::StateChanged { from: old_state });
                if self.offload.enabled {
                    self.note_offload(slot, dir, old_state);
                }
                // A new state may age sooner than the deadline on file.
                self.schedule_on_change(slot, old_state);
            }
            if state != old_state || (dir == Direction::Reply && !seen_reply) {
                // Answered now, or out of the handshake: early drop may no longer take it.
                self.mark_evictable(slot);
            }
        }
        Some(Tracked {
            verdict,
            dir: Some(dir),
            slot: Some(slot),
            proto,
            state,
        })
    }

    fn create(
        &mut self,
        pkt: &Packet<'_>,
        key: &FlowKey,
        canon: FlowKey,
        swapped: bool,
        hash: u64,
    ) -> Tracked {
        let proto = key.proto;
        let first = match (proto::descriptor(proto).first)(pkt, key, &self.tcp_policy()) {
            Ok(f) => f,
            Err(reason) => {
                self.drops.count(reason);
                return Tracked::invalid(reason, proto);
            }
        };
        // An attempt (try-rate-abrupt), whatever becomes of it below.
        self.seconds.totals.attempts += 1;
        // At capacity: what has aged out goes first, then (early drop) an unanswered session
        // near the new one's hash is chosen to make room; with none, the session is refused
        // before anything is consumed or evicted.
        let mut victim = None;
        if self.live >= self.config.capacity {
            self.expire(self.now_ms * 1_000_000, RECLAIM_BUDGET);
            if self.live >= self.config.capacity {
                victim = self.early_drop_victim(hash);
                if victim.is_none() {
                    self.drops.count(DropReason::TableFull);
                    self.stats.refused += 1;
                    self.seconds.totals.refused_full += 1;
                    return Tracked::invalid(DropReason::TableFull, proto);
                }
            }
        }
        // A data connection an ALG announced (R1): claimed on whichever core it lands (R5).
        // Only then is the packet filter skipped: it is session-based, and the control
        // session it belongs to already passed it.
        let claimed = self.algs.claim(key, self.now_ms);
        // An enhanced GRE packet claimed its PPTP call's entry without knowing its sender's
        // call ID: the entry names it, and the session is keyed by both.
        let gre_key;
        let (key, canon, swapped, hash) = match claimed {
            Some(e) if key.proto == ipproto::GRE && key.sport == 0 && e.spec.sport.is_some() => {
                gre_key = FlowKey {
                    sport: e.spec.sport.unwrap_or(0),
                    ..*key
                };
                let (c, s) = gre_key.canonical();
                (&gre_key, c, s, self.hasher.hash_canonical(&c))
            }
            _ => (key, canon, swapped, hash),
        };
        if claimed.is_none() && self.config.packet_filter.denies(self.ingress, key) {
            // Denied: the victim stays (a flood of denied packets evicts nothing).
            self.drops.count(DropReason::PacketFilterDeny);
            return Tracked::invalid(DropReason::PacketFilterDeny, proto);
        }
        if let Some(v) = victim {
            self.evict(v);
        }
        let mut flags = flag::LIVE;
        if claimed.is_some() {
            flags |= flag::EXPECTED;
        }
        if swapped {
            flags |= flag::ORIG_SWAPPED;
        }
        let mut persist_hours = 0;
        if proto == ipproto::TCP
            && let Some(h) = self.config.persistent_hours(key)
        {
            flags |= flag::PERSISTENT;
            persist_hours = h;
        }
        let mut counters = [DirCounters::default(); 2];
        if self.config.statistics {
            count(&mut counters[0], pkt.ip.len);
            self.census.receive(key.family, proto, pkt.ip.len);
        }
        let session = Session {
            key: canon,
            counters,
            last_seen_ms: self.now_ms as u32,
            persist_hours,
            state: first.0,
            app: match claimed {
                Some(e) => e.spec.app,
                None => self.apps.identify(key),
            },
            flags,
            l4: first.1,
        };
        let app = session.app;
        let slot = self.insert(session, hash);
        let alg_flags = self
            .algs
            .on_new(slot, key, app, self.config.algs, claimed.as_ref());
        if alg_flags != 0 {
            self.records[slot as usize].flags |= alg_flags;
        }
        if alg_flags & flag::ALG != 0 {
            let id = self.id_of(slot);
            let now_ms = self.now_ms;
            let fragments = self.config.alg_fragments;
            self.algs
                .on_payload(slot, id, Direction::Orig, pkt, fragments, now_ms);
        }
        Tracked {
            verdict: if claimed.is_some() {
                Verdict::Rel
            } else {
                Verdict::New
            },
            dir: Some(Direction::Orig),
            slot: Some(slot),
            proto,
            state: first.0,
        }
    }

    /// S3: an ICMP error belongs to the session of the packet it quotes.
    fn track_icmp_error(&mut self, pkt: &Packet<'_>, quoted: &[u8]) -> Tracked {
        let proto = pkt.ip.proto;
        let inner = match wire::parse_quoted(pkt.ip.family, quoted) {
            Ok(p) => p,
            Err(reason) => {
                self.drops.count(reason);
                return Tracked::invalid(reason, proto);
            }
        };
        let mut quoted_key = FlowKey::from_packet(&inner, 0);
        if let L4::Gre(_) = inner.l4 {
            quoted_key.sport = self.algs.gre_sender_key(&quoted_key);
        }
        let (canon, swapped) = quoted_key.canonical();
        let hash = self.hasher.hash_canonical(&canon);
        let Some(slot) = self.find(&canon, hash).filter(|&s| {
            !self
                .aging
                .is_expired(&self.records[s as usize], self.now_ms)
        }) else {
            self.drops.count(DropReason::IcmpErrorNoSession);
            return Tracked::invalid(DropReason::IcmpErrorNoSession, proto);
        };
        let statistics = self.config.statistics;
        let s = self.record_mut(slot);
        // The error travels against the packet it quotes.
        let dir = s.direction(swapped).flip();
        let (sproto, state) = (s.proto, s.state);
        if statistics {
            self.meta[slot as usize].counters[dir.index()].count(pkt.ip.len);
        }
        if statistics {
            self.census.receive(pkt.ip.family, proto, pkt.ip.len);
        }
        Tracked {
            verdict: Verdict::Rel,
            dir: Some(dir),
            slot: Some(slot),
            proto: sproto,
            state,
        }
    }

    fn tcp_policy(&self) -> TcpPolicy {
        TcpPolicy {
            loose: self.config.mode == SessionMode::Hybrid,
            be_liberal: false,
        }
    }
}

#[inline]
fn count(c: &mut DirCounters, bytes: u32) {
    c.packets += 1;
    c.bytes += u64::from(bytes);
}

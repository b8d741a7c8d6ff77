//! One core's slice of the session table: the slab of records, the index, the capacity
//! policy (S8) and the aging wheel.
//!
//! Ownership: a shard belongs to exactly one core thread; nothing in it is shared or locked.

use super::aging::{AgingTable, AgingWheel, NEVER_MS, WHEEL_SPAN_S, age_ms};
use super::algs::AlgHost;
use super::config::TableConfig;
use super::events::{CloseReason, EventKind, SessionEvent};
use super::index::FlowIndex;
use super::port_map::AppMap;
use super::record::{PackedCounters, Record, V6, V6Keys};
use super::session::{DirCounters, Session, SessionId, flag};
use crate::arena::ArenaVec;
use crate::drop::DropCounters;
use crate::proto::key::{FlowHasher, FlowKey, addr_to_ip};

/// Whether a session counts as unanswered for early drop (S8): the kernel's "not assured".
/// No packet from the responder has been accepted yet (UDP, UDP-Lite and raw IP OPEN, ICMP
/// REQUEST, SCTP and DCCP before their first reply); for TCP, the three-way handshake has not
/// completed (SYN_SENT, SYN_SENT2 and SYN_RECV): a SYN-ACK a server sends to a spoofed
/// source answers nobody, and a SYN flood against a real server must not pin the table with
/// SYN_RECV sessions. Established or otherwise answered sessions are never evicted.
#[inline]
pub fn is_unanswered(s: &Record) -> bool {
    if s.proto == crate::proto::wire::ipproto::TCP {
        crate::proto::tcp::is_handshake(s.state)
    } else {
        !s.has(flag::SEEN_REPLY)
    }
}

/// Packets whose records `track_batch` loads ahead of the one it tracks.
const LOOKAHEAD: usize = 12;

/// What the batched lookup loads ahead of the state machines (`Shard::prefetch`). The engine
/// runs the default; the pipeline benchmark measures each step against the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefetchPlan {
    /// Each packet's index cells, as the batch is gathered (`prefetch_lookup`).
    pub cells: bool,
    /// How many packets ahead of the one being tracked its record and metadata are loaded:
    /// 0 = none, `usize::MAX` = every record of the batch before the first state machine.
    pub records_ahead: usize,
}

impl Default for PrefetchPlan {
    fn default() -> Self {
        PrefetchPlan {
            cells: true,
            records_ahead: LOOKAHEAD,
        }
    }
}

/// The session early drop chose, and its index cell when known.
#[derive(Debug, Clone, Copy)]
pub(super) struct Victim {
    slot: u32,
    cell: Option<usize>,
}

/// Words of the evictable bitmap (64 slots each) early drop looks at when the new key's
/// neighbourhood had no unanswered session: 512 slots, 64 bytes.
const SWEEP_WORDS: usize = 8;

/// Room the expiry scratch list keeps between turns (a tick's budget is far below it).
const EXPIRED_KEEP: usize = 4096;

/// With synchronization on, the wheel visits every session at least every half aging time
/// (its refresh for the peer, `image.rs`), never sooner than a second.
#[inline]
fn sync_refresh_at(now_s: u64, timeout_ms: u64) -> u64 {
    if timeout_ms == NEVER_MS {
        return now_s + WHEEL_SPAN_S;
    }
    now_s + (timeout_ms / 2000).max(1)
}

/// A change a core noted for the peer, turned into an item when it ships.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pending {
    /// The session in this slot, if the slot still holds it (generation) when it ships.
    Upsert {
        slot: u32,
        generation: u32,
    },
    Delete(FlowKey),
}

/// The shard's synchronization output: on while `config.sync` is enabled.
#[derive(Debug, Default)]
pub(super) struct SyncOut {
    pub(super) pending: Vec<Pending>,
    /// Off while the shard installs what a peer sent, so nothing echoes back.
    pub(super) quiet: bool,
}

/// What the core must tell the fast path (`offload.rs`). Defined here beside the sync output
/// so the shard names nothing of the files that extend it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffloadNote {
    /// The session became forwardable; its initiator's frames arrive on `orig_port`.
    Ready {
        slot: u32,
        generation: u32,
        orig: FlowKey,
        orig_port: u8,
    },
    /// The session (initiator's tuple `orig`) stopped being forwardable or left the table.
    Gone { orig: FlowKey },
}

/// The shard's notes for its core; collected only while `enabled` (the core's back-end has a
/// fast path that is on).
#[derive(Debug, Default)]
pub struct OffloadOut {
    pub enabled: bool,
    pub(super) notes: Vec<OffloadNote>,
}

/// What only the control plane reads about a slot (kept apart from the hot record).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotMeta {
    /// Bumped every time the slot is reused: a stale `SessionId` never matches.
    pub generation: u32,
    /// Start time, seconds on the engine clock.
    pub created_s: u32,
    /// The deadline of the slot's one valid wheel entry.
    pub wheel_deadline_s: u32,
    /// The session's counters (S4), per direction (`Direction::index`). Here rather than in
    /// the record, which a TCP session fills to its last byte; the batched lookup prefetches
    /// them with the record.
    pub counters: [PackedCounters; 2],
}

impl SlotMeta {
    pub fn counters(&self) -> [DirCounters; 2] {
        [self.counters[0].get(), self.counters[1].get()]
    }
}

/// Why sessions left the table (per core, summed on read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardStats {
    pub created: u64,
    pub aged_out: u64,
    /// Closed by the protocol (RST answering a SYN, re-opened TCP, ...).
    pub closed: u64,
    pub reset: u64,
    /// New sessions refused at capacity (S8): nothing in the new one's neighbourhood could
    /// be evicted, or early drop is off.
    pub refused: u64,
    /// Unanswered sessions evicted to make room for a new one at capacity (S8 early drop).
    pub evicted: u64,
}

pub struct Shard {
    pub core: u8,
    /// Records and metadata live in huge-page arenas (`crate::arena`).
    pub(super) records: ArenaVec<Record>,
    /// IPv6 sessions' addresses (the record holds their index).
    pub(super) v6: V6Keys,
    pub(super) meta: ArenaVec<SlotMeta>,
    free: Vec<u32>,
    pub(super) index: FlowIndex,
    /// One bit per slot: the session there may be evicted at capacity (unanswered, see
    /// `is_unanswered`). Kept beside the index so early drop tests 16 bits, not 16 records.
    evictable: Vec<u64>,
    /// Where early drop's look at the bitmap goes on from.
    sweep: usize,
    pub(super) hasher: FlowHasher,
    /// What the batched lookup loads ahead (`PrefetchPlan`).
    pub prefetch: PrefetchPlan,
    pub(super) live: usize,
    pub(super) wheel: AgingWheel,
    expired_scratch: Vec<u32>,
    pub(super) apps: AppMap,
    pub config: TableConfig,
    /// `config.aging` laid out for the packet path; rebuilt with every new configuration.
    pub(super) aging: AgingTable,
    /// Whether every live session's wheel entry was filed under the aging times and sync
    /// setting in force now (no change to them since while sessions were live): a state
    /// change then knows without reading the slot's metadata whether it can move the
    /// session's deadline earlier (`schedule_on_change`).
    deadlines_current: bool,
    pub drops: DropCounters,
    pub stats: ShardStats,
    /// The engine clock at the last packet or tick, in milliseconds.
    pub(super) now_ms: u64,
    /// Session events since the owner last took them (`take_events`); collected only when
    /// `events_enabled`, so offline tools pay nothing.
    pub events_enabled: bool,
    pub(super) events: Vec<SessionEvent>,
    /// The ALGs: which sessions they follow, what they published, data sessions' masters.
    pub algs: AlgHost,
    /// The port the packet being tracked came in on (the packet filter's input).
    pub(super) ingress: u8,
    /// Live sessions by family, protocol and state; packets received (statistics).
    pub census: super::census::Census,
    /// Session logging: the settings, the logged sessions' marks, the time-active queue.
    pub(super) log: super::log::LogState,
    /// Top statistics (T2): new sessions by address, while `config.top_statistics`.
    pub top: super::top::TopStatistics,
    /// Never-reset totals for the abrupt-change alarms, reported once per engine-clock
    /// second (`take_seconds`).
    pub seconds: crate::alarm::SecondClock,
    /// What the peer engine is told (`session synchronization enable`, `image.rs`).
    pub(super) sync: SyncOut,
    /// What the core's fast path is told (`offload.rs`), while it has one.
    pub offload: OffloadOut,
}

impl Shard {
    pub fn new(core: u8, config: TableConfig, hasher: FlowHasher) -> Shard {
        let log_config = config.session_log.clone();
        let mut shard = Shard {
            core,
            records: ArenaVec::new(),
            v6: V6Keys::default(),
            meta: ArenaVec::new(),
            free: Vec::new(),
            index: FlowIndex::default(),
            evictable: Vec::new(),
            sweep: 0,
            hasher,
            prefetch: Default::default(),
            live: 0,
            wheel: AgingWheel::new(),
            expired_scratch: Vec::new(),
            apps: AppMap::with_user(&config.port_map, &config.port_map_acls),
            aging: AgingTable::new(&config.aging),
            deadlines_current: true,
            config,
            drops: DropCounters::default(),
            stats: ShardStats::default(),
            now_ms: 0,
            events_enabled: false,
            events: Vec::new(),
            algs: AlgHost::default(),
            ingress: 0,
            census: Default::default(),
            log: Default::default(),
            top: Default::default(),
            seconds: Default::default(),
            sync: Default::default(),
            offload: Default::default(),
        };
        shard.set_log_config(log_config);
        shard
    }

    /// Replaces the configuration whole (between batches); the application map follows the
    /// port mappings.
    pub fn set_config(&mut self, config: TableConfig) {
        if config.port_map != self.config.port_map
            || config.port_map_acls != self.config.port_map_acls
        {
            self.apps = AppMap::with_user(&config.port_map, &config.port_map_acls);
        }
        self.set_log_config(config.session_log.clone());
        if config.aging != self.config.aging || config.sync.enabled != self.config.sync.enabled {
            self.aging = AgingTable::new(&config.aging);
            // Entries filed under the old times may lie beyond what the new ones give.
            if self.live > 0 {
                self.deadlines_current = false;
            }
        }
        self.config = config;
    }

    /// Reserves room for `n` sessions up front (no reallocation on the packet path below it).
    pub fn reserve(&mut self, n: usize) {
        self.records.reserve(n);
        self.meta.reserve(n);
        if self.index.is_empty() {
            self.index = FlowIndex::with_capacity(n);
        }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The slot holding the session with canonical key `canon`.
    #[inline]
    pub fn find(&self, canon: &FlowKey, hash: u64) -> Option<u32> {
        let (records, v6) = (&self.records, &self.v6);
        self.index
            .find(hash, |slot| records[slot as usize].matches(canon, v6))
    }

    #[inline]
    pub(super) fn record_mut(&mut self, slot: u32) -> &mut Record {
        &mut self.records[slot as usize]
    }

    pub fn id_of(&self, slot: u32) -> SessionId {
        SessionId {
            core: self.core,
            slot,
            generation: self.meta[slot as usize].generation,
        }
    }

    /// The whole view of the session in `slot` (live or not).
    pub fn session(&self, slot: u32) -> Option<Session> {
        let i = slot as usize;
        let (r, m) = (self.records.get(i)?, self.meta.get(i)?);
        Some(r.view(&self.v6, m.counters()))
    }

    /// The live session an id names, if it still exists.
    pub fn get(&self, id: SessionId) -> Option<(Session, &SlotMeta)> {
        let i = id.slot as usize;
        let (r, m) = (self.records.get(i)?, self.meta.get(i)?);
        (id.core == self.core && r.has(flag::LIVE) && m.generation == id.generation)
            .then(|| (r.view(&self.v6, m.counters()), m))
    }

    /// Every live session.
    pub fn iter(&self) -> impl Iterator<Item = (SessionId, Session, &SlotMeta)> + '_ {
        self.iter_slots(0, usize::MAX)
    }

    /// Slots in use or free (live sessions are among the first `slot_count` slots).
    pub fn slot_count(&self) -> usize {
        self.records.len()
    }

    /// The live sessions of slots `from .. from + count`: a console pages through a large
    /// table a bounded stretch at a time, between batches.
    pub fn iter_slots(
        &self,
        from: usize,
        count: usize,
    ) -> impl Iterator<Item = (SessionId, Session, &SlotMeta)> + '_ {
        let len = self.records.len().min(self.meta.len());
        let from = from.min(len);
        let to = from.saturating_add(count).min(len);
        // Slices, not `skip`: the start costs nothing however far into the table it is.
        let (records, meta) = (&self.records[from..to], &self.meta[from..to]);
        records
            .iter()
            .zip(meta.iter())
            .enumerate()
            .filter(|(_, (s, _))| s.has(flag::LIVE))
            .map(move |(i, (s, m))| {
                (
                    SessionId {
                        core: self.core,
                        slot: (from + i) as u32,
                        generation: m.generation,
                    },
                    s.view(&self.v6, m.counters()),
                    m,
                )
            })
    }

    /// Inserts a new session (the caller has checked capacity and absence). Returns its slot.
    pub(super) fn insert(&mut self, session: Session, hash: u64) -> u32 {
        let now_s = self.now_ms / 1000;
        self.census.create(
            session.key.family,
            session.key.proto,
            session.state,
            self.now_ms,
        );
        let record = Record::store(&session, &mut self.v6);
        let slot = match self.free.pop() {
            Some(slot) => {
                self.records[slot as usize] = record;
                slot
            }
            None => {
                self.records.push(record);
                self.meta.push(SlotMeta::default());
                (self.records.len() - 1) as u32
            }
        };
        let m = &mut self.meta[slot as usize];
        m.generation = m.generation.wrapping_add(1);
        m.created_s = now_s as u32;
        m.counters = session.counters.map(PackedCounters::of);
        self.index.insert(hash, slot);
        self.mark_evictable(slot);
        self.live += 1;
        self.stats.created += 1;
        self.seconds.totals.created += 1;
        self.schedule(slot);
        if self.log.active {
            let orig = session.orig_key();
            self.log_select(slot, &orig);
        }
        if self.config.top_statistics {
            let orig = session.orig_key();
            let (src, dst) = (
                addr_to_ip(orig.family, &orig.src),
                addr_to_ip(orig.family, &orig.dst),
            );
            self.top.record(src, dst, self.now_ms);
        }
        self.emit(slot, EventKind::Created);
        slot
    }

    /// The wheel deadline (seconds) of a session with aging time `t_ms` whose last packet was
    /// `age_ms` ago.
    #[inline]
    fn deadline_s(&self, t_ms: u64, age_ms: u64) -> u32 {
        let now_s = self.now_ms / 1000;
        let mut deadline_s = if t_ms == NEVER_MS {
            now_s + WHEEL_SPAN_S
        } else {
            (self.now_ms - age_ms.min(self.now_ms) + t_ms).div_ceil(1000)
        };
        if self.config.sync.enabled {
            deadline_s = deadline_s.min(sync_refresh_at(now_s, t_ms));
        }
        deadline_s.min(u64::from(u32::MAX)) as u32
    }

    /// `schedule` after the session in `slot` went from `old_state` to its state now on a
    /// packet (its last packet is now). The entry on file is never later than the old
    /// state's deadline computed now (filed under the times in force, from an earlier or
    /// equal last packet, and only ever moved earlier since), so when the new state's
    /// deadline is not earlier than the old state's, `schedule` would leave the wheel as it
    /// is: that is known from the two aging times alone, without reading the slot's
    /// metadata (a cache miss on every SYN -> ESTABLISHED). Otherwise `schedule` decides.
    #[inline]
    pub(super) fn schedule_on_change(&mut self, slot: u32, old_state: u8) {
        if self.deadlines_current && self.aging.all_positive() {
            let s = &self.records[slot as usize];
            let (t_new, t_old) = (
                self.aging.timeout_ms(s),
                self.aging.timeout_in(s, old_state),
            );
            if t_new == t_old || self.deadline_s(t_new, 0) >= self.deadline_s(t_old, 0) {
                return;
            }
        }
        self.schedule(slot);
    }

    /// (Re)files a slot in the wheel at its current deadline.
    pub(super) fn schedule(&mut self, slot: u32) {
        let s = &self.records[slot as usize];
        let t = self.aging.timeout_ms(s);
        let now_s = self.now_ms / 1000;
        let deadline_s = self.deadline_s(t, age_ms(s, self.now_ms));
        let filed = self.meta[slot as usize].wheel_deadline_s;
        if filed != 0 && deadline_s >= filed {
            // The entry on file fires first and re-files the session at its real deadline
            // then. Filing only earlier deadlines bounds the entries one session can have in
            // the wheel, however its packets make its state change.
            return;
        }
        self.meta[slot as usize].wheel_deadline_s = deadline_s;
        self.wheel.schedule(slot, deadline_s, now_s);
    }

    /// Records an event about a slot's session (when events are on).
    #[inline]
    pub(super) fn emit(&mut self, slot: u32, kind: EventKind) {
        if self.config.sync.enabled {
            match kind {
                EventKind::Created | EventKind::StateChanged { .. } => self.note_sync(slot, false),
                EventKind::Deleted(_) => self.note_sync(slot, true),
                EventKind::Active | EventKind::Final => {}
            }
        }
        let log = self.log_facts(slot, kind);
        if self.events_enabled || log.is_some() {
            let s = &self.records[slot as usize];
            self.events.push(SessionEvent {
                kind,
                session: self.id_of(slot).to_u64(),
                orig: s.orig_key(&self.v6),
                state: s.state,
                at_ns: self.now_ms * 1_000_000,
                log,
            });
        }
    }

    /// Moves the pending events into `into` (which the caller ships as one batch).
    pub fn take_events(&mut self, into: &mut Vec<SessionEvent>) {
        if into.is_empty() {
            // Hand the buffer over whole: the shard keeps no peak-sized buffer (a reset of a
            // million sessions is a million events at once).
            std::mem::swap(into, &mut self.events);
            return;
        }
        into.append(&mut self.events);
    }

    /// Removes a live session, counting why.
    pub(super) fn remove(&mut self, slot: u32, why: CloseReason) {
        self.remove_found(slot, why, None);
    }

    /// `remove`, for a session whose index cell is known (early drop found it there): the
    /// index entry goes without hashing the key again.
    fn remove_found(&mut self, slot: u32, why: CloseReason, cell: Option<usize>) {
        match why {
            CloseReason::AgedOut => self.stats.aged_out += 1,
            CloseReason::Closed => self.stats.closed += 1,
            CloseReason::Reset => self.stats.reset += 1,
            CloseReason::EarlyDrop => self.stats.evicted += 1,
        }
        self.emit(slot, EventKind::Deleted(why));
        if self.offload.enabled {
            self.note_offload_removed(slot);
        }
        let flags = self.records[slot as usize].flags;
        if flags & (flag::ALG | flag::EXPECTED) != 0 {
            self.algs.on_remove(slot, self.id_of(slot), flags);
        }
        let r = self.records[slot as usize];
        self.census.close(r.family(), r.proto, r.state);
        match cell {
            Some(i) if self.index.holds(i, slot) => self.index.remove_cell(i),
            _ => {
                let key = r.key(&self.v6);
                let hash = self.hasher.hash_canonical(&key);
                self.index.remove(hash, slot);
            }
        }
        self.set_evictable(slot, false);
        if r.has(V6) {
            self.v6.release(r.src);
        }
        self.records[slot as usize].flags = 0;
        self.meta[slot as usize].wheel_deadline_s = 0;
        self.free.push(slot);
        self.live -= 1;
    }

    /// The session early drop would evict first for a new key with this hash, looking in its
    /// neighbourhood only (for prefetching: `track_batch`).
    #[inline]
    pub(super) fn early_drop_candidate(&self, hash: u64) -> Option<u32> {
        self.neighbour_victim(hash).map(|v| v.slot)
    }

    /// The first unanswered session among the new key's neighbours in the index, with its
    /// cell; none when early drop is off.
    #[inline]
    fn neighbour_victim(&self, hash: u64) -> Option<Victim> {
        if !self.config.early_drop {
            return None;
        }
        self.index
            .neighbours(hash)
            .find(|&(_, s)| self.is_evictable(s))
            .map(|(cell, slot)| Victim {
                slot,
                cell: Some(cell),
            })
    }

    /// Early drop's eviction of `victim` (from `early_drop_victim`).
    pub(super) fn evict(&mut self, victim: Victim) {
        self.remove_found(victim.slot, CloseReason::EarlyDrop, victim.cell);
    }

    /// Files whether the session in `slot` may be evicted at capacity, from its state now:
    /// called when it is created, changes state or sees its first reply.
    #[inline]
    pub(super) fn mark_evictable(&mut self, slot: u32) {
        let s = &self.records[slot as usize];
        let yes = is_unanswered(s);
        self.set_evictable(slot, yes);
    }

    #[inline]
    fn set_evictable(&mut self, slot: u32, yes: bool) {
        let (word, bit) = (slot as usize / 64, 1u64 << (slot % 64));
        if word >= self.evictable.len() {
            if !yes {
                return;
            }
            // Grows with the slab (one word per 64 slots), never per packet beyond that.
            self.evictable.resize(word + 1, 0);
        }
        if yes {
            self.evictable[word] |= bit;
        } else {
            self.evictable[word] &= !bit;
        }
    }

    #[inline]
    fn is_evictable(&self, slot: u32) -> bool {
        self.evictable
            .get(slot as usize / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    /// S8 early drop: the session to evict to make room for a new one whose key hashes to
    /// `hash`, if early drop is on. Never a table scan, two bounded, cache-resident looks:
    /// first the new key's neighbourhood in the index (the kernel's `early_drop` looks only
    /// in the new entry's bucket and the few after it), then, when none there qualifies (a
    /// table mostly established leaves a neighbourhood without an unanswered session now and
    /// then: at half established and half-loaded cells, 1 new session in 250), the next
    /// `SWEEP_WORDS` words of the evictable bitmap from where the last such look stopped.
    pub(super) fn early_drop_victim(&mut self, hash: u64) -> Option<Victim> {
        if !self.config.early_drop {
            return None;
        }
        self.neighbour_victim(hash).or_else(|| self.sweep_victim())
    }

    /// The first evictable slot in the next `SWEEP_WORDS` words of the bitmap from where the
    /// last sweep stopped.
    fn sweep_victim(&mut self) -> Option<Victim> {
        let words = self.evictable.len();
        for _ in 0..SWEEP_WORDS.min(words) {
            let w = self.sweep % words;
            self.sweep = (w + 1) % words;
            let bits = self.evictable[w];
            if bits != 0 {
                return Some(Victim {
                    slot: (w * 64) as u32 + bits.trailing_zeros(),
                    cell: None,
                });
            }
        }
        None
    }

    /// Advances the engine clock and deletes sessions whose aging time has passed, handling
    /// at most `budget` wheel entries (bounded pause). Returns the number deleted.
    pub fn expire(&mut self, now_ns: u64, budget: usize) -> usize {
        self.now_ms = self.now_ms.max(now_ns / 1_000_000);
        self.note_second();
        self.census.tick(self.now_ms);
        let now_ms = self.now_ms;
        let records = &self.records;
        let meta = &mut self.meta;
        let aging = &self.aging;
        let expired = &mut self.expired_scratch;
        expired.clear();
        let sync = self.config.sync;
        let refresh = &mut self.sync.pending;
        self.wheel.advance(now_ms / 1000, budget, |slot, deadline| {
            let (s, m) = (&records[slot as usize], &mut meta[slot as usize]);
            if !s.has(flag::LIVE) || m.wheel_deadline_s != deadline {
                return None; // stale entry: the slot was re-filed or freed
            }
            if aging.is_expired(s, now_ms) {
                m.wheel_deadline_s = 0; // any other entry of this slot is now stale
                expired.push(slot);
                return None;
            }
            let t = aging.timeout_ms(s);
            let mut next = if t == NEVER_MS {
                now_ms / 1000 + WHEEL_SPAN_S
            } else {
                (now_ms - age_ms(s, now_ms).min(now_ms) + t).div_ceil(1000)
            };
            if sync.enabled {
                // Every half aging time: the peer's copy is refreshed if the session saw
                // traffic in that half (image.rs), so it never ages out before ours.
                if age_ms(s, now_ms).saturating_mul(2) < t && sync.covers(s.app) {
                    refresh.push(Pending::Upsert {
                        slot,
                        generation: m.generation,
                    });
                }
                next = next.min(sync_refresh_at(now_ms / 1000, t));
            }
            let next = next.min(u64::from(u32::MAX)) as u32;
            m.wheel_deadline_s = next;
            Some(next)
        });
        let n = self.expired_scratch.len();
        for i in 0..n {
            let slot = self.expired_scratch[i];
            self.remove(slot, CloseReason::AgedOut);
        }
        // An unbounded turn (the end of a replay) may have listed the whole table.
        if self.expired_scratch.capacity() > EXPIRED_KEEP {
            self.expired_scratch.clear();
            self.expired_scratch.shrink_to(EXPIRED_KEEP);
        }
        n
    }

    /// Deletes every session for which `pred` holds (`reset session table`). Returns the count.
    pub fn reset_where(&mut self, mut pred: impl FnMut(&Session) -> bool) -> usize {
        let doomed: Vec<u32> = self
            .iter()
            .filter(|(_, s, _)| pred(s))
            .map(|(id, _, _)| id.slot)
            .collect();
        for &slot in &doomed {
            self.remove(slot, CloseReason::Reset);
        }
        doomed.len()
    }

    /// `reset session statistics`: the table, drop and received-packet counters start again
    /// from zero (live session counts stay true).
    pub fn reset_statistics(&mut self) {
        self.stats = ShardStats::default();
        self.drops = DropCounters::default();
        self.census.reset_statistics(self.now_ms);
    }

    /// At a new second of the engine clock, queues this core's totals and session count as
    /// they stood before it (the alarms' input). Per packet: one compare.
    #[inline]
    pub(super) fn note_second(&mut self) {
        if self.seconds.crossed(self.now_ms) {
            self.seconds
                .report(self.core, self.now_ms, self.live as u64);
        }
    }

    /// The second reports not yet taken, oldest first: replay's one-core path takes them
    /// after every batch (live cores send theirs as they go, `SecondClock::attach`).
    pub fn take_seconds(&mut self) -> impl Iterator<Item = crate::alarm::SecondTotals> + '_ {
        self.seconds.take()
    }

    /// The engine clock in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Bytes held by this shard's structures (records, metadata, index, wheel, free list).
    pub fn memory_bytes(&self) -> usize {
        self.records.capacity() * size_of::<Record>()
            + self.v6.memory_bytes()
            + self.meta.capacity() * size_of::<SlotMeta>()
            + self.index.capacity() * size_of::<u64>()
            + self.free.capacity() * 4
            + self.evictable.capacity() * 8
            + self.wheel.capacity_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::L4Track;
    use crate::proto::tcp::TcpState;
    use crate::proto::wire::{Family, ipproto};

    fn tcp_session(n: u32, state: TcpState, now_ms: u64) -> Session {
        let mut src = [0u8; 16];
        src[..4].copy_from_slice(&(0xc612_0000 | n).to_be_bytes());
        let mut dst = [0u8; 16];
        dst[..4].copy_from_slice(&[198, 19, 0, 1]);
        Session {
            key: FlowKey {
                src,
                dst,
                sport: 40_000,
                dport: 443,
                proto: ipproto::TCP,
                family: Family::V4,
                vpn: 0,
            },
            counters: Default::default(),
            last_seen_ms: now_ms as u32,
            persist_hours: 0,
            state: state as u8,
            app: 0,
            flags: flag::LIVE,
            l4: L4Track::None,
        }
    }

    /// Whenever a state change skips the wheel without reading the metadata, `schedule`
    /// would not have filed anything either: the wheel ends the same. Every pair of TCP
    /// states, changed after 0 to 5,000 s, with and without sync, and after the aging times
    /// were shortened while the sessions were live (the shortcut is then off).
    #[test]
    fn a_skipped_refile_is_one_schedule_would_skip_too() {
        for sync in [false, true] {
            for shorten in [false, true] {
                let mut config = TableConfig::default();
                config.sync.enabled = sync;
                let mut shard = Shard::new(0, config.clone(), FlowHasher::with_seed(1));
                shard.now_ms = 1_000_500;
                let mut n = 0;
                let mut slots = Vec::new();
                for old in TcpState::ALL {
                    for new in TcpState::ALL {
                        for later_s in [0u64, 1, 2, 29, 31, 1_799, 3_599, 5_000] {
                            n += 1;
                            let s = tcp_session(n, old, shard.now_ms);
                            let hash = shard.hasher.hash_canonical(&s.key);
                            slots.push((shard.insert(s, hash), old, new, later_s));
                        }
                    }
                }
                if shorten {
                    let mut c = config.clone();
                    for t in c.aging.state_s.iter_mut() {
                        *t = (*t / 10).max(1);
                    }
                    shard.set_config(c);
                    assert!(!shard.deadlines_current);
                }
                let start_ms = shard.now_ms;
                for (slot, old, new, later_s) in slots {
                    shard.now_ms = start_ms + later_s * 1000 + 300;
                    let r = &mut shard.records[slot as usize];
                    r.state = new as u8;
                    r.last_seen_ms = shard.now_ms as u32;
                    let (filed, entries) = (
                        shard.meta[slot as usize].wheel_deadline_s,
                        shard.wheel.len(),
                    );
                    shard.schedule_on_change(slot, old as u8);
                    let after = (
                        shard.meta[slot as usize].wheel_deadline_s,
                        shard.wheel.len(),
                    );
                    shard.schedule(slot);
                    let again = (
                        shard.meta[slot as usize].wheel_deadline_s,
                        shard.wheel.len(),
                    );
                    assert_eq!(
                        after, again,
                        "{old:?} -> {new:?} after {later_s} s (sync {sync}, shortened {shorten}): filed {filed}, {entries} entries before"
                    );
                }
            }
        }
    }
}

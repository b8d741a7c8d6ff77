//! Session images (H1, H2; issue #16): a session as it leaves this engine for another one
//! (stateful failover) or for the next run of this one (restart), and what the receiving
//! shard does with it.
//!
//! An image is everything the owner core needs to carry the connection on: the canonical key,
//! state, flags, application, persistent aging, the protocol's tracking words, the counters
//! and the time since its last packet. It is not the record: the receiving engine files it in
//! its own slot, on the core its own hash chooses, with its own clock.
//!
//! What a core reports while `session synchronization enable` is on (`Shard::take_sync`):
//! a session created, a state change (which changes its aging), a deletion, a relation entry
//! published, and, every half aging time, each session that saw traffic in that half (so the
//! peer's copy never ages out before this engine's; pfsync refreshes its states the same
//! way). Not every packet. A claimed relation entry crosses as the data session that claimed
//! it (flag `EXPECTED`: the receiver claims its copy); an expired one expires on the peer by
//! the same deadline.

use super::relation::{EntryTerms, RelationEntry};
use super::session::{DirCounters, Session, flag};
use super::shard::{Pending, Shard};
use crate::alg::expect::RelationSpec;
use crate::proto::key::FlowKey;
use crate::proto::{L4Track, TrackWords};

/// The flags an image carries: how the session was made and what it has seen. `LIVE` and
/// `LOGGED` belong to the slot that holds it.
pub const IMAGE_FLAGS: u8 =
    flag::ORIG_SWAPPED | flag::SEEN_REPLY | flag::PERSISTENT | flag::EXPECTED | flag::ALG;

/// One session, as it crosses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionImage {
    /// The canonical key (`FlowKey::canonical`).
    pub key: FlowKey,
    /// `IMAGE_FLAGS` bits.
    pub flags: u8,
    pub state: u8,
    pub app: u8,
    pub persist_hours: u16,
    pub l4: TrackWords,
    pub counters: [DirCounters; 2],
    /// Milliseconds since its last packet, when the image was taken.
    pub age_ms: u32,
}

/// One relation entry, as it crosses: its master named by key (a session id means nothing
/// on another engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationImage {
    pub spec: RelationSpec,
    /// The master's canonical key.
    pub master: FlowKey,
    pub alg: u8,
    pub class: u8,
    /// Milliseconds left, when the image was taken.
    pub ttl_ms: u32,
    pub tag: u32,
    pub permanent: bool,
}

/// What a core reports, and what a receiving core applies, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncItem {
    /// Created, changed or refreshed: install or update.
    Session(SessionImage),
    /// Deleted (aged out, closed, reset): by canonical key.
    Delete(FlowKey),
    Relation(RelationImage),
}

impl SyncItem {
    /// The addresses that choose the owner core (`io::owner_core`), with their length.
    pub fn owner_addresses(&self) -> (&[u8], &[u8]) {
        let k = match self {
            SyncItem::Session(s) => &s.key,
            SyncItem::Delete(k) => k,
            SyncItem::Relation(r) => &r.master,
        };
        let n = match k.family {
            crate::proto::wire::Family::V4 => 4,
            crate::proto::wire::Family::V6 => 16,
        };
        (&k.src[..n], &k.dst[..n])
    }
}

/// What installing an image did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    Created,
    Updated,
    /// Already gone: its aging time passed while it travelled (a restart's long pause).
    Expired,
    /// The table is at capacity.
    Full,
}

impl Shard {
    /// The image of the session in `slot`, if one lives there.
    pub fn image(&self, slot: u32) -> Option<SessionImage> {
        let s = self.session(slot)?;
        Some(SessionImage {
            key: s.key,
            flags: s.flags & IMAGE_FLAGS,
            state: s.state,
            app: s.app,
            persist_hours: s.persist_hours,
            l4: s.l4.to_words(),
            counters: s.counters,
            age_ms: super::aging::age_ms(&self.records[slot as usize], self.now_ms)
                .min(u64::from(u32::MAX)) as u32,
        })
    }

    /// Bulk synchronization and the state file: the images of the sessions in slots
    /// `from .. from + slots` that the synchronization scope covers (`all`: every session,
    /// for a restart). Returns where the next page starts, `None` at the end.
    pub fn export_page(
        &self,
        from: usize,
        slots: usize,
        all: bool,
        out: &mut Vec<SyncItem>,
    ) -> Option<usize> {
        let end = self.records.len();
        let to = from.saturating_add(slots).min(end);
        for slot in from..to {
            let r = &self.records[slot];
            if r.has(flag::LIVE)
                && (all || self.config.sync.covers(r.app))
                && let Some(img) = self.image(slot as u32)
            {
                out.push(SyncItem::Session(img));
            }
        }
        (to < end).then_some(to)
    }

    /// The relation entries whose masters live on this core, as images.
    pub fn export_relations(&self, out: &mut Vec<SyncItem>) {
        let Some(t) = self.algs.relations() else {
            return;
        };
        let now = self.now_ms;
        for e in t.entries(None) {
            if let Some(img) = self.relation_image(&e, now) {
                out.push(SyncItem::Relation(img));
            }
        }
    }

    fn relation_image(&self, e: &RelationEntry, now_ms: u64) -> Option<RelationImage> {
        if e.master.core != self.core {
            return None;
        }
        let (master, _) = self.get(e.master)?;
        let ttl = e.expires_ms.saturating_sub(now_ms);
        (ttl > 0).then(|| RelationImage {
            spec: e.spec,
            master: master.key,
            alg: e.alg,
            class: e.class,
            ttl_ms: ttl.min(u64::from(u32::MAX)) as u32,
            tag: e.tag,
            permanent: e.permanent,
        })
    }

    /// Turns the changes noted since the last call into items, in order, appended to `out`.
    /// A session created and deleted since then crosses as its deletion alone.
    pub fn take_sync(&mut self, out: &mut Vec<SyncItem>) {
        let pending = std::mem::take(&mut self.sync.pending);
        for p in &pending {
            match *p {
                Pending::Upsert { slot, generation } => {
                    if self.meta.get(slot as usize).map(|m| m.generation) == Some(generation)
                        && let Some(img) = self.image(slot)
                    {
                        out.push(SyncItem::Session(img));
                    }
                }
                Pending::Delete(k) => out.push(SyncItem::Delete(k)),
            }
        }
        // Give the buffer back (its capacity is reused; a reset's burst is not kept).
        let mut pending = pending;
        pending.clear();
        if pending.capacity() <= 4096 {
            self.sync.pending = pending;
        }
        let now = self.now_ms;
        let entries: Vec<RelationEntry> = self.algs.take_for_sync().collect();
        for e in &entries {
            if let Some(img) = self.relation_image(e, now) {
                out.push(SyncItem::Relation(img));
            }
        }
    }

    /// Notes a change for the peer (from `emit`), if synchronization covers the session.
    #[inline]
    pub(super) fn note_sync(&mut self, slot: u32, deleted: bool) {
        if !self.config.sync.enabled || self.sync.quiet {
            return;
        }
        let r = &self.records[slot as usize];
        if !self.config.sync.covers(r.app) {
            return;
        }
        self.sync.pending.push(if deleted {
            Pending::Delete(r.key(&self.v6))
        } else {
            Pending::Upsert {
                slot,
                generation: self.meta[slot as usize].generation,
            }
        });
    }

    /// Installs a session a peer or an earlier run sent, as if it had been seen `age_ms` ago;
    /// updates it if this shard already holds it. A TCP session's windows are as old as the
    /// image, so both its sides skip the window checks from now on (`TcpTrack::pick_up`).
    /// A control session gets its ALG back (it follows from the next message on); a data
    /// session claims this engine's copy of the entry it was created from.
    pub fn install(&mut self, img: &SessionImage, age_ms: u64) -> Installed {
        let mut l4 = L4Track::from_words(img.key.proto, &img.l4);
        if let L4Track::Tcp(t) = &mut l4 {
            t.pick_up();
        }
        let session = Session {
            key: img.key,
            counters: img.counters,
            last_seen_ms: self.now_ms.wrapping_sub(age_ms) as u32,
            persist_hours: img.persist_hours,
            state: img.state,
            app: img.app,
            flags: flag::LIVE | (img.flags & IMAGE_FLAGS & !flag::ALG),
            l4,
        };
        if self.config.aging.timeout_ms(&session) <= age_ms {
            return Installed::Expired;
        }
        let quiet = std::mem::replace(&mut self.sync.quiet, true);
        let hash = self.hasher.hash_canonical(&img.key);
        let out = match self.find(&img.key, hash) {
            Some(slot) => {
                self.update_installed(slot, &session);
                Installed::Updated
            }
            None if self.live >= self.config.capacity => Installed::Full,
            None => {
                let slot = self.insert(session, hash);
                let orig = session.orig_key();
                if img.flags & flag::EXPECTED != 0 {
                    // The entry this data session claimed on the peer goes here too.
                    let _ = self.algs.claim(&orig, self.now_ms);
                    // A PPTP call's GRE: its packets carry one call ID each; the map gives
                    // the other.
                    if orig.proto == crate::proto::wire::ipproto::GRE
                        && orig.sport != 0
                        && orig.dport != 0
                    {
                        self.algs.gre_adopt(slot, &orig);
                    }
                }
                if img.flags & flag::ALG != 0 {
                    let extra = self
                        .algs
                        .on_new(slot, &orig, img.app, self.config.algs, None);
                    self.records[slot as usize].flags |= extra & flag::ALG;
                }
                Installed::Created
            }
        };
        self.sync.quiet = quiet;
        out
    }

    fn update_installed(&mut self, slot: u32, s: &Session) {
        let old = self.records[slot as usize];
        if old.state != s.state {
            self.census
                .change(old.family(), old.proto, old.state, s.state);
        }
        let r = &mut self.records[slot as usize];
        r.state = s.state;
        r.app = s.app;
        r.persist_hours = s.persist_hours;
        r.last_seen_ms = s.last_seen_ms;
        r.l4 = s.l4.to_words();
        // The slot's own marks stay (live, logged, followed by an ALG here).
        r.flags =
            (r.flags & !IMAGE_FLAGS) | (s.flags & IMAGE_FLAGS & !flag::ALG) | (r.flags & flag::ALG);
        self.meta[slot as usize].counters = s.counters.map(super::record::PackedCounters::of);
        self.schedule(slot);
        self.mark_evictable(slot);
    }

    /// Deletes the session with canonical key `key` (the peer deleted it). `true` if it was
    /// here.
    pub fn uninstall(&mut self, key: &FlowKey) -> bool {
        let hash = self.hasher.hash_canonical(key);
        let Some(slot) = self.find(key, hash) else {
            return false;
        };
        let quiet = std::mem::replace(&mut self.sync.quiet, true);
        self.remove(slot, super::events::CloseReason::Closed);
        self.sync.quiet = quiet;
        true
    }

    /// Files a relation entry a peer or an earlier run sent, for its master on this core.
    /// `false`: the master is not here (not synchronized, or gone) or the table is full.
    pub fn install_relation(&mut self, r: &RelationImage) -> bool {
        let hash = self.hasher.hash_canonical(&r.master);
        let Some(slot) = self.find(&r.master, hash) else {
            return false;
        };
        let master = self.id_of(slot);
        let terms = EntryTerms {
            tag: r.tag,
            permanent: r.permanent,
        };
        let now = self.now_ms;
        self.algs.adopt_entry(
            r.spec,
            master,
            r.alg,
            r.class,
            u64::from(r.ttl_ms),
            terms,
            now,
        )
    }

    /// Moves the engine clock to `now_ns` (never back) without expiring anything: a restore
    /// stamps its sessions on the clock the first packets will bring.
    pub fn set_clock(&mut self, now_ns: u64) {
        self.now_ms = self.now_ms.max(now_ns / 1_000_000);
    }
}

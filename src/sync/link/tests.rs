use super::*;
use crate::proto::key::FlowKey;
use crate::proto::wire::Family;
use crate::table::image::SessionImage;

fn cfg(role: Role) -> LinkConfig {
    LinkConfig {
        key: b"k".to_vec(),
        role,
        keepalive_ms: 100,
        keepalive_count: 8,
    }
}

fn item(i: u32) -> SyncItem {
    let mut src = [0u8; 16];
    src[..4].copy_from_slice(&i.to_be_bytes());
    SyncItem::Session(SessionImage {
        key: FlowKey {
            src,
            dst: [0; 16],
            sport: 1,
            dport: 2,
            proto: 17,
            family: Family::V4,
            vpn: 0,
        },
        flags: 0,
        state: 1,
        app: 0,
        persist_hours: 0,
        l4: [0; 10],
        counters: Default::default(),
        age_ms: 0,
    })
}

/// Two links joined by a lossy in-memory wire; `drop` decides which datagrams from A vanish.
struct Pair {
    a: Link,
    b: Link,
    now: u64,
    applied_b: Vec<SyncItem>,
    a_actions: Vec<Action>,
    b_actions: Vec<Action>,
    sent_by_a: u64,
}

impl Pair {
    fn new() -> Pair {
        Pair {
            a: Link::new(cfg(Role::Primary), 10, 0),
            b: Link::new(cfg(Role::Secondary), 20, 0),
            now: 0,
            applied_b: Vec::new(),
            a_actions: Vec::new(),
            b_actions: Vec::new(),
            sent_by_a: 0,
        }
    }

    /// One 10 ms step; A's datagrams for which `lose(n)` holds are lost.
    fn step(&mut self, lose: &mut dyn FnMut(u64) -> bool, b_alive: bool) {
        self.now += 10;
        let mut aa = Vec::new();
        self.a.poll(self.now, &mut aa);
        let mut ba = Vec::new();
        if b_alive {
            self.b.poll(self.now, &mut ba);
        }
        let mut rounds = 0;
        while (!aa.is_empty() || !ba.is_empty()) && rounds < 8 {
            rounds += 1;
            let mut next_a = Vec::new();
            let mut next_b = Vec::new();
            for x in aa.drain(..) {
                if let Action::Send(d) = &x {
                    self.sent_by_a += 1;
                    if b_alive && !lose(self.sent_by_a) {
                        self.b.on_datagram(d, self.now, &mut next_b);
                    }
                }
                self.a_actions.push(x);
            }
            for x in ba.drain(..) {
                match &x {
                    Action::Send(d) => self.a.on_datagram(d, self.now, &mut next_a),
                    Action::Apply(items) => self.applied_b.extend(items.iter().cloned()),
                    Action::ClearCopy => self.applied_b.clear(),
                    Action::StartBulk => {}
                    _ => {}
                }
                self.b_actions.push(x);
            }
            aa = next_a;
            ba = next_b;
        }
    }

    fn run(&mut self, ms: u64, lose: &mut dyn FnMut(u64) -> bool) {
        for _ in 0..ms / 10 {
            self.step(lose, true);
        }
    }
}

#[test]
fn primary_becomes_active_and_secondary_standby() {
    let mut p = Pair::new();
    p.run(300, &mut |_| false);
    assert_eq!(p.a.status(), Status::Active);
    assert_eq!(p.b.status(), Status::Standby);
    assert!(
        p.a_actions.contains(&Action::StartBulk),
        "the standby asked for a bulk"
    );
}

#[test]
fn every_change_arrives_in_order_despite_loss() {
    let mut p = Pair::new();
    p.run(300, &mut |_| false);
    // Serve the bulk (empty table).
    p.a.begin_bulk();
    p.a.end_bulk();
    p.run(200, &mut |_| false);
    assert!(!p.b.awaiting_bulk());
    let items: Vec<SyncItem> = (0..5000).map(item).collect();
    p.a.queue(items.clone(), p.now);
    // Lose every 7th datagram from A for a while.
    p.run(3000, &mut |n| n % 7 == 0);
    p.run(1000, &mut |_| false);
    assert_eq!(p.applied_b, items);
    assert!(p.a.counters.retransmitted > 0);
    assert_eq!(p.a.unacked(), 0);
}

#[test]
fn the_standby_takes_over_when_the_active_falls_silent() {
    let mut p = Pair::new();
    p.run(300, &mut |_| false);
    assert_eq!(p.b.status(), Status::Standby);
    // A dies: B hears nothing.
    let mut actions = Vec::new();
    let t0 = p.now;
    let mut t = t0;
    while p.b.status() != Status::Active && t < t0 + 5000 {
        t += 10;
        p.b.poll(t, &mut actions);
    }
    assert_eq!(p.b.status(), Status::Active);
    assert!(t - t0 <= 810, "took over after {} ms", t - t0);
    assert_eq!(p.b.counters.takeovers, 1);
}

#[test]
fn a_restarted_primary_rejoins_as_standby_and_asks_for_the_bulk() {
    let mut p = Pair::new();
    p.run(300, &mut |_| false);
    // A dies; B takes over.
    for _ in 0..100 {
        p.step(&mut |_| true, true);
    }
    assert_eq!(p.b.status(), Status::Active);
    // A comes back with a new epoch.
    p.a = Link::new(cfg(Role::Primary), 11, p.now);
    p.b_actions.clear();
    p.run(300, &mut |_| false);
    assert_eq!(p.a.status(), Status::Standby);
    assert_eq!(p.b.status(), Status::Active);
    assert!(p.b_actions.contains(&Action::StartBulk));
    assert!(p.b.counters.peer_restarts >= 1);
}

#[test]
fn replays_and_old_epochs_are_refused() {
    let mut b = Link::new(cfg(Role::Secondary), 20, 0);
    let mut a = Link::new(cfg(Role::Primary), 10, 0);
    let mut out = Vec::new();
    a.poll(100, &mut out);
    let hello = match &out[0] {
        Action::Send(d) => d.clone(),
        _ => unreachable!(),
    };
    let mut acts = Vec::new();
    b.on_datagram(&hello, 100, &mut acts);
    b.on_datagram(&hello, 110, &mut acts);
    assert_eq!(b.counters.replayed, 1);
    // A restarts (epoch 12), then the old run's hello is replayed.
    let mut a2 = Link::new(cfg(Role::Primary), 12, 200);
    let mut out2 = Vec::new();
    a2.poll(300, &mut out2);
    if let Action::Send(d) = &out2[0] {
        b.on_datagram(d, 300, &mut acts);
    }
    b.on_datagram(&hello, 310, &mut acts);
    assert_eq!(b.counters.stale_epoch, 1);
    // A wrong key and garbage.
    let mut c = Link::new(
        LinkConfig {
            key: b"other".to_vec(),
            ..cfg(Role::Primary)
        },
        30,
        0,
    );
    let mut out3 = Vec::new();
    c.poll(400, &mut out3);
    if let Action::Send(d) = &out3[0] {
        b.on_datagram(d, 400, &mut acts);
    }
    b.on_datagram(b"garbage", 400, &mut acts);
    assert_eq!(b.counters.refused_total(), 1 + 1 + 2);
}

#[test]
fn of_two_active_engines_the_later_claim_stays() {
    let mut p = Pair::new();
    p.run(300, &mut |_| false);
    let mut acts = Vec::new();
    p.now += 1000;
    p.b.switchover(Status::Active, p.now, &mut acts);
    p.run(300, &mut |_| false);
    assert_eq!(p.b.status(), Status::Active);
    assert_eq!(p.a.status(), Status::Standby);
}

use super::*;
use proptest::prelude::*;

const KEY: &[u8] = b"shared secret";

fn v4(a: [u8; 4]) -> Addr {
    let mut x = [0u8; 16];
    x[..4].copy_from_slice(&a);
    x
}

fn session(i: u32) -> SessionImage {
    SessionImage {
        key: FlowKey {
            src: v4([198, 18, 0, 1]),
            dst: v4([198, 18, 1, (i % 250) as u8]),
            sport: 40000 + (i % 1000) as u16,
            dport: 80,
            proto: 6,
            family: Family::V4,
            vpn: 0,
        },
        flags: crate::table::session::flag::SEEN_REPLY,
        state: 3,
        app: 7,
        persist_hours: 0,
        l4: [i, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        counters: [
            DirCounters {
                packets: 10,
                bytes: 1000,
            },
            DirCounters {
                packets: 8,
                bytes: 90_000,
            },
        ],
        age_ms: 1234,
    }
}

fn data(items: Vec<SyncItem>) -> Message {
    Message {
        epoch: 77,
        seq: 5,
        ack: 3,
        body: Body::Data(items),
    }
}

#[test]
fn items_round_trip() {
    let rel = RelationImage {
        spec: RelationSpec {
            family: Family::V4,
            proto: 6,
            src: None,
            sport: Some(20),
            dst: v4([198, 18, 0, 1]),
            dport: 5001,
            vpn: 0,
            app: 9,
        },
        master: session(1).key,
        alg: 0,
        class: 0,
        ttl_ms: 120_000,
        tag: 0,
        permanent: false,
    };
    let items = vec![
        SyncItem::Session(session(1)),
        SyncItem::Delete(session(2).key),
        SyncItem::Relation(rel),
    ];
    let mut out = Vec::new();
    encode(KEY, &data(items.clone()), &mut out);
    let (m, marker) = decode(KEY, &out).unwrap();
    assert_eq!(marker, None);
    assert_eq!(m, data(items));
}

/// `item_len` (what fills a datagram) is what `put_item` writes, for every kind and family.
#[test]
fn item_len_is_the_encoded_length() {
    let mut v6 = session(7);
    v6.key.family = Family::V6;
    v6.key.src = [0x20; 16];
    let mut no_words = session(8);
    no_words.l4 = [0; 10];
    let rel = RelationImage {
        spec: RelationSpec {
            family: Family::V4,
            proto: 6,
            src: None,
            sport: None,
            dst: v4([198, 18, 0, 1]),
            dport: 5001,
            vpn: 0,
            app: 9,
        },
        master: session(1).key,
        alg: 0,
        class: 0,
        ttl_ms: 1,
        tag: 2,
        permanent: true,
    };
    for i in [
        SyncItem::Session(session(1)),
        SyncItem::Session(v6),
        SyncItem::Session(no_words),
        SyncItem::Delete(v6.key),
        SyncItem::Relation(rel),
    ] {
        let mut out = Vec::new();
        write_item(&i, &mut out);
        assert_eq!(item_len(&i), out.len(), "{i:?}");
    }
}

#[test]
fn hello_and_nack_round_trip() {
    for body in [
        Body::Hello(Hello {
            status: Status::Standby,
            role: Role::Secondary,
            sessions: 100_000_000,
            bulk_request: 3,
            claim: 0,
        }),
        Body::Nack {
            first: 17,
            count: 4,
        },
    ] {
        let msg = Message {
            epoch: 1,
            seq: 2,
            ack: 0,
            body,
        };
        let mut out = Vec::new();
        encode(KEY, &msg, &mut out);
        assert_eq!(decode(KEY, &out).unwrap().0, msg);
    }
}

#[test]
fn markers_round_trip() {
    for m in [Marker::BulkStart, Marker::BulkEnd] {
        let mut out = Vec::new();
        encode_marker(KEY, 9, 4, 2, m, &mut out);
        let (msg, marker) = decode(KEY, &out).unwrap();
        assert_eq!(marker, Some(m));
        assert_eq!((msg.epoch, msg.seq, msg.ack), (9, 4, 2));
    }
}

#[test]
fn a_wrong_key_or_a_changed_byte_is_refused() {
    let mut out = Vec::new();
    encode(KEY, &data(vec![SyncItem::Session(session(3))]), &mut out);
    assert_eq!(decode(b"other key", &out), Err(Refusal::BadMac));
    for i in 8..out.len() {
        let mut bad = out.clone();
        bad[i] ^= 0x40;
        assert_eq!(decode(KEY, &bad), Err(Refusal::BadMac), "byte {i}");
    }
    let mut bad = out.clone();
    bad[0] = b'X';
    assert_eq!(decode(KEY, &bad), Err(Refusal::BadMagic));
    let mut bad = out.clone();
    bad[4] = 2;
    assert_eq!(decode(KEY, &bad), Err(Refusal::BadVersion));
}

#[test]
fn every_truncation_is_refused() {
    let mut out = Vec::new();
    encode(KEY, &data(vec![SyncItem::Session(session(4))]), &mut out);
    for n in 0..out.len() {
        assert!(decode(KEY, &out[..n]).is_err(), "{n} bytes");
    }
}

/// A body that lies about its items under a good MAC (a buggy peer) is refused, not misread.
#[test]
fn a_signed_body_that_lies_is_refused() {
    let mut out = Vec::new();
    encode(KEY, &data(vec![SyncItem::Session(session(5))]), &mut out);
    // Cut the last item short and sign again.
    out.truncate(out.len() - MAC_LEN - 3);
    let body = (out.len() - HEADER) as u16;
    out[32..34].copy_from_slice(&body.to_be_bytes());
    let m = mac(KEY, &out);
    out.extend_from_slice(&m);
    assert_eq!(decode(KEY, &out), Err(Refusal::BadItem));
}

proptest! {
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
        let _ = decode(KEY, &bytes);
        let _ = read_items(&bytes);
    }

    #[test]
    fn sessions_round_trip(n in 1usize..12, seed in any::<u32>()) {
        let items: Vec<SyncItem> = (0..n as u32).map(|i| SyncItem::Session(session(seed.wrapping_add(i)))).collect();
        let mut out = Vec::new();
        encode(KEY, &data(items.clone()), &mut out);
        prop_assert!(out.len() <= MAX_DATAGRAM);
        prop_assert_eq!(decode(KEY, &out).unwrap().0, data(items));
    }
}

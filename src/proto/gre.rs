//! Enhanced GRE (RFC 2637 §4.1, GRE version 1): the PPTP data channel, keyed by call ID.
//!
//! A PPTP tunnel carries PPP in GRE whose Key field holds, in its low 16 bits, the call ID of
//! the side that *receives* the packet (the high 16 bits are the payload length). Two calls
//! between the same two hosts differ only there, so, as the kernel's
//! `nf_conntrack_proto_gre` does, session management keys these packets by call ID instead
//! of ports: the receiver's call ID takes the destination port's place, the sender's the
//! source port's. A packet does not carry the sender's call ID; it comes from the PPTP ALG's
//! call (the kernel's "keymap", `table::algs`). Plain GRE (version 0, RFC 2784) and anything
//! else that is not PPP in enhanced GRE stay raw IP, tracked by addresses alone.

/// GRE version 1 (RFC 2637 §4.1: "Version: Must contain 1 (enhanced GRE)").
pub const VERSION_ENHANCED: u8 = 1;
/// The protocol type of PPP (RFC 2637 §4.1: 0x880B).
pub const PROTO_PPP: u16 = 0x880b;
/// Flag bits of the header's first byte (RFC 2637 §4.1): checksum, routing, key, sequence,
/// strict source route.
const FLAG_C: u8 = 0x80;
const FLAG_R: u8 = 0x40;
const FLAG_K: u8 = 0x20;
const FLAG_SS: u8 = 0x08;
/// The recursion control bits of the first byte.
const RECUR: u8 = 0x07;

/// What session management reads of an enhanced GRE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreHeader {
    /// The call ID of the packet's receiver (the peer's call ID, RFC 2637 §4.1).
    pub call_id: u16,
}

/// The enhanced GRE header of a GRE payload, if it is one: version 1, protocol PPP, the Key
/// present, and the bits RFC 2637 §4.1 says must be zero (C, R, s, recursion) clear. Anything
/// else (plain GRE, a malformed or truncated header) is `None` and stays raw IP, as the
/// kernel's GRE tracker treats every version other than 1 as generic.
#[inline]
pub fn parse(seg: &[u8]) -> Option<GreHeader> {
    let h = seg.first_chunk::<8>()?;
    let (flags, version) = (h[0], h[1] & 0x07);
    if version != VERSION_ENHANCED
        || flags & (FLAG_C | FLAG_R | FLAG_SS | RECUR) != 0
        || flags & FLAG_K == 0
        || u16::from_be_bytes([h[2], h[3]]) != PROTO_PPP
    {
        return None;
    }
    Some(GreHeader {
        call_id: u16::from_be_bytes([h[6], h[7]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The GRE header of frame 16 of tcpdump-pptp.pcap (pptpd): K and S set, version 1 with
    /// A clear, PPP, payload length 0x20, call ID 0, sequence number 0.
    const PPTPD: [u8; 12] = [0x30, 0x01, 0x88, 0x0b, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0];

    #[test]
    fn enhanced_gre_gives_the_receivers_call_id() {
        assert_eq!(parse(&PPTPD), Some(GreHeader { call_id: 0 }));
        let mut with_ack = PPTPD;
        with_ack[1] = 0x81;
        with_ack[6..8].copy_from_slice(&0x2debu16.to_be_bytes());
        assert_eq!(parse(&with_ack), Some(GreHeader { call_id: 0x2deb }));
    }

    #[test]
    fn plain_or_malformed_gre_is_not_keyed() {
        // RFC 2784 GRE carrying IPv4: version 0.
        assert_eq!(parse(&[0, 0, 0x08, 0x00, 0, 0, 0, 0]), None);
        let cases: [(usize, u8); 4] = [(0, 0x20 | 0x80), (0, 0x10), (2, 0x08), (0, 0x31)];
        for (at, byte) in cases {
            let mut h = PPTPD;
            h[at] = byte;
            assert_eq!(parse(&h), None, "byte {at} = {byte:#x}");
        }
        assert_eq!(parse(&PPTPD[..7]), None);
        assert_eq!(parse(&[]), None);
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panic(b in proptest::collection::vec(any::<u8>(), 0..32)) {
            if let Some(h) = parse(&b) {
                prop_assert_eq!(h.call_id, u16::from_be_bytes([b[6], b[7]]));
                prop_assert_eq!(b[1] & 7, VERSION_ENHANCED);
            }
        }
    }
}

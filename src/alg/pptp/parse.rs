//! PPTP control messages (RFC 2637 §2): the fields the ALG reads, each message checked
//! against its fixed size before a field is read.
//!
//! Every control message opens with the same 12 bytes (§2.1): Length, PPTP Message Type (1 =
//! control message), Magic Cookie 0x1A2B3C4D, Control Message Type, Reserved0. The message
//! table below gives each Control Message Type its name and its fixed length; the framing
//! (`alg::frame`) has already cut the stream at the Length field.

/// The Magic Cookie (RFC 2637 §2.1).
pub const MAGIC_COOKIE: [u8; 4] = [0x1a, 0x2b, 0x3c, 0x4d];
/// PPTP Message Type of a control message (§2.1; 2, management, is not used).
const CONTROL_MESSAGE: u16 = 1;
/// The common header's length.
pub const HEADER_LEN: usize = 12;
/// The longest control message (Incoming-Call-Request, §2.9: 220 bytes); a Length beyond a
/// small multiple of it is not PPTP.
pub const MAX_MESSAGE: usize = 1024;
/// Result Code 1 of Start-Control-Connection-Reply, Stop-Control-Connection-Reply,
/// Outgoing-Call-Reply and Incoming-Call-Reply: success / connected (§2.2, §2.4, §2.8, §2.10).
pub const RESULT_OK: u8 = 1;

/// The control messages (RFC 2637 §2), by Control Message Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Kind {
    StartControlConnectionRequest = 1,
    StartControlConnectionReply = 2,
    StopControlConnectionRequest = 3,
    StopControlConnectionReply = 4,
    EchoRequest = 5,
    EchoReply = 6,
    OutgoingCallRequest = 7,
    OutgoingCallReply = 8,
    IncomingCallRequest = 9,
    IncomingCallReply = 10,
    IncomingCallConnected = 11,
    CallClearRequest = 12,
    CallDisconnectNotify = 13,
    WanErrorNotify = 14,
    SetLinkInfo = 15,
}

/// Who may send a message: the PNS (the control connection's client here, as the kernel's
/// helper assumes), the PAC, or either (§2: each message's description says who sends it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Pns,
    Pac,
    Either,
}

/// Per Control Message Type (index = type - 1): the message, its name, its fixed length
/// (RFC 2637 §2.2-2.16) and who sends it.
const TABLE: [(Kind, &str, usize, Sender); 15] = [
    (
        Kind::StartControlConnectionRequest,
        "Start-Control-Connection-Request",
        156,
        Sender::Either,
    ),
    (
        Kind::StartControlConnectionReply,
        "Start-Control-Connection-Reply",
        156,
        Sender::Either,
    ),
    (
        Kind::StopControlConnectionRequest,
        "Stop-Control-Connection-Request",
        16,
        Sender::Either,
    ),
    (
        Kind::StopControlConnectionReply,
        "Stop-Control-Connection-Reply",
        16,
        Sender::Either,
    ),
    (Kind::EchoRequest, "Echo-Request", 16, Sender::Either),
    (Kind::EchoReply, "Echo-Reply", 20, Sender::Either),
    (
        Kind::OutgoingCallRequest,
        "Outgoing-Call-Request",
        168,
        Sender::Pns,
    ),
    (
        Kind::OutgoingCallReply,
        "Outgoing-Call-Reply",
        32,
        Sender::Pac,
    ),
    (
        Kind::IncomingCallRequest,
        "Incoming-Call-Request",
        220,
        Sender::Pac,
    ),
    (
        Kind::IncomingCallReply,
        "Incoming-Call-Reply",
        24,
        Sender::Pns,
    ),
    (
        Kind::IncomingCallConnected,
        "Incoming-Call-Connected",
        28,
        Sender::Pac,
    ),
    (
        Kind::CallClearRequest,
        "Call-Clear-Request",
        16,
        Sender::Pns,
    ),
    (
        Kind::CallDisconnectNotify,
        "Call-Disconnect-Notify",
        148,
        Sender::Pac,
    ),
    (Kind::WanErrorNotify, "WAN-Error-Notify", 40, Sender::Pac),
    (Kind::SetLinkInfo, "Set-Link-Info", 24, Sender::Either),
];

impl Kind {
    fn row(self) -> &'static (Kind, &'static str, usize, Sender) {
        &TABLE[self as usize - 1]
    }

    pub fn name(self) -> &'static str {
        self.row().1
    }

    /// The message's fixed length (RFC 2637 §2).
    pub fn fixed_len(self) -> usize {
        self.row().2
    }

    pub fn sender(self) -> Sender {
        self.row().3
    }
}

/// Why a control message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PptpError {
    /// Shorter than the common header, or than its type's fixed length.
    TooShort,
    /// The Length field does not say the message's length.
    BadLength,
    /// PPTP Message Type other than 1 (control).
    NotControl,
    /// No Magic Cookie.
    BadCookie,
    /// A Control Message Type RFC 2637 does not define.
    UnknownType,
}

impl PptpError {
    pub const ALL: [PptpError; 5] = [
        PptpError::TooShort,
        PptpError::BadLength,
        PptpError::NotControl,
        PptpError::BadCookie,
        PptpError::UnknownType,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            PptpError::TooShort => "too-short",
            PptpError::BadLength => "bad-length",
            PptpError::NotControl => "not-control",
            PptpError::BadCookie => "bad-cookie",
            PptpError::UnknownType => "unknown-type",
        }
    }
}

/// A control message: its type and the fields the ALG reads (what each is depends on the
/// type; unused ones are 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    pub kind: Kind,
    /// Call ID (Outgoing-Call-Request/Reply, Incoming-Call-Request/Reply, Call-Clear-Request,
    /// Call-Disconnect-Notify), or Peer's Call ID (Incoming-Call-Connected, WAN-Error-Notify,
    /// Set-Link-Info): the 16 bits after the header.
    pub call_id: u16,
    /// Peer's Call ID (Outgoing-Call-Reply, Incoming-Call-Reply).
    pub peer_call_id: u16,
    /// Result Code (Start/Stop-Control-Connection-Reply, Outgoing-Call-Reply,
    /// Incoming-Call-Reply, Call-Disconnect-Notify).
    pub result: u8,
}

fn be16(m: &[u8], at: usize) -> u16 {
    m.get(at..at + 2)
        .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
}

/// Reads one whole control message.
pub fn parse(m: &[u8]) -> Result<Message, PptpError> {
    if m.len() < HEADER_LEN {
        return Err(PptpError::TooShort);
    }
    if usize::from(be16(m, 0)) != m.len() {
        return Err(PptpError::BadLength);
    }
    if be16(m, 2) != CONTROL_MESSAGE {
        return Err(PptpError::NotControl);
    }
    if m[4..8] != MAGIC_COOKIE {
        return Err(PptpError::BadCookie);
    }
    let ty = usize::from(be16(m, 8));
    let &(kind, _, len, _) = ty
        .checked_sub(1)
        .and_then(|i| TABLE.get(i))
        .ok_or(PptpError::UnknownType)?;
    // RFC 2637 gives every message a fixed length; a longer one (vendor padding) is read
    // for its fixed part.
    if m.len() < len {
        return Err(PptpError::TooShort);
    }
    let (call_id, peer_call_id, result) = match kind {
        Kind::StartControlConnectionReply => (0, 0, m[14]),
        Kind::StopControlConnectionReply => (0, 0, m[12]),
        Kind::OutgoingCallReply | Kind::IncomingCallReply => (be16(m, 12), be16(m, 14), m[16]),
        Kind::CallDisconnectNotify => (be16(m, 12), 0, m[14]),
        Kind::OutgoingCallRequest
        | Kind::IncomingCallRequest
        | Kind::IncomingCallConnected
        | Kind::CallClearRequest
        | Kind::WanErrorNotify
        | Kind::SetLinkInfo => (be16(m, 12), 0, 0),
        Kind::StartControlConnectionRequest
        | Kind::StopControlConnectionRequest
        | Kind::EchoRequest
        | Kind::EchoReply => (0, 0, 0),
    };
    Ok(Message {
        kind,
        call_id,
        peer_call_id,
        result,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A message of type `ty` at its fixed length with the 16-bit fields `words` from byte 12
    /// on (the shape the captures' messages have).
    pub(crate) fn message(ty: u16, words: &[u16]) -> Vec<u8> {
        let len = TABLE[usize::from(ty) - 1].2;
        let mut m = vec![0u8; len];
        m[..2].copy_from_slice(&(len as u16).to_be_bytes());
        m[2..4].copy_from_slice(&1u16.to_be_bytes());
        m[4..8].copy_from_slice(&MAGIC_COOKIE);
        m[8..10].copy_from_slice(&ty.to_be_bytes());
        for (i, w) in words.iter().enumerate() {
            if let Some(at) = m.get_mut(12 + 2 * i..14 + 2 * i) {
                at.copy_from_slice(&w.to_be_bytes());
            }
        }
        m
    }

    /// Frame 10 of ndpi-pptp.pcap (Windows PAC): Outgoing-Call-Reply, Call ID 0x2deb, Peer's
    /// Call ID 0, Result Code 1.
    pub(crate) const WINDOWS_OCRP: [u8; 32] = [
        0x00, 0x20, 0x00, 0x01, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x08, 0x00, 0x00, 0x2d, 0xeb, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xe4, 0x0b, 0x54, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00,
    ];
    /// Frame 12 of ndpi-pptp.pcap: Set-Link-Info whose Reserved1 is not zero (Windows puts
    /// the client's port there).
    pub(crate) const WINDOWS_SLI: [u8; 24] = [
        0x00, 0x18, 0x00, 0x01, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0xa1,
        0x96, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
    ];
    /// Frame 16 of ndpi-pptp.pcap (pptp-linux PNS): Call-Clear-Request, Call ID 0.
    pub(crate) const LINUX_CCRQ: [u8; 16] = [
        0x00, 0x10, 0x00, 0x01, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00,
    ];

    #[test]
    fn messages_from_the_captures_read_as_the_rfc_says() {
        let m = parse(&WINDOWS_OCRP).expect("OCRP");
        assert_eq!(m.kind, Kind::OutgoingCallReply);
        assert_eq!(
            (m.call_id, m.peer_call_id, m.result),
            (0x2deb, 0, RESULT_OK)
        );
        let m = parse(&WINDOWS_SLI).expect("SLI");
        assert_eq!((m.kind, m.call_id), (Kind::SetLinkInfo, 0));
        let m = parse(&LINUX_CCRQ).expect("CCRQ");
        assert_eq!((m.kind, m.call_id), (Kind::CallClearRequest, 0));
        assert_eq!(m.kind.name(), "Call-Clear-Request");
        assert_eq!(m.kind.sender(), Sender::Pns);
    }

    #[test]
    fn every_type_parses_at_its_fixed_length_and_not_shorter() {
        for (i, &(kind, _, len, _)) in TABLE.iter().enumerate() {
            let m = message(i as u16 + 1, &[7, 9, 0x0100]);
            assert_eq!(parse(&m).map(|m| m.kind), Ok(kind));
            assert_eq!(kind.fixed_len(), len);
            let mut short = m[..len - 1].to_vec();
            short[..2].copy_from_slice(&((len - 1) as u16).to_be_bytes());
            assert_eq!(parse(&short), Err(PptpError::TooShort), "{}", kind.name());
        }
    }

    #[test]
    fn malformed_headers_are_refused_with_their_reason() {
        let good = WINDOWS_OCRP;
        let mut m = good;
        m[1] = 0x21;
        assert_eq!(parse(&m), Err(PptpError::BadLength));
        let mut m = good;
        m[3] = 2;
        assert_eq!(parse(&m), Err(PptpError::NotControl));
        let mut m = good;
        m[7] = 0;
        assert_eq!(parse(&m), Err(PptpError::BadCookie));
        for ty in [0u8, 16, 0xff] {
            let mut m = good;
            m[9] = ty;
            assert_eq!(parse(&m), Err(PptpError::UnknownType));
        }
        assert_eq!(parse(&good[..11]), Err(PptpError::TooShort));
        assert_eq!(parse(&[]), Err(PptpError::TooShort));
    }

    proptest! {
        #[test]
        fn any_bytes_give_a_message_or_a_reason(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(m) = parse(&b) {
                prop_assert!(b.len() >= m.kind.fixed_len());
            }
        }

        #[test]
        fn call_ids_come_back_as_written(ty in 7u16..16, a in any::<u16>(), p in any::<u16>()) {
            let m = parse(&message(ty, &[a, p])).expect("well formed");
            prop_assert_eq!(m.call_id, a);
            if matches!(m.kind, Kind::OutgoingCallReply | Kind::IncomingCallReply) {
                prop_assert_eq!(m.peer_call_id, p);
            }
        }
    }
}

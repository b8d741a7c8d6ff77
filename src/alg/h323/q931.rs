//! Q.931 as H.225.0 uses it (ITU-T Q.931 §4, H.225.0 §7): the message header and its
//! information elements, only far enough to find the user-user element that carries the
//! PER-encoded `H323-UserInformation`.
//!
//! Layout: protocol discriminator 0x08, a call reference (length 0..15 in the low nibble, then
//! that many octets), the message type, then information elements: single-octet ones (high
//! bit set) and variable ones (identifier, length octet, contents). The user-user element
//! (0x7E) has a two-octet length in H.225.0 (§7.2.2.1, unlike Q.931's one octet) and starts with
//! its own protocol discriminator (0x05, X.208/X.209 coded user information).

/// Why a Q.931 message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Q931Error {
    /// Not protocol discriminator 0x08.
    NotQ931,
    /// The header or an element runs past the message.
    Truncated,
    /// No user-user element: nothing H.323 in it (a plain Q.931 message).
    NoUserUser,
}

impl Q931Error {
    pub const ALL: [Q931Error; 3] = [
        Q931Error::NotQ931,
        Q931Error::Truncated,
        Q931Error::NoUserUser,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Q931Error::NotQ931 => "q931-not-q931",
            Q931Error::Truncated => "q931-truncated",
            Q931Error::NoUserUser => "q931-no-user-user",
        }
    }
}

/// Q.931 message types H.225.0 uses (Q.931 Table 4-2).
pub mod message_type {
    pub const ALERTING: u8 = 0x01;
    pub const CALL_PROCEEDING: u8 = 0x02;
    pub const PROGRESS: u8 = 0x03;
    pub const SETUP: u8 = 0x05;
    pub const CONNECT: u8 = 0x07;
    pub const RELEASE_COMPLETE: u8 = 0x5A;
    pub const FACILITY: u8 = 0x62;
}

const USER_USER: u8 = 0x7E;

/// A Q.931 message: its type and the PER octets of its user-user element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Q931<'a> {
    pub message_type: u8,
    pub user_info: &'a [u8],
}

/// Parses one Q.931 message (a TPKT's payload).
pub fn parse(msg: &[u8]) -> Result<Q931<'_>, Q931Error> {
    let (&pd, rest) = msg.split_first().ok_or(Q931Error::Truncated)?;
    if pd != 0x08 {
        return Err(Q931Error::NotQ931);
    }
    let (&crl, rest) = rest.split_first().ok_or(Q931Error::Truncated)?;
    let rest = rest
        .get(usize::from(crl & 0x0f)..)
        .ok_or(Q931Error::Truncated)?;
    let (&message_type, mut ies) = rest.split_first().ok_or(Q931Error::Truncated)?;
    while let Some((&id, rest)) = ies.split_first() {
        if id & 0x80 != 0 {
            // A single-octet element (shift, more data, sending complete, ...).
            ies = rest;
            continue;
        }
        if id == USER_USER {
            let len = match rest {
                [hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
                _ => return Err(Q931Error::Truncated),
            };
            let content = rest.get(2..2 + len).ok_or(Q931Error::Truncated)?;
            // The element's own protocol discriminator precedes the PER encoding.
            let user_info = content.get(1..).ok_or(Q931Error::Truncated)?;
            return Ok(Q931 {
                message_type,
                user_info,
            });
        }
        let (&len, rest) = rest.split_first().ok_or(Q931Error::Truncated)?;
        ies = rest.get(usize::from(len)..).ok_or(Q931Error::Truncated)?;
    }
    Err(Q931Error::NoUserUser)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_user_user_element_after_other_elements() {
        // Setup, call reference 0x1234, bearer capability (3 octets), sending complete (single
        // octet), then user-user with discriminator 5 and two PER octets.
        let m = [
            0x08, 0x02, 0x12, 0x34, 0x05, 0x04, 0x03, 0x88, 0x90, 0xA5, 0xA1, 0x7E, 0x00, 0x03,
            0x05, 0xAB, 0xCD,
        ];
        assert_eq!(
            parse(&m),
            Ok(Q931 {
                message_type: message_type::SETUP,
                user_info: &[0xAB, 0xCD],
            })
        );
    }

    #[test]
    fn refuses_what_is_not_there() {
        assert_eq!(parse(&[]), Err(Q931Error::Truncated));
        assert_eq!(parse(&[0x09, 0]), Err(Q931Error::NotQ931));
        assert_eq!(parse(&[0x08, 0x0F, 1]), Err(Q931Error::Truncated));
        assert_eq!(parse(&[0x08, 0x00, 0x05]), Err(Q931Error::NoUserUser));
        // An element whose length runs past the message, and a user-user element that lies.
        assert_eq!(
            parse(&[0x08, 0x00, 0x05, 0x04, 0x09, 1]),
            Err(Q931Error::Truncated)
        );
        assert_eq!(
            parse(&[0x08, 0x00, 0x05, 0x7E, 0xFF, 0xFF, 0x05]),
            Err(Q931Error::Truncated)
        );
    }
}

//! The PPTP control connection's state machine (RFC 2637 §3.1.1, the kernel's `sstate`):
//! calls may be set up only on a connection both ends have confirmed.
//!
//! | state | message | next state |
//! |---|---|---|
//! | any | Start-Control-Connection-Request | Requested |
//! | Requested | Start-Control-Connection-Reply, Result Code 1 | Established |
//! | Requested | Start-Control-Connection-Reply, other result | Failed |
//! | any | Stop-Control-Connection-Request | Stopping |
//! | Stopping | Stop-Control-Connection-Reply | Idle (every call is cleared, §2.3) |
//! | other | Start- or Stop-Control-Connection-Reply | unchanged, refused (`unexpected-reply`) |
//!
//! Call messages and Set-Link-Info / WAN-Error-Notify need Established; Echo is welcome in
//! any state.

use super::parse::{Kind, Message, RESULT_OK};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ControlState {
    /// Nothing exchanged yet, or stopped.
    #[default]
    Idle,
    Requested,
    Established,
    /// The Start-Control-Connection-Reply refused the connection.
    Failed,
    Stopping,
}

/// What a message did to the control connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlStep {
    /// The message is allowed in this state (the state may have moved).
    Go,
    /// The connection stopped: every call's entries go.
    Stopped,
    /// A reply to nothing, or a call message before the connection is established.
    OutOfState,
}

/// One row: in `from` (`None`: any state), `kind` leads to `to` (`None`: stays), and whether
/// the Result Code decides it.
struct Row {
    kind: Kind,
    from: Option<ControlState>,
    to: Option<ControlState>,
    to_if_refused: Option<ControlState>,
}

const fn row(
    kind: Kind,
    from: Option<ControlState>,
    to: Option<ControlState>,
    to_if_refused: Option<ControlState>,
) -> Row {
    Row {
        kind,
        from,
        to,
        to_if_refused,
    }
}

use ControlState as S;

const ROWS: [Row; 4] = [
    row(
        Kind::StartControlConnectionRequest,
        None,
        Some(S::Requested),
        Some(S::Requested),
    ),
    row(
        Kind::StartControlConnectionReply,
        Some(S::Requested),
        Some(S::Established),
        Some(S::Failed),
    ),
    row(
        Kind::StopControlConnectionRequest,
        None,
        Some(S::Stopping),
        Some(S::Stopping),
    ),
    // A refused stop leaves the connection up (§2.4: "General error").
    row(
        Kind::StopControlConnectionReply,
        Some(S::Stopping),
        Some(S::Idle),
        Some(S::Established),
    ),
];

impl ControlState {
    /// The step one message makes.
    pub fn step(&mut self, m: &Message) -> ControlStep {
        if let Some(r) = ROWS.iter().find(|r| r.kind == m.kind) {
            if r.from.is_some_and(|f| f != *self) {
                return ControlStep::OutOfState;
            }
            // Requests carry no Result Code: both columns agree for them.
            let to = if m.result == RESULT_OK {
                r.to
            } else {
                r.to_if_refused
            };
            let before = *self;
            if let Some(to) = to {
                *self = to;
            }
            if before == S::Stopping && *self == S::Idle {
                return ControlStep::Stopped;
            }
            return ControlStep::Go;
        }
        match m.kind {
            Kind::EchoRequest | Kind::EchoReply => ControlStep::Go,
            _ if *self == S::Established => ControlStep::Go,
            _ => ControlStep::OutOfState,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::{parse, tests::message};
    use super::*;

    fn msg(ty: u16, words: &[u16]) -> Message {
        parse(&message(ty, words)).expect("well formed")
    }

    /// Result Code 1 in the Start-Control-Connection-Reply (byte 14) or the
    /// Stop-Control-Connection-Reply (byte 12).
    fn start_reply(result: u8) -> Message {
        msg(2, &[0x0100, u16::from(result) << 8])
    }

    fn stop_reply(result: u8) -> Message {
        msg(4, &[u16::from(result) << 8])
    }

    #[test]
    fn start_then_calls_then_stop() {
        let mut s = ControlState::default();
        assert_eq!(s.step(&msg(7, &[1])), ControlStep::OutOfState);
        assert_eq!(s.step(&msg(1, &[])), ControlStep::Go);
        assert_eq!(s, S::Requested);
        assert_eq!(s.step(&start_reply(1)), ControlStep::Go);
        assert_eq!(s, S::Established);
        assert_eq!(s.step(&msg(7, &[1])), ControlStep::Go);
        assert_eq!(s.step(&msg(5, &[])), ControlStep::Go);
        assert_eq!(s.step(&msg(3, &[])), ControlStep::Go);
        assert_eq!(s.step(&stop_reply(1)), ControlStep::Stopped);
        assert_eq!(s, S::Idle);
    }

    #[test]
    fn a_refused_start_allows_no_call_and_a_stray_reply_is_out_of_state() {
        let mut s = ControlState::default();
        assert_eq!(s.step(&start_reply(1)), ControlStep::OutOfState);
        s.step(&msg(1, &[]));
        s.step(&start_reply(2));
        assert_eq!(s, S::Failed);
        assert_eq!(s.step(&msg(9, &[4])), ControlStep::OutOfState);
        assert_eq!(s.step(&stop_reply(1)), ControlStep::OutOfState);
        // A refused stop keeps the connection.
        let mut s = S::Stopping;
        assert_eq!(s.step(&stop_reply(2)), ControlStep::Go);
        assert_eq!(s, S::Established);
    }
}

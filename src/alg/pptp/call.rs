//! The state machine of PPTP calls on one control connection (RFC 2637 §3.1.2 and §3.1.3;
//! the kernel's `cstate`, which follows one call per connection: here up to [`MAX_CALLS`]).
//!
//! A call is known by the PNS's Call ID and, once the PAC has answered, the PAC's. The GRE
//! data of a call is expected in both directions once both Call IDs are known and the call
//! is up: on an Outgoing-Call-Reply that connects, and on the Incoming-Call-Connected that
//! follows an Incoming-Call-Reply that accepted (as the kernel publishes them).
//!
//! | state | message (sender) | next | effect |
//! |---|---|---|---|
//! | - | Outgoing-Call-Request (PNS), Call ID = pns | OutRequested | |
//! | OutRequested, OutConnected | Outgoing-Call-Reply (PAC), Peer's Call ID = pns, result 1 | OutConnected | expect GRE |
//! | OutRequested | Outgoing-Call-Reply, other result | - | the call is forgotten |
//! | - | Incoming-Call-Request (PAC), Call ID = pac | InRequested | |
//! | InRequested | Incoming-Call-Reply (PNS), Peer's Call ID = pac, result 1 | InReplied | |
//! | InRequested | Incoming-Call-Reply, other result | - | the call is forgotten |
//! | InReplied, InConnected | Incoming-Call-Connected (PAC), Peer's Call ID = pns | InConnected | expect GRE |
//! | any | Call-Clear-Request (PNS), Call ID = pns | Clearing | the call's entries go |
//! | any | Call-Disconnect-Notify (PAC), Call ID = pac (or pns) | - | the call's entries go |
//!
//! A message naming no call the table holds in a state that allows it is refused
//! (`unknown-call`), as the kernel's helper finds it invalid.

use super::parse::{Kind, Message, RESULT_OK};

/// Calls followed at once per control connection. A PNS of a dial-up pool may run more; the
/// oldest is forgotten first (counted `calls-full`), its entries withdrawn.
pub const MAX_CALLS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    OutRequested,
    OutConnected,
    InRequested,
    InReplied,
    InConnected,
    Clearing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub pns: Option<u16>,
    pub pac: Option<u16>,
    pub state: CallState,
    order: u64,
}

impl Call {
    /// Both Call IDs, once known.
    pub fn ids(&self) -> Option<(u16, u16)> {
        Some((self.pns?, self.pac?))
    }
}

/// What a message did to the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStep {
    Nothing,
    /// The call (PNS Call ID, PAC Call ID) is up: expect its GRE.
    Up(u16, u16),
    /// The call ended: its entries go (if it had both Call IDs).
    Ended(Option<(u16, u16)>),
    /// A message naming no call in a state that allows it.
    UnknownCall,
}

/// What a new call cost: the call it replaced (the same Call ID used again: `false`) or the
/// oldest call, forgotten to make room (`true`).
pub type Evicted = Option<(Call, bool)>;

#[derive(Debug, Clone, Default)]
pub struct Calls {
    slots: [Option<Call>; MAX_CALLS],
    order: u64,
}

impl Calls {
    fn find(&self, pred: impl Fn(&Call) -> bool) -> Option<usize> {
        self.slots
            .iter()
            .position(|c| c.as_ref().is_some_and(&pred))
    }

    /// A new call in `state`; a call with the same Call ID on its side is replaced.
    fn open(&mut self, pns: Option<u16>, pac: Option<u16>, state: CallState) -> Evicted {
        let same = |c: &Call| (pns.is_some() && c.pns == pns) || (pac.is_some() && c.pac == pac);
        let mut evicted = None;
        let at = match self.find(same) {
            Some(i) => {
                evicted = self.slots[i].map(|c| (c, false));
                i
            }
            None => match self.slots.iter().position(Option::is_none) {
                Some(i) => i,
                None => {
                    let i = (0..MAX_CALLS)
                        .min_by_key(|&i| self.slots[i].map_or(0, |c| c.order))
                        .unwrap_or(0);
                    evicted = self.slots[i].map(|c| (c, true));
                    i
                }
            },
        };
        self.order += 1;
        self.slots[at] = Some(Call {
            pns,
            pac,
            state,
            order: self.order,
        });
        evicted
    }

    /// The step one message (already allowed by the control connection) makes, and the call
    /// a new one pushed out, if any.
    pub fn step(&mut self, m: &Message) -> (CallStep, Evicted) {
        use CallState as C;
        let id = m.call_id;
        let ok = m.result == RESULT_OK;
        match m.kind {
            Kind::OutgoingCallRequest => (
                CallStep::Nothing,
                self.open(Some(id), None, C::OutRequested),
            ),
            Kind::IncomingCallRequest => {
                (CallStep::Nothing, self.open(None, Some(id), C::InRequested))
            }
            Kind::OutgoingCallReply => {
                let peer = Some(m.peer_call_id);
                let Some(i) = self.find(|c| {
                    c.pns == peer && matches!(c.state, C::OutRequested | C::OutConnected)
                }) else {
                    return (CallStep::UnknownCall, None);
                };
                if !ok {
                    self.slots[i] = None;
                    return (CallStep::Nothing, None);
                }
                let c = self.slots[i].as_mut().map(|c| {
                    c.pac = Some(id);
                    c.state = C::OutConnected;
                    *c
                });
                (up(c), None)
            }
            Kind::IncomingCallReply => {
                let peer = Some(m.peer_call_id);
                let Some(i) = self.find(|c| c.pac == peer && c.state == C::InRequested) else {
                    return (CallStep::UnknownCall, None);
                };
                if ok {
                    if let Some(c) = self.slots[i].as_mut() {
                        c.pns = Some(id);
                        c.state = C::InReplied;
                    }
                } else {
                    self.slots[i] = None;
                }
                (CallStep::Nothing, None)
            }
            Kind::IncomingCallConnected => {
                let Some(i) = self.find(|c| {
                    c.pns == Some(id) && matches!(c.state, C::InReplied | C::InConnected)
                }) else {
                    return (CallStep::UnknownCall, None);
                };
                let c = self.slots[i].as_mut().map(|c| {
                    c.state = C::InConnected;
                    *c
                });
                (up(c), None)
            }
            Kind::CallClearRequest => match self.find(|c| c.pns == Some(id)) {
                Some(i) => {
                    let c = self.slots[i].as_mut().map(|c| {
                        c.state = C::Clearing;
                        *c
                    });
                    (CallStep::Ended(c.and_then(|c| c.ids())), None)
                }
                None => (CallStep::UnknownCall, None),
            },
            // RFC 2637 §2.13 says the PAC's Call ID; Windows PACs send the PNS's (frame 23 of
            // ndpi-pptp.pcap): either names the call, the PAC's first.
            Kind::CallDisconnectNotify => {
                match self
                    .find(|c| c.pac == Some(id))
                    .or_else(|| self.find(|c| c.pns == Some(id)))
                {
                    Some(i) => {
                        let c = self.slots[i].take();
                        (CallStep::Ended(c.and_then(|c| c.ids())), None)
                    }
                    None => (CallStep::UnknownCall, None),
                }
            }
            _ => (CallStep::Nothing, None),
        }
    }

    /// The control connection stopped: every call ends. Returns the calls that had both IDs.
    pub fn clear(&mut self) -> impl Iterator<Item = (u16, u16)> + '_ {
        self.slots
            .iter_mut()
            .filter_map(|c| c.take().and_then(|c| c.ids()))
    }

    /// Calls held.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn up(c: Option<Call>) -> CallStep {
    match c.and_then(|c| c.ids()) {
        Some((pns, pac)) => CallStep::Up(pns, pac),
        None => CallStep::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::{parse, tests::message};
    use super::*;

    fn msg(ty: u16, words: &[u16]) -> Message {
        parse(&message(ty, words)).expect("well formed")
    }

    /// Outgoing-Call-Reply: Call ID, Peer's Call ID, Result Code (high byte of the next word).
    fn ocrp(pac: u16, pns: u16, result: u8) -> Message {
        msg(8, &[pac, pns, u16::from(result) << 8])
    }

    #[test]
    fn outgoing_call_up_and_cleared() {
        let mut t = Calls::default();
        assert_eq!(t.step(&msg(7, &[5])), (CallStep::Nothing, None));
        assert_eq!(t.step(&ocrp(0x2deb, 6, 1)).0, CallStep::UnknownCall);
        assert_eq!(t.step(&ocrp(0x2deb, 5, 1)).0, CallStep::Up(5, 0x2deb));
        assert_eq!(t.step(&msg(12, &[5])).0, CallStep::Ended(Some((5, 0x2deb))));
        assert_eq!(
            t.step(&msg(13, &[0x2deb])).0,
            CallStep::Ended(Some((5, 0x2deb)))
        );
        assert!(t.is_empty());
        assert_eq!(t.step(&msg(13, &[0x2deb])).0, CallStep::UnknownCall);
    }

    #[test]
    fn incoming_call_up_on_connected_only() {
        let mut t = Calls::default();
        t.step(&msg(9, &[40]));
        assert_eq!(t.step(&msg(11, &[7])).0, CallStep::UnknownCall);
        assert_eq!(t.step(&msg(10, &[7, 40, 0x0100])).0, CallStep::Nothing);
        assert_eq!(t.step(&msg(11, &[7])).0, CallStep::Up(7, 40));
        // Windows names the call by the PNS's Call ID in its Call-Disconnect-Notify.
        assert_eq!(t.step(&msg(13, &[7])).0, CallStep::Ended(Some((7, 40))));
    }

    #[test]
    fn refused_calls_are_forgotten_and_the_oldest_gives_way() {
        let mut t = Calls::default();
        t.step(&msg(7, &[1]));
        assert_eq!(t.step(&ocrp(9, 1, 3)).0, CallStep::Nothing);
        assert!(t.is_empty());
        t.step(&msg(9, &[2]));
        t.step(&msg(10, &[3, 2, 0x0200]));
        assert!(t.is_empty());
        for i in 0..MAX_CALLS as u16 {
            assert_eq!(t.step(&msg(7, &[100 + i])).1, None);
        }
        let (_, evicted) = t.step(&msg(7, &[999]));
        assert_eq!(
            evicted.map(|(c, full)| (c.pns, full)),
            Some((Some(100), true))
        );
        assert_eq!(t.len(), MAX_CALLS);
        assert_eq!(t.clear().count(), 0);
        assert!(t.is_empty());
    }
}

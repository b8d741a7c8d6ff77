//! The PPTP ALG (RFC 2637; the kernel's `nf_conntrack_pptp`).
//!
//! PPTP runs a TCP control connection to port 1723 between a PNS (the network server, here
//! the connection's client, as the kernel's helper assumes) and a PAC (the access
//! concentrator), and carries each call's PPP frames in enhanced GRE (`proto::gre`) keyed by
//! the receiver's Call ID. The ALG follows the control messages (`parse`), the control
//! connection (`control`) and its calls (`call`), and expects each call's GRE in both
//! directions once the call is up:
//!
//! - PNS -> PAC: GRE from the PNS with source call ID = the PNS's Call ID, to the PAC with
//!   destination call ID = the PAC's;
//! - PAC -> PNS: the reverse.
//!
//! The two entries carry the call's tag, so a Call-Clear-Request or Call-Disconnect-Notify
//! withdraws exactly that call's entries, and the GRE session that claims one withdraws the
//! other (`table::algs`). The entries of every call go when the control connection stops or
//! its session goes. Messages are framed by their Length field (`alg::frame`) over the
//! stream reassembly, so a message split over segments is read whole and a retransmitted one
//! once (the kernel reads the first message of each segment only).

pub mod call;
pub mod control;
pub mod parse;

use super::frame::LengthFraming;
use super::{
    Alg, AlgInfo, Control, Expect, ExpectClass, Expects, Framing, Reason, Terms, Withdraw, tag_of,
};
use crate::proto::key::Direction;
use crate::proto::wire::ipproto;
use call::{CallStep, Calls};
use control::{ControlState, ControlStep};
use parse::{PptpError, Sender};

/// Why the PPTP ALG refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PptpRefusal {
    /// A message only the other end sends (an Outgoing-Call-Reply from the PNS).
    WrongSender,
    /// A call message before the control connection is established, or a reply to no
    /// request.
    OutOfState,
    /// A reply or notification naming no call the ALG follows.
    UnknownCall,
    /// More calls than the ALG follows per connection: the oldest was forgotten.
    CallsFull,
    Malformed(PptpError),
}

const OWN: [&str; 4] = ["wrong-sender", "out-of-state", "unknown-call", "calls-full"];

impl Reason for PptpRefusal {
    const COUNT: usize = OWN.len() + PptpError::ALL.len();

    fn index(self) -> usize {
        match self {
            PptpRefusal::WrongSender => 0,
            PptpRefusal::OutOfState => 1,
            PptpRefusal::UnknownCall => 2,
            PptpRefusal::CallsFull => 3,
            PptpRefusal::Malformed(e) => OWN.len() + e as usize,
        }
    }

    fn name_of(index: usize) -> &'static str {
        match OWN.get(index) {
            Some(n) => n,
            None => PptpError::ALL
                .get(index - OWN.len())
                .map_or("unknown", |e| e.name()),
        }
    }
}

/// The one expectation class: a call's GRE, one entry per direction.
const GRE: u8 = 0;
const GRE_CLASSES: u32 = 1 << GRE;

/// The framing of PPTP control messages (RFC 2637 §2.1): the Length at byte 0, the Magic
/// Cookie at byte 4.
pub const FRAMING: LengthFraming = LengthFraming {
    len_at: 0,
    min_len: parse::HEADER_LEN,
    marker_at: 4,
    marker: &parse::MAGIC_COOKIE,
};

/// One PPTP control connection's ALG state.
#[derive(Debug, Default)]
pub struct Pptp {
    control: ControlState,
    calls: Calls,
}

/// The tag of a call's entries: both its Call IDs.
fn call_tag(pns: u16, pac: u16) -> u32 {
    let [a, b] = pns.to_be_bytes();
    let [c, d] = pac.to_be_bytes();
    tag_of(&[a, b, c, d])
}

fn withdraw_call(out: &mut Expects, pns: u16, pac: u16) {
    out.withdraw(Withdraw {
        classes: GRE_CLASSES,
        tag: Some(call_tag(pns, pac)),
    });
}

impl Alg for Pptp {
    type Refusal = PptpRefusal;
    const INFO: AlgInfo = AlgInfo {
        keyword: "pptp",
        help: "PPTP protocol",
        control_app: "pptp",
        framing: Framing::Length(FRAMING),
        classes: &[ExpectClass {
            name: "gre",
            // Two entries (one per direction) for each call followed.
            max_per_master: 2 * call::MAX_CALLS,
            // nf_conntrack_pptp's expectation timeout: five minutes.
            timeout_ms: 300_000,
            data_app: "pptp",
            follow: false,
        }],
        max_line: parse::MAX_MESSAGE,
    };

    fn new(_control: &Control) -> Self {
        Pptp::default()
    }

    fn on_message(
        &mut self,
        control: &Control,
        dir: Direction,
        msg: &[u8],
        out: &mut Expects,
    ) -> Result<(), PptpRefusal> {
        let m = parse::parse(msg).map_err(PptpRefusal::Malformed)?;
        let from_pns = dir == Direction::Orig;
        match m.kind.sender() {
            Sender::Pns if !from_pns => return Err(PptpRefusal::WrongSender),
            Sender::Pac if from_pns => return Err(PptpRefusal::WrongSender),
            _ => {}
        }
        match self.control.step(&m) {
            ControlStep::OutOfState => return Err(PptpRefusal::OutOfState),
            ControlStep::Stopped => {
                for (pns, pac) in self.calls.clear() {
                    withdraw_call(out, pns, pac);
                }
                return Ok(());
            }
            ControlStep::Go => {}
        }
        let (step, evicted) = self.calls.step(&m);
        let mut result = Ok(());
        if let Some((old, full)) = evicted {
            if let Some((pns, pac)) = old.ids() {
                withdraw_call(out, pns, pac);
            }
            if full {
                result = Err(PptpRefusal::CallsFull);
            }
        }
        match step {
            CallStep::Nothing => {}
            CallStep::UnknownCall => return Err(PptpRefusal::UnknownCall),
            CallStep::Ended(ids) => {
                if let Some((pns, pac)) = ids {
                    withdraw_call(out, pns, pac);
                }
            }
            CallStep::Up(pns, pac) => {
                let terms = Terms {
                    tag: call_tag(pns, pac),
                    ..Terms::default()
                };
                // The same call up again (a repeated reply) replaces its entries.
                withdraw_call(out, pns, pac);
                for (src, sport, dst, dport) in [
                    (control.client, pns, control.server, pac),
                    (control.server, pac, control.client, pns),
                ] {
                    out.push_with(
                        Expect {
                            class: GRE,
                            proto: ipproto::GRE,
                            src: Some(src),
                            sport: Some(sport),
                            dst,
                            dport,
                        },
                        terms,
                    );
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests;

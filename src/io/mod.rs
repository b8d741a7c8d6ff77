//! Packet sources and sinks behind one trait, one instance per core: capture files (replay),
//! AF_PACKET (any Linux interface), netmap (appliance NICs), and memory (tests).

pub mod afpacket;
pub mod afxdp;
pub mod capture;
pub mod mem;
#[cfg(feature = "netmap")]
pub mod netmap;
pub mod pcap;
#[cfg(test)]
mod test_lab;

use crate::proto::wire::LinkType;

/// A port (interface) of a back-end instance, by its position in the configuration.
/// Inline ports come in pairs: 0<->1, 2<->3, ...
pub type PortId = u8;

/// The peer of an inline port.
pub const fn peer(port: PortId) -> PortId {
    port ^ 1
}

/// What the engine decided for one received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send it out of the peer port (inline mode).
    Forward,
    /// Do not send it (rejected by session management, or monitor mode).
    Drop,
}

/// Inline (bridge port pairs, drop what is rejected) or monitor (observe only), SPEC P3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoMode {
    Inline,
    #[default]
    Monitor,
}

/// Counters every back-end keeps (per core; summed on read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoStats {
    pub rx_frames: u64,
    pub rx_bytes: u64,
    pub tx_frames: u64,
    pub tx_bytes: u64,
    /// Frames the engine forwarded that could not be sent (ring full, send error).
    pub tx_errors: u64,
    /// Frames the kernel dropped before we saw them (TPACKET_V3 block status / tp_drops).
    pub kernel_drops: u64,
}

/// The engine's view of one batch: `frames[i]` arrived on `ports[i]` at `now_ns`; the engine
/// fills `actions[i]`.
pub type BatchHandler<'h> = dyn FnMut(&[&[u8]], &[PortId], u64, &mut [Action]) + 'h;

/// A packet I/O back-end for one core.
pub trait PacketIo: Send {
    /// The link layer of every frame this back-end delivers.
    fn link_type(&self) -> LinkType;

    /// Waits up to `timeout_ms` for frames, then hands at most `max` of them to `handler` as one
    /// batch, without copying them out of the receive ring. Frames the handler marks `Forward`
    /// are sent out of the peer port (inline mode only). Returns the number received (0 on
    /// timeout).
    fn rx_batch(
        &mut self,
        max: usize,
        timeout_ms: i32,
        handler: &mut BatchHandler<'_>,
    ) -> std::io::Result<usize>;

    /// Sends one frame out of `port` (used for frames handed over from another core).
    fn send(&mut self, port: PortId, frame: &[u8]) -> std::io::Result<()>;

    fn stats(&self) -> IoStats;

    /// The back-end's in-kernel fast path for established flows, when it has one and it is
    /// on (AF_XDP with `fast_path = true`).
    fn fast_path(&mut self) -> Option<&mut dyn FastPath> {
        None
    }

    /// The time an idle turn may move the engine clock to. Live back-ends stamp frames with
    /// the wall clock, so it is the wall clock; a back-end with virtual time says `None`.
    fn idle_now_ns(&self) -> Option<u64> {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_nanos() as u64)
    }
}

/// One direction of an IPv4 flow, as it arrives on a port: addresses and ports as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OneWay {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
}

/// A kernel path that forwards the frames of flows the engine hands it (established sessions)
/// between a port and its peer without the engine seeing them; it counts what it forwards.
/// Called off the per-packet path: once when a session is offloaded or withdrawn, and from the
/// core's periodic refresh (`actors::fast_path`).
pub trait FastPath {
    /// From now on, frames of `flow` arriving on `port` leave by `peer(port)` in the kernel.
    /// A full flow map is an error (E2BIG): the flow stays with the engine.
    fn offload(&mut self, port: PortId, flow: &OneWay) -> std::io::Result<()>;
    /// Frames of `flow` on `port` go to the engine again; `Ok(false)` if it was not offloaded.
    fn withdraw(&mut self, port: PortId, flow: &OneWay) -> std::io::Result<bool>;
    /// Packets and IP bytes the kernel forwarded for `flow` on `port` since it was offloaded;
    /// `None` when it is not offloaded.
    fn forwarded(&mut self, port: PortId, flow: &OneWay) -> std::io::Result<Option<(u64, u64)>>;
}

/// What the fast path did on this core (summed over cores for `dump stats`
/// and the Prometheus endpoint).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FastPathCounters {
    /// Sessions handed to the kernel.
    pub offloaded: u64,
    /// Sessions taken back (left ESTABLISHED/READY, removed, or the engine stopped
    /// forwarding).
    pub withdrawn: u64,
    /// Sessions the kernel refused (flow map full, E2BIG, or another error): they stay on the
    /// engine's path.
    pub refused: u64,
    /// Map reads or deletions that failed (counted; the entry is tried again next pass).
    pub errors: u64,
    /// Packets and IP bytes the kernel forwarded for this core's sessions.
    pub packets: u64,
    pub bytes: u64,
    /// Sessions offloaded now.
    pub live: u64,
}

impl FastPathCounters {
    pub fn add(&mut self, o: &FastPathCounters) {
        self.offloaded += o.offloaded;
        self.withdrawn += o.withdrawn;
        self.refused += o.refused;
        self.errors += o.errors;
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.live += o.live;
    }
}

/// The core that owns a flow: a symmetric fold of the two IP addresses, so both directions,
/// every fragment of a datagram and (with the quoted addresses) ICMP errors reach one core.
/// The AF_PACKET back-end's fanout program computes the same function in the kernel.
/// `addrs` are the source and destination address bytes (4 or 16 each).
pub fn owner_core(src: &[u8], dst: &[u8], cores: usize) -> usize {
    if cores <= 1 {
        return 0;
    }
    let fold = |a: &[u8]| {
        a.chunks(4).fold(0u32, |acc, w| {
            acc ^ w.iter().fold(0u32, |x, b| (x << 8) | u32::from(*b))
        })
    };
    ((fold(src) ^ fold(dst)) as usize) % cores
}

/// `owner_core` over the ports too (a NIC's receive-side scaling on the 4-tuple, made
/// symmetric): connections between the same two hosts spread over the cores, so an FTP data
/// connection usually lands on another core than its control session (what SPEC R5 is
/// about). Non-first fragments carry no ports; a setup steering this way reassembles first.
pub fn owner_core_ports(src: &[u8], dst: &[u8], sport: u16, dport: u16, cores: usize) -> usize {
    if cores <= 1 {
        return 0;
    }
    let by_addr = owner_core(src, dst, usize::MAX) as u32;
    // Symmetric in the ports too; the multiply spreads neighbouring ports over the cores.
    let ports = u32::from(sport ^ dport).wrapping_mul(0x9e37_79b1);
    ((by_addr ^ (ports >> 16)) as usize) % cores
}

/// Why an interface cannot carry a ring back-end's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InterfaceRefusal {
    Missing,
    /// Not Ethernet (the ARPHRD type it has): the fanout program, the XDP path and the engine
    /// all assume frames that start with an Ethernet header.
    NotEthernet(String),
}

/// The index of Ethernet interface `name` (the AF_PACKET and AF_XDP back-ends bind by index).
pub(crate) fn ethernet_ifindex(name: &str) -> Result<u32, InterfaceRefusal> {
    let index = nix::net::if_::if_nametoindex(name).map_err(|_| InterfaceRefusal::Missing)?;
    if let Ok(t) = std::fs::read_to_string(format!("/sys/class/net/{name}/type"))
        && t.trim() != "1"
    {
        return Err(InterfaceRefusal::NotEthernet(t.trim().to_string()));
    }
    Ok(index)
}

/// The console and log text of a refusal that is not "missing".
pub(crate) fn not_ethernet(name: &str, arphrd: &str) -> String {
    format!("interface {name} is not an Ethernet interface (ARPHRD type {arphrd})")
}

/// Gives a reused batch vector a new element lifetime (the ring back-ends keep one across
/// batches). It is empty, so nothing is converted, and the in-place collection keeps its
/// allocation.
pub(crate) fn recycle<'b>(mut v: Vec<&[u8]>) -> Vec<&'b [u8]> {
    v.clear();
    v.into_iter().map(|_| &[][..]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_steering_is_symmetric_and_spreads_connections() {
        let (a, b) = ([198, 18, 0, 1], [198, 19, 0, 2]);
        let mut seen = [false; 2];
        for p in 40000..40064u16 {
            let o = owner_core_ports(&a, &b, p, 21, 2);
            assert_eq!(o, owner_core_ports(&b, &a, 21, p, 2));
            seen[o] = true;
        }
        assert_eq!(seen, [true, true]);
    }

    #[test]
    fn owner_is_symmetric_and_in_range() {
        for cores in 1..5 {
            for a in 0..50u8 {
                let s = [198, 18, 0, a];
                let d = [198, 18, 1, a.wrapping_mul(7)];
                assert_eq!(owner_core(&s, &d, cores), owner_core(&d, &s, cores));
                assert!(owner_core(&s, &d, cores) < cores);
            }
        }
        let s6 = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let d6 = [0x20, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
        assert_eq!(owner_core(&s6, &d6, 2), owner_core(&d6, &s6, 2));
        assert_eq!(peer(0), 1);
        assert_eq!(peer(3), 2);
    }
}

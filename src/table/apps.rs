//! Application identification by port (SPEC S5, reference/comware.md §12) and the
//! application aging defaults (SPEC A2, comware.md §4.4).
//!
//! The session's application is decided once, at creation, from the initiator's destination
//! port and the transport protocol, as Comware's pre-defined port mapping does; the
//! operator's mappings (`port_map.rs`) come first. User-defined applications get the ids
//! after the pre-defined ones, their names held in the configuration (`UserApps`).

use crate::proto::wire::ipproto;

/// Transport a mapping applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    Tcp,
    Udp,
    Both,
}

/// One pre-defined application: display name (session table, upper case), the name used by
/// `session aging-time application` (lower case), ports, and the default aging in seconds.
#[derive(Debug, Clone, Copy)]
pub struct AppDef {
    pub name: &'static str,
    pub keyword: &'static str,
    pub on: On,
    pub ports: &'static [u16],
    /// `None` = no application timer of its own: the generic 1200 s applies (A2).
    pub aging_s: Option<u32>,
}

/// Application id 0 is always `OTHER` (not identified: keeps its state's aging time).
pub const OTHER: u8 = 0;

/// Aging for an identified application without a timer of its own (A2: "any other identified
/// application 1200"; comware.md §4.4 `others: 1200`).
pub const OTHERS_AGING_S: u32 = 1200;

macro_rules! apps {
    ($( $(#[$m:meta])* $name:literal, $kw:literal, $on:ident, [$($p:literal),*], $aging:expr; )*) => {
        pub const APPS: &[AppDef] = &[
            AppDef { name: "OTHER", keyword: "other", on: On::Both, ports: &[], aging_s: None },
            $( $(#[$m])* AppDef { name: $name, keyword: $kw, on: On::$on, ports: &[$($p),*], aging_s: $aging }, )*
        ];
    };
}

// Ports: comware.md §12 (pre-defined mappings; IANA where the manual names none). Aging:
// comware.md §4.4 (newer releases' table).
apps! {
    "FTP", "ftp", Tcp, [21], Some(3600);
    "FTP-DATA", "ftp-data", Tcp, [20], Some(240);
    "SSH", "ssh", Tcp, [22], None;
    "TELNET", "telnet", Tcp, [23], None;
    "SMTP", "smtp", Tcp, [25], None;
    "TACACS-DS", "tacacs-ds", Both, [65], Some(120);
    "DNS", "dns", Both, [53], Some(1);
    "BOOTPS", "bootps", Udp, [67], Some(120);
    "BOOTPC", "bootpc", Udp, [68], Some(120);
    "TFTP", "tftp", Udp, [69], Some(60);
    "HTTP", "http", Tcp, [80], None;
    "POP3", "pop3", Tcp, [110], None;
    "NTP", "ntp", Udp, [123], Some(120);
    "NETBIOS-NS", "netbios-ns", Both, [137], Some(3600);
    "NETBIOS-DGM", "netbios-dgm", Both, [138], Some(3600);
    "NETBIOS-SSN", "netbios-ssn", Both, [139], Some(3600);
    "IMAP", "imap", Tcp, [143], None;
    "SNMP", "snmp", Udp, [161], Some(120);
    "SNMPTRAP", "snmptrap", Udp, [162], Some(120);
    "XDMCP", "xdmcp", Udp, [177], Some(3600);
    "BGP", "bgp", Tcp, [179], None;
    "ILS", "ils", Tcp, [389], Some(3600);
    "HTTPS", "https", Tcp, [443], Some(600);
    "WHO", "who", Udp, [513], Some(120);
    "RSH", "rsh", Tcp, [514], Some(60);
    "SYSLOG", "syslog", Udp, [514], Some(120);
    "RIP", "rip", Udp, [520], Some(120);
    "RTSP", "rtsp", Both, [554], Some(3600);
    "SQLNET", "sqlnet", Tcp, [1521], Some(600);
    "L2TP", "l2tp", Udp, [1701], Some(120);
    "RAS", "ras", Udp, [1719], Some(300);
    "H225", "h225", Tcp, [1720], Some(3600);
    "PPTP", "pptp", Tcp, [1723], Some(3600);
    "SCCP", "sccp", Tcp, [2000], Some(3600);
    "GTP-CONTROL", "gtp-control", Udp, [2123], Some(60);
    "GTP-USER", "gtp-user", Udp, [2152], Some(60);
    "MGCP-GATEWAY", "mgcp-gateway", Udp, [2427], Some(60);
    "MGCP-CALLAGENT", "mgcp-callagent", Udp, [2727], Some(60);
    "STUN", "stun", Both, [3478], Some(600);
    "SIP", "sip", Both, [5060], Some(300);
    "QQ", "qq", Udp, [8000], Some(120);
    "H245", "h245", Tcp, [], Some(3600);
    "GPRS-DATA", "gprs-data", Udp, [], Some(60);
    "GPRS-SIG", "gprs-sig", Udp, [], Some(60);
    // The example ALG of docs/writing-an-alg.md (`alg::irc`), in the crate's own tests only.
    #[cfg(test)]
    "IRC", "irc", Tcp, [6667], None;
}

const _: () = assert!(APPS.len() < 256, "application ids are one byte");

/// The application a new session belongs to: by transport and the initiator's destination
/// port. `OTHER` when nothing matches or the protocol has no ports.
pub fn identify(proto: u8, dport: u16) -> u8 {
    let on_tcp = matches!(proto, ipproto::TCP | ipproto::SCTP | ipproto::DCCP);
    let on_udp = matches!(proto, ipproto::UDP | ipproto::UDPLITE);
    if !on_tcp && !on_udp {
        return OTHER;
    }
    APPS.iter()
        .position(|a| {
            let proto_ok = match a.on {
                On::Both => true,
                On::Tcp => on_tcp,
                On::Udp => on_udp,
            };
            proto_ok && a.ports.contains(&dport)
        })
        .map_or(OTHER, |i| i as u8)
}

/// Application id for a keyword of `session aging-time application` (case-insensitive).
pub fn by_keyword(keyword: &str) -> Option<u8> {
    APPS.iter()
        .position(|a| a.keyword.eq_ignore_ascii_case(keyword) && a.keyword != "other")
        .map(|i| i as u8)
}

pub fn name(app: u8) -> &'static str {
    APPS.get(usize::from(app)).map_or("OTHER", |a| a.name)
}

/// The first id a user-defined application gets: they follow the pre-defined ones.
pub const FIRST_USER_APP: u8 = APPS.len() as u8;

/// How many user-defined applications the configuration holds at most (ours: Comware's
/// limit is not documented). A `port-mapping` for one more is refused with a `%` error.
pub const MAX_USER_APPS: usize = 64;

/// Application ids in use: the pre-defined ones and the user-defined slots. Id 255 stays free
/// (`port_map::SCOPED`, the port tables' "look at the list" mark).
pub const APP_IDS: usize = APPS.len() + MAX_USER_APPS;

const _: () = assert!(
    APP_IDS < 255,
    "application ids are one byte, 255 is the list mark"
);

/// The user-defined applications (`port-mapping application NAME ...` with a name no
/// pre-defined application has), held in the running configuration and pushed to every
/// core with it, so a core can name its sessions' applications. Bounded: at most
/// `MAX_USER_APPS` names live at once, and a name goes when its last mapping goes, so an
/// operator defining and removing names forever uses the same few slots.
///
/// Ids are handed out round robin: a freed id is taken again as late as possible, because
/// sessions identified as the removed application may still be in the table (they show
/// `OTHER` and keep their state's aging time until the id is reused).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserApps {
    /// Index = id - `FIRST_USER_APP`; lower-case names (names are case-insensitive).
    names: Vec<Option<Box<str>>>,
    /// Where the look for a free slot starts.
    next: usize,
}

/// `UserApps::add` at `MAX_USER_APPS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyApps;

impl UserApps {
    /// The id of a user-defined application, by name (case-insensitive).
    pub fn id(&self, name: &str) -> Option<u8> {
        self.names
            .iter()
            .position(|n| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .map(|i| FIRST_USER_APP + i as u8)
    }

    /// The (lower-case) name of a user-defined application id, while it is defined.
    pub fn name(&self, id: u8) -> Option<&str> {
        let i = usize::from(id.checked_sub(FIRST_USER_APP)?);
        self.names.get(i)?.as_deref()
    }

    /// Defines `name` (or finds it): its id.
    pub fn add(&mut self, name: &str) -> Result<u8, TooManyApps> {
        if let Some(id) = self.id(name) {
            return Ok(id);
        }
        if self.names.len() < MAX_USER_APPS {
            self.names.push(None);
        }
        let n = self.names.len();
        let free = (0..n)
            .map(|k| (self.next + k) % n)
            .find(|&i| self.names[i].is_none())
            .ok_or(TooManyApps)?;
        self.names[free] = Some(name.to_ascii_lowercase().into_boxed_str());
        self.next = (free + 1) % MAX_USER_APPS;
        Ok(FIRST_USER_APP + free as u8)
    }

    /// Forgets a user-defined application.
    pub fn remove(&mut self, id: u8) {
        if let Some(i) = id.checked_sub(FIRST_USER_APP)
            && let Some(slot) = self.names.get_mut(usize::from(i))
        {
            *slot = None;
        }
    }

    /// The defined applications: (id, name), by id.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &str)> + '_ {
        self.names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((FIRST_USER_APP + i as u8, n.as_deref()?)))
    }

    pub fn len(&self) -> usize {
        self.names.iter().filter(|n| n.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name the session table shows (upper case, as the pre-defined names): pre-defined,
    /// user-defined, or `OTHER` for an id no application has (any more).
    pub fn display_name(&self, id: u8) -> std::borrow::Cow<'static, str> {
        match self.name(id) {
            Some(n) => n.to_ascii_uppercase().into(),
            None => name(id).into(),
        }
    }

    /// The lower-case name of any application id (`session aging-time application`'s word).
    pub fn keyword(&self, id: u8) -> Option<&str> {
        self.name(id).or_else(|| {
            (id != OTHER)
                .then(|| APPS.get(usize::from(id)).map(|a| a.keyword))
                .flatten()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_ports_are_identified() {
        assert_eq!(name(identify(ipproto::TCP, 21)), "FTP");
        assert_eq!(name(identify(ipproto::UDP, 53)), "DNS");
        assert_eq!(name(identify(ipproto::TCP, 53)), "DNS");
        assert_eq!(name(identify(ipproto::UDP, 69)), "TFTP");
        assert_eq!(name(identify(ipproto::TCP, 443)), "HTTPS");
        assert_eq!(name(identify(ipproto::TCP, 514)), "RSH");
        assert_eq!(name(identify(ipproto::UDP, 514)), "SYSLOG");
        assert_eq!(name(identify(ipproto::TCP, 40000)), "OTHER");
        assert_eq!(name(identify(ipproto::ICMP, 0)), "OTHER");
        assert_eq!(name(identify(ipproto::UDP, 21)), "OTHER");
    }

    #[test]
    fn keywords_resolve() {
        assert_eq!(by_keyword("DNS"), by_keyword("dns"));
        assert_eq!(name(by_keyword("ftp-data").unwrap_or(OTHER)), "FTP-DATA");
        assert_eq!(by_keyword("other"), None);
        assert_eq!(by_keyword("nonsense"), None);
    }

    #[test]
    fn user_apps_are_bounded_and_ids_come_round() {
        let mut u = UserApps::default();
        let a = u.add("Alpha").unwrap();
        assert_eq!(a, FIRST_USER_APP);
        assert_eq!(u.add("ALPHA"), Ok(a));
        assert_eq!(u.name(a), Some("alpha"));
        assert_eq!(u.display_name(a), "ALPHA");
        assert_eq!(u.keyword(a), Some("alpha"));
        assert_eq!(u.keyword(by_keyword("ftp").unwrap_or(OTHER)), Some("ftp"));
        assert_eq!(u.keyword(OTHER), None);
        let b = u.add("beta").unwrap();
        u.remove(a);
        assert_eq!(u.name(a), None);
        assert_eq!(u.display_name(a), "OTHER");
        // The freed id is not the next one handed out.
        let c = u.add("gamma").unwrap();
        assert!(c != a && c != b, "{a} {b} {c}");
        // Defining and removing names forever stays within the bound.
        for i in 0..10 * MAX_USER_APPS {
            let id = u.add(&format!("n{i}")).unwrap();
            assert!(usize::from(id) < APP_IDS);
            u.remove(id);
        }
        assert_eq!(u.len(), 2);
        assert!(u.names.len() <= MAX_USER_APPS);
        for i in 0..MAX_USER_APPS - 2 {
            u.add(&format!("full{i}")).unwrap();
        }
        assert_eq!(u.add("onemore"), Err(TooManyApps));
        assert_eq!(u.add("beta"), Ok(b));
    }

    #[test]
    fn seed_defaults_hold() {
        let aging = |kw| APPS[usize::from(by_keyword(kw).unwrap_or(OTHER))].aging_s;
        assert_eq!(aging("dns"), Some(1));
        assert_eq!(aging("ftp"), Some(3600));
        assert_eq!(aging("sip"), Some(300));
        assert_eq!(aging("tftp"), Some(60));
        assert_eq!(aging("https"), Some(600));
        assert_eq!(aging("ftp-data"), Some(240));
        assert_eq!(aging("http"), None);
    }
}

//! A lab for stateful failover (issue #16): a client and a server joined through two paths,
//! each through its own engine namespace (A and B) where `sessmgr run` bridges the client's
//! and the server's veths inline on AF_PACKET, plus a sync link between A and B:
//!
//! ```text
//!              198.18.11.1/24              198.18.11.2/24
//!          +-- via-a <-> A:toc [A inline] A:tos <-> via-a --+
//!   client |                  A:sync 198.18.13.1/30         | server
//!   lo     |                    |                           | lo
//!   198.18.10.1/32              |                           198.18.20.1/32
//!          |                  B:sync 198.18.13.2/30         |
//!          +-- via-b <-> B:toc [B inline] B:tos <-> via-b --+
//!              198.18.12.1/24              198.18.12.2/24
//! ```
//!
//! The client's and the server's addresses live on their loopbacks and are the same whichever
//! path carries them; a host route on each side picks the path (`use_path`), as VRRP or a
//! routing protocol would. Neighbour entries are fixed, so that no ARP has to cross an
//! engine (a standby one forwards nothing). IPv6 is off in every namespace.
//!
//! Everything it creates goes away when it is dropped, even when a check fails. Namespace
//! names carry a prefix of the test's and the test process's id. Needs root.
#![allow(dead_code)]

use super::lab::{must, ns_out, sh};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CLIENT: &str = "198.18.10.1";
pub const SERVER: &str = "198.18.20.1";
/// The engines' ports facing the client and the server, and their sync link.
pub const TO_CLIENT: &str = "toc";
pub const TO_SERVER: &str = "tos";
pub const SYNC_IF: &str = "sync";
/// The shared key of the remote-backup group.
pub const KEY: &str = "e2e-failover-key";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::A => "A",
            Side::B => "B",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
    /// The hosts' veth on this path.
    pub fn host_if(self) -> &'static str {
        match self {
            Side::A => "via-a",
            Side::B => "via-b",
        }
    }
    /// The link network of this path: 198.18.11.0/24 or 198.18.12.0/24.
    fn net(self) -> u8 {
        match self {
            Side::A => 11,
            Side::B => 12,
        }
    }
    pub fn client_link(self) -> String {
        format!("198.18.{}.1", self.net())
    }
    pub fn server_link(self) -> String {
        format!("198.18.{}.2", self.net())
    }
    pub fn sync_ip(self) -> &'static str {
        match self {
            Side::A => "198.18.13.1",
            Side::B => "198.18.13.2",
        }
    }
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

pub struct Pair {
    pub client: String,
    pub server: String,
    /// The engine namespaces of path A and path B.
    pub ns: [String; 2],
    pub dir: PathBuf,
    children: Vec<Child>,
    engines: [Option<Child>; 2],
    starts: [u32; 2],
}

impl Drop for Pair {
    fn drop(&mut self) {
        for side in [Side::A, Side::B] {
            self.kill_engine(side);
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.client, &self.server, &self.ns[0], &self.ns[1]] {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = sh(&["kill", "-KILL", pid]);
                }
            }
            let _ = sh(&["ip", "netns", "del", ns]);
        }
        // SESSMGR_KEEP_LAB keeps the logs and files for a look after a failure.
        if std::env::var_os("SESSMGR_KEEP_LAB").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn mac(ns: &str, dev: &str) -> String {
    let out = ns_out(ns, &["ip", "-j", "link", "show", dev]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v[0]["address"]
        .as_str()
        .unwrap_or_else(|| panic!("no address for {dev} in {ns}"))
        .to_string()
}

fn offloads_off(ns: &str, dev: &str) {
    // Real checksums and frame sizes on the wire (as tests/common/lab.rs explains).
    must(&[
        "ip", "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off",
        "gro", "off",
    ]);
}

impl Pair {
    /// Namespaces `{prefix}-c-ID`, `{prefix}-s-ID`, `{prefix}-a-ID`, `{prefix}-b-ID` and the
    /// directory `$TMP/sessmgr-{prefix}-ID`; traffic on path A.
    pub fn new(prefix: &str) -> Pair {
        let id = std::process::id() % 100_000;
        let pair = Pair {
            client: format!("{prefix}-c-{id}"),
            server: format!("{prefix}-s-{id}"),
            ns: [format!("{prefix}-a-{id}"), format!("{prefix}-b-{id}")],
            dir: std::env::temp_dir().join(format!("sessmgr-{prefix}-{id}")),
            children: Vec::new(),
            engines: [None, None],
            starts: [0, 0],
        };
        let _ = std::fs::remove_dir_all(&pair.dir);
        std::fs::create_dir_all(&pair.dir).expect("temp dir");
        use std::os::unix::fs::PermissionsExt;
        // vsftpd (running as root, anonymous user ftp) reads its root below this directory.
        std::fs::set_permissions(&pair.dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        for ns in [&pair.client, &pair.server, &pair.ns[0], &pair.ns[1]] {
            must(&["ip", "netns", "add", ns]);
            must(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            must(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
            ]);
        }
        for side in [Side::A, Side::B] {
            let fw = &pair.ns[side.index()];
            let dev = side.host_if();
            must(&[
                "ip",
                "link",
                "add",
                dev,
                "netns",
                &pair.client,
                "type",
                "veth",
                "peer",
                "name",
                TO_CLIENT,
                "netns",
                fw,
            ]);
            must(&[
                "ip",
                "link",
                "add",
                dev,
                "netns",
                &pair.server,
                "type",
                "veth",
                "peer",
                "name",
                TO_SERVER,
                "netns",
                fw,
            ]);
            for (host, addr) in [
                (&pair.client, side.client_link()),
                (&pair.server, side.server_link()),
            ] {
                must(&[
                    "ip",
                    "-n",
                    host,
                    "addr",
                    "add",
                    &format!("{addr}/24"),
                    "dev",
                    dev,
                ]);
                must(&["ip", "-n", host, "link", "set", dev, "up"]);
                offloads_off(host, dev);
            }
            for port in [TO_CLIENT, TO_SERVER] {
                must(&["ip", "-n", fw, "link", "set", port, "up"]);
                offloads_off(fw, port);
            }
        }
        must(&[
            "ip",
            "link",
            "add",
            SYNC_IF,
            "netns",
            &pair.ns[0],
            "type",
            "veth",
            "peer",
            "name",
            SYNC_IF,
            "netns",
            &pair.ns[1],
        ]);
        for side in [Side::A, Side::B] {
            let fw = &pair.ns[side.index()];
            must(&[
                "ip",
                "-n",
                fw,
                "addr",
                "add",
                &format!("{}/30", side.sync_ip()),
                "dev",
                SYNC_IF,
            ]);
            must(&["ip", "-n", fw, "link", "set", SYNC_IF, "up"]);
        }
        must(&[
            "ip",
            "-n",
            &pair.client,
            "addr",
            "add",
            &format!("{CLIENT}/32"),
            "dev",
            "lo",
        ]);
        must(&[
            "ip",
            "-n",
            &pair.server,
            "addr",
            "add",
            &format!("{SERVER}/32"),
            "dev",
            "lo",
        ]);
        // Fixed neighbours on both paths: nothing but the test's traffic crosses an engine.
        for side in [Side::A, Side::B] {
            let dev = side.host_if();
            let (cmac, smac) = (mac(&pair.client, dev), mac(&pair.server, dev));
            for (host, peer, peer_mac) in [
                (&pair.client, side.server_link(), &smac),
                (&pair.server, side.client_link(), &cmac),
            ] {
                must(&[
                    "ip",
                    "-n",
                    host,
                    "neigh",
                    "replace",
                    &peer,
                    "lladdr",
                    peer_mac,
                    "dev",
                    dev,
                    "nud",
                    "permanent",
                ]);
            }
        }
        pair.use_path(Side::A);
        pair
    }

    /// Routes the client's and the server's traffic through `side`'s engine: a host route
    /// on each (`ip route replace`), the source address the loopback's.
    pub fn use_path(&self, side: Side) {
        let dev = side.host_if();
        must(&[
            "ip",
            "-n",
            &self.client,
            "route",
            "replace",
            &format!("{SERVER}/32"),
            "via",
            &side.server_link(),
            "dev",
            dev,
            "src",
            CLIENT,
        ]);
        must(&[
            "ip",
            "-n",
            &self.server,
            "route",
            "replace",
            &format!("{CLIENT}/32"),
            "via",
            &side.client_link(),
            "dev",
            dev,
            "src",
            SERVER,
        ]);
    }

    /// The startup configuration of `side`'s engine: statistics on, synchronization on when
    /// `sync`, the remote-backup group (A primary, B secondary), then `extra` (ACLs, packet
    /// filters).
    pub fn startup(side: Side, sync: bool, extra: &str) -> String {
        let role = match side {
            Side::A => "primary",
            Side::B => "secondary",
        };
        format!(
            "session statistics enable\n{}{extra}\nremote-backup group\n data-channel interface {SYNC_IF}\n local-ip {}\n remote-ip {}\n device-role {role}\n key simple {KEY}\n",
            if sync {
                "session synchronization enable\n"
            } else {
                ""
            },
            side.sync_ip(),
            side.other().sync_ip(),
        )
    }

    pub fn socket(&self, side: Side) -> PathBuf {
        self.dir.join(format!("{}.sock", side.name()))
    }

    /// The engine's log of its `n`-th start (from 1).
    pub fn log_name(side: Side, n: u32) -> String {
        format!("engine-{}-{n}.log", side.name())
    }

    /// The log of the engine's latest start.
    pub fn engine_log(&self, side: Side) -> String {
        self.read(&Self::log_name(side, self.starts[side.index()]))
    }

    /// Starts `side`'s engine inline on toc<->tos, two cores, with `startup` as its startup
    /// configuration (`{A|B}.cfg` beside its config.toml); waits for its control socket to
    /// answer and returns it.
    pub fn start_engine(&mut self, side: Side, startup: &str) -> PathBuf {
        self.kill_engine(side);
        let name = side.name();
        let socket = self.socket(side);
        // A killed engine leaves its socket file behind.
        let _ = std::fs::remove_file(&socket);
        let config = self.dir.join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[runtime]\ncores = 2\nbackend = \"afpacket\"\ninterfaces = [\"{TO_CLIENT}\", \"{TO_SERVER}\"]\nio_mode = \"inline\"\nlog_events = false\ncontrol_socket = \"{}\"\nstartup_config = \"{name}.cfg\"\n",
                socket.display()
            ),
        )
        .expect("config.toml");
        std::fs::write(self.dir.join(format!("{name}.cfg")), startup).expect("startup config");
        self.starts[side.index()] += 1;
        let log = std::fs::File::create(
            self.dir
                .join(Self::log_name(side, self.starts[side.index()])),
        )
        .expect("log");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns[side.index()]])
            .arg(env!("CARGO_BIN_EXE_sessmgr"))
            .args(["run", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start engine");
        self.engines[side.index()] = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() || super::lab::dump(&socket, "stats").is_null() {
            if let Some(Ok(Some(s))) = self.engines[side.index()].as_mut().map(|c| c.try_wait()) {
                panic!(
                    "engine {name} exited at start ({s}):\n{}",
                    self.engine_log(side)
                );
            }
            assert!(
                Instant::now() < deadline,
                "engine {name} did not start:\n{}",
                self.engine_log(side)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        socket
    }

    /// `kill -9` of `side`'s engine; waits for it to be gone.
    pub fn kill_engine(&mut self, side: Side) {
        if let Some(mut c) = self.engines[side.index()].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn engine_pid(&self, side: Side) -> Option<u32> {
        self.engines[side.index()].as_ref().map(|c| c.id())
    }

    /// Starts `args` in namespace `ns`; killed when the pair goes. Its output goes to `log`
    /// in the pair's directory.
    pub fn spawn_in(&mut self, ns: &str, args: &[&str], log: &str) {
        let f = std::fs::File::create(self.dir.join(log)).expect("log file");
        let g = f.try_clone().expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdout(f)
            .stderr(g)
            .spawn()
            .expect("spawn");
        self.children.push(child);
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Waits until the server listens on TCP `port`.
    pub fn wait_listening(&self, port: u16, what: &str, log: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let o = ns_out(&self.server, &["ss", "-Hltn", &format!("sport = :{port}")]);
            if !String::from_utf8_lossy(&o.stdout).trim().is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what} does not listen on port {port}:\n{}",
                self.read(log)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The directory a `Pair` test serves files from, made readable for vsftpd.
pub fn served_dir(dir: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("served dir");
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    d
}

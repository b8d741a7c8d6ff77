//! A network lab for the end-to-end tests: two hosts in their own network namespaces joined
//! through a third one where `sessmgr run` bridges them inline on AF_PACKET, over two veth
//! pairs:
//!
//! ```text
//!   h1:eth0 <-> fw:fwa   [sessmgr run, inline fwa<->fwb]   fw:fwb <-> h2:eth0
//!   198.18.1.1/24                                                198.18.1.2/24
//!   2001:2:1::1/64                                               2001:2:1::2/64
//! ```
//!
//! Everything the lab creates (namespaces with their veths, the processes started in them, its
//! temporary directory) goes away when it is dropped, even when a check fails. Namespace names
//! carry the test process's id, so two test runs never share one. Needs root.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const H1_V4: &str = "198.18.1.1";
pub const H2_V4: &str = "198.18.1.2";
pub const H1_V6: &str = "2001:2:1::1";
pub const H2_V6: &str = "2001:2:1::2";
/// The engine namespace's port facing h1, and the one facing h2.
pub const FW_H1_PORT: &str = "fwa";
pub const FW_H2_PORT: &str = "fwb";

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Root and every tool in `tools`; otherwise fails in CI, says why elsewhere, and returns false.
pub fn prerequisites(tools: &[&str]) -> bool {
    if !is_root() {
        super::skip_or_fail("needs root for network namespaces, veth and AF_PACKET");
        return false;
    }
    for tool in tools {
        if !sh(&["sh", "-c", &format!("command -v {tool}")]) {
            super::skip_or_fail(&format!(
                "{tool} is not installed (scripts/test.sh installs it)"
            ));
            return false;
        }
    }
    true
}

pub fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub fn must(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `args` in namespace `ns` and waits for it.
pub fn ns_out(ns: &str, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .output()
        .expect("ip netns exec")
}

/// The running engine's table or counters as JSON (`sessmgr dump`).
pub fn dump(socket: &Path, what: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sessmgr"))
        .args(["dump", what, "--socket"])
        .arg(socket)
        .output()
        .expect("dump");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The test's namespaces; deleted (with their veths) on drop, even when a check fails.
pub struct Lab {
    pub h1: String,
    pub h2: String,
    pub fw: String,
    children: Vec<Child>,
    engine: Option<Child>,
    /// The name the last engine was started with (`start_engine_with`).
    engine_name: Option<String>,
    pub dir: PathBuf,
    /// The engine's `runtime.backend`: "afpacket" unless the test says otherwise.
    pub backend: &'static str,
    /// More `[runtime]` lines for the engine's config.toml (`fast_path = true`...).
    pub runtime_extra: String,
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop_engine();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.h1, &self.h2, &self.fw] {
            // What our own programs left running in the namespace (a daemon's workers).
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

impl Lab {
    /// Namespaces `{prefix}-h1-ID`, `{prefix}-h2-ID`, `{prefix}-fw-ID` and the directory
    /// `$TMP/sessmgr-{prefix}-ID` (ID from the process id).
    pub fn new(prefix: &str) -> Lab {
        let id = std::process::id() % 100_000;
        let lab = Lab {
            h1: format!("{prefix}-h1-{id}"),
            h2: format!("{prefix}-h2-{id}"),
            fw: format!("{prefix}-fw-{id}"),
            children: Vec::new(),
            engine: None,
            engine_name: None,
            dir: std::env::temp_dir().join(format!("sessmgr-{prefix}-{id}")),
            backend: "afpacket",
            runtime_extra: String::new(),
        };
        let _ = std::fs::remove_dir_all(&lab.dir);
        std::fs::create_dir_all(&lab.dir).expect("temp dir");
        for ns in [&lab.h1, &lab.h2, &lab.fw] {
            must(&["ip", "netns", "add", ns]);
        }
        // h1:eth0 <-> fw:fwa   and   fw:fwb <-> h2:eth0; the engine bridges fwa <-> fwb.
        must(&[
            "ip", "link", "add", "eth0", "netns", &lab.h1, "type", "veth", "peer", "name",
            FW_H1_PORT, "netns", &lab.fw,
        ]);
        must(&[
            "ip", "link", "add", "eth0", "netns", &lab.h2, "type", "veth", "peer", "name",
            FW_H2_PORT, "netns", &lab.fw,
        ]);
        for (ns, v4, v6) in [(&lab.h1, H1_V4, H1_V6), (&lab.h2, H2_V4, H2_V6)] {
            must(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v4}/24"),
                "dev",
                "eth0",
            ]);
            must(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                "eth0",
                "nodad",
            ]);
            must(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
            must(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            // Real checksums and real frame sizes on the wire: veth would otherwise leave
            // checksums to "hardware" and hand over 64 KiB super-frames no port can send.
            must(&[
                "ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off", "tso", "off",
                "gso", "off", "gro", "off",
            ]);
        }
        for dev in [FW_H1_PORT, FW_H2_PORT] {
            must(&["ip", "-n", &lab.fw, "link", "set", "dev", dev, "up"]);
            must(&[
                "ip", "netns", "exec", &lab.fw, "ethtool", "-K", dev, "tx", "off", "tso", "off",
                "gso", "off", "gro", "off",
            ]);
        }
        lab
    }

    /// The same lab with the engine on `backend` ("afpacket" or "afxdp").
    pub fn with_backend(prefix: &str, backend: &'static str) -> Lab {
        let mut lab = Lab::new(prefix);
        lab.backend = backend;
        lab
    }

    /// Permanent ARP and neighbour entries on both hosts for each other, so that no ARP or
    /// neighbour discovery has to cross the engine (for tests about something else, whose
    /// filters would otherwise have to let the hosts' ICMPv6 solicitations through).
    pub fn static_neighbours(&self) {
        let mac = |ns: &str| -> String {
            let out = ns_out(ns, &["ip", "-j", "link", "show", "eth0"]);
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            v[0]["address"].as_str().expect("eth0 address").to_string()
        };
        let (m1, m2) = (mac(&self.h1), mac(&self.h2));
        for (ns, v4, v6, peer_mac) in [(&self.h1, H2_V4, H2_V6, &m2), (&self.h2, H1_V4, H1_V6, &m1)]
        {
            for addr in [v4, v6] {
                must(&[
                    "ip",
                    "-n",
                    ns,
                    "neigh",
                    "replace",
                    addr,
                    "lladdr",
                    peer_mac,
                    "dev",
                    "eth0",
                    "nud",
                    "permanent",
                ]);
            }
        }
    }

    /// Starts `args` in namespace `ns` in the background; it is killed when the lab goes.
    /// Its output goes to `log` in the lab's directory, or nowhere.
    /// python's http.server on port 8080 of namespace `ns`, serving `/` on every address.
    pub fn http_server(&mut self, ns: &str) {
        self.spawn_in(
            ns,
            &[
                "python3",
                "-m",
                "http.server",
                "--bind",
                "::",
                "8080",
                "--directory",
                "/",
            ],
            None,
        );
    }

    pub fn spawn_in(&mut self, ns: &str, args: &[&str], log: Option<&str>) {
        let (out, err) = match log {
            Some(name) => {
                let f = std::fs::File::create(self.dir.join(name)).expect("log file");
                let g = f.try_clone().expect("log file");
                (Stdio::from(f), Stdio::from(g))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn");
        self.children.push(child);
    }

    /// Starts the engine inline on fwa<->fwb in `mode` (bidirectional or hybrid), two cores;
    /// waits for and returns its control socket. Its log goes to `engine-{mode}.log`.
    pub fn start_engine(&mut self, mode: &str) -> PathBuf {
        self.start_engine_with(
            mode,
            &format!("mode = \"{mode}\"\nstatistics_enable = true\n"),
            2,
        )
    }

    /// Starts the engine inline on fwa<->fwb with `session` as its `[session]` section, on
    /// `cores` cores; waits for and returns its control socket. Its log goes to
    /// `engine-{name}.log`.
    pub fn start_engine_with(&mut self, name: &str, session: &str, cores: usize) -> PathBuf {
        self.stop_engine();
        // An engine of another name is another experiment: it starts without the sessions
        // the last one saved at its stop (issue #16's state file, beside startup.cfg). The
        // same name again is a restart, and restores them.
        if self.engine_name.as_deref() != Some(name) {
            let _ = std::fs::remove_file(self.dir.join("startup.cfg.sessions"));
        }
        self.engine_name = Some(name.to_string());
        let socket = self.dir.join(format!("{name}.sock"));
        let config = self.dir.join(format!("{name}.toml"));
        let _ = std::fs::remove_file(&socket);
        std::fs::write(
            &config,
            format!(
                "[session]\n{session}[runtime]\ncores = {cores}\nbackend = \"{}\"\ninterfaces = [\"{FW_H1_PORT}\", \"{FW_H2_PORT}\"]\nio_mode = \"inline\"\nlog_events = false\ncontrol_socket = \"{}\"\n{}",
                self.backend,
                socket.display(),
                self.runtime_extra
            ),
        )
        .expect("config");
        let log = std::fs::File::create(self.dir.join(format!("engine-{name}.log"))).expect("log");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.fw,
                env!("CARGO_BIN_EXE_sessmgr"),
                "run",
                "--config",
            ])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start engine");
        self.engine = Some(child);
        // The socket is bound before the ports open (a second engine on the same path stops
        // before touching a port); the engine answers only once its ports are open and its
        // cores run. A test that sent a frame on the socket's mere existence could lose it to
        // an AF_XDP port still being set up.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() || dump(&socket, "stats").is_null() {
            assert!(Instant::now() < deadline, "engine did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        socket
    }

    /// The engine's process id, while it runs.
    pub fn engine_pid(&self) -> Option<u32> {
        self.engine.as_ref().map(|c| c.id())
    }

    /// SIGTERM to the engine, and waits for it to exit.
    pub fn stop_engine(&mut self) {
        if let Some(mut c) = self.engine.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A link from the engine's namespace to this one, for collectors the test runs itself:
    /// `c{N}-{ID}` here (198.18.9.x+2/30) to `coll` in the engine's namespace (x+1), a /30 of
    /// its own for each lab of the test process. Returns the address the engine reaches the
    /// test at. It goes with the namespace.
    pub fn collector_link(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 60;
        let here = format!("c{n}-{}", std::process::id() % 100_000);
        let (ours, theirs) = (
            format!("198.18.9.{}", 4 * n + 2),
            format!("198.18.9.{}", 4 * n + 1),
        );
        let _ = sh(&["ip", "link", "del", &here]);
        must(&[
            "ip", "link", "add", &here, "type", "veth", "peer", "name", "coll", "netns", &self.fw,
        ]);
        must(&["ip", "addr", "add", &format!("{ours}/30"), "dev", &here]);
        must(&["ip", "link", "set", &here, "up"]);
        must(&[
            "ip",
            "-n",
            &self.fw,
            "addr",
            "add",
            &format!("{theirs}/30"),
            "dev",
            "coll",
        ]);
        must(&["ip", "-n", &self.fw, "link", "set", "coll", "up"]);
        must(&["ip", "-n", &self.fw, "link", "set", "lo", "up"]);
        ours
    }

    /// Writes the engine's startup configuration (`startup.cfg` beside its config.toml, the
    /// default path): the next `start_engine*` applies it.
    pub fn write_startup(&self, text: &str) {
        std::fs::write(self.dir.join("startup.cfg"), text).expect("startup.cfg");
    }

    /// A file of the lab's directory, or an empty string (for failure messages).
    pub fn read_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

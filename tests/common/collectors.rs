//! Real log receivers for the session-log tests (issue #12): a private rsyslogd (UDP and TCP
//! with RFC 6587 octet counting), nfcapd with nfdump to read what it stored (IPFIX), tshark
//! capturing on `lo` and dissecting IPFIX (submodule `tshark`), a plain UDP socket that keeps
//! every datagram, and a decoder of Comware flow log 3.0 written from reference/comware.md
//! §11.3 alone (submodule `flowlog3`; Wireshark has no dissector for it).
//!
//! Every receiver is started by the test, on 127.0.0.1 (or the address given to `start_on`,
//! e.g. the test's end of `Lab::collector_link`) and a port of its own, with its files in a
//! temporary directory of its own, and stopped by its PID when dropped: the tests neither use
//! nor disturb a system rsyslog. Installed by scripts/test.sh (Debian packages rsyslog, nfdump,
//! tshark).
#![allow(dead_code)]

pub mod flowlog3;
pub mod tshark;

use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a receiver may take to start listening, or a stopped one to exit.
const START_TIMEOUT: Duration = Duration::from_secs(15);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Root (tshark's capture on `lo` needs it) and every tool in `tools` on the PATH; otherwise
/// fails in CI, says why elsewhere, and returns false.
pub fn prerequisites(tools: &[&str], need_root: bool) -> bool {
    if need_root && !super::lab::is_root() {
        super::skip_or_fail("needs root to capture on lo with tshark");
        return false;
    }
    for tool in tools {
        if !super::lab::sh(&["sh", "-c", &format!("command -v {tool}")]) {
            super::skip_or_fail(&format!(
                "{tool} is not installed (scripts/test.sh installs it)"
            ));
            return false;
        }
    }
    true
}

/// A directory of the test's own, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sessmgr-{prefix}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A loopback UDP port free now (the kernel picks it; the socket is closed before the receiver
/// binds it, so another process could take it in between: the receiver's start then fails
/// loudly rather than a test passing on someone else's socket).
pub fn free_udp_port() -> u16 {
    free_udp_port_on(LOOPBACK)
}

pub fn free_udp_port_on(addr: Ipv4Addr) -> u16 {
    UdpSocket::bind((addr, 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("a free UDP port on {addr}: {e}"))
}

pub fn free_tcp_port_on(addr: Ipv4Addr) -> u16 {
    TcpListener::bind((addr, 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("a free TCP port on {addr}: {e}"))
}

/// Whether a socket is bound to `addr`:`port` in this namespace's `/proc/net/{udp,tcp}` (any
/// owner: the caller checks its own process is alive). TCP: listening only.
fn bound(proto: &str, addr: Ipv4Addr, port: u16) -> bool {
    // The kernel prints the address as the u32 it stores (network order read natively).
    let want = format!("{:08X}:{port:04X}", u32::from_le_bytes(addr.octets()));
    std::fs::read_to_string(format!("/proc/net/{proto}"))
        .map(|t| {
            t.lines().skip(1).any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                // TCP state 0A = LISTEN.
                cols.get(1) == Some(&want.as_str())
                    && (proto == "udp" || cols.get(3) == Some(&"0A"))
            })
        })
        .unwrap_or(false)
}

/// A receiver process of the test's: stopped with SIGTERM by its PID (so it flushes what it
/// holds), then SIGKILL if it does not exit in time.
struct Daemon {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    fn spawn(name: &'static str, cmd: &mut Command, log: PathBuf) -> Daemon {
        let out = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let err = out.try_clone().expect("clone log file handle");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Daemon {
            name,
            child: Some(child),
            log,
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `ready` holds; panics with the daemon's own output if it exits or times out.
    fn wait_until(&mut self, what: &str, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if ready() {
                return;
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!(
                    "{} exited ({status}) before {what}:\n{}",
                    self.name,
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} not {what} after {START_TIMEOUT:?}:\n{}",
                self.name,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// SIGTERM, wait, SIGKILL if needed. Idempotent.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + STOP_TIMEOUT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
        }
        let _ = child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------------
// rsyslog

/// One message as rsyslog received and parsed it (its property names in brackets).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct SyslogMessage {
    /// `pri`
    pub pri: String,
    /// `protocol-version`: "1" for RFC 5424, "0" for the legacy (RFC 3164) format.
    pub version: String,
    /// `timereported`, RFC 3339 (rsyslog's reading of the message's own timestamp).
    pub timestamp: String,
    pub hostname: String,
    /// `app-name` (RFC 5424) or the tag (legacy).
    pub app: String,
    pub msgid: String,
    /// `structured-data` ("-" when none).
    pub sd: String,
    /// `msg`: the text after the header (legacy: with its leading space).
    pub msg: String,
    /// `rawmsg`: the message exactly as received (for TCP: without the octet count).
    pub raw: String,
}

/// A private rsyslogd: `rsyslogd -n -f CONF -i PIDFILE` with its work directory, config and
/// output in a temporary directory, imudp/imtcp on 127.0.0.1. Each message received is written
/// as one JSON line holding its raw text and rsyslog's parse of it.
pub struct Rsyslog {
    daemon: Daemon,
    pub addr: Ipv4Addr,
    pub udp_port: Option<u16>,
    pub tcp_port: Option<u16>,
    out: PathBuf,
    dir: TempDir,
}

impl Rsyslog {
    /// Starts rsyslogd listening on the given loopback ports (`Some(0)`: a free one is chosen;
    /// `None`: no listener of that transport) and waits until it listens.
    pub fn start(udp_port: Option<u16>, tcp_port: Option<u16>) -> Rsyslog {
        Rsyslog::start_on(LOOPBACK, udp_port, tcp_port)
    }

    /// The same on another local address (one of this namespace's).
    pub fn start_on(addr: Ipv4Addr, udp_port: Option<u16>, tcp_port: Option<u16>) -> Rsyslog {
        let udp_port = udp_port.map(|p| if p == 0 { free_udp_port_on(addr) } else { p });
        let tcp_port = tcp_port.map(|p| if p == 0 { free_tcp_port_on(addr) } else { p });
        assert!(
            udp_port.is_some() || tcp_port.is_some(),
            "rsyslog needs a UDP or a TCP port"
        );
        let dir = TempDir::new("rsyslog");
        let out = dir.path().join("messages.jsonl");
        let conf = dir.path().join("rsyslog.conf");
        std::fs::write(
            &conf,
            rsyslog_conf(dir.path(), &out, addr, udp_port, tcp_port),
        )
        .expect("write rsyslog.conf");
        let check = Command::new("rsyslogd")
            .arg("-N1")
            .arg("-f")
            .arg(&conf)
            .output()
            .expect("rsyslogd -N1");
        assert!(
            check.status.success(),
            "rsyslogd rejects its config:\n{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let daemon = Daemon::spawn(
            "rsyslogd",
            Command::new("rsyslogd")
                .arg("-n")
                .arg("-f")
                .arg(&conf)
                .arg("-i")
                .arg(dir.path().join("rsyslogd.pid")),
            dir.path().join("rsyslogd.log"),
        );
        let mut r = Rsyslog {
            daemon,
            addr,
            udp_port,
            tcp_port,
            out,
            dir,
        };
        r.wait_ready();
        r
    }

    /// Waits until rsyslogd has bound its ports.
    pub fn wait_ready(&mut self) {
        let (addr, udp, tcp) = (self.addr, self.udp_port, self.tcp_port);
        self.daemon.wait_until("listening", || {
            udp.is_none_or(|p| bound("udp", addr, p)) && tcp.is_none_or(|p| bound("tcp", addr, p))
        });
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<SyslogMessage> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("rsyslog output line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// The raw text of every message received so far.
    pub fn lines(&self) -> Vec<String> {
        self.messages().into_iter().map(|m| m.raw).collect()
    }

    /// Waits until at least `n` messages have been written (or `timeout`), and returns them all.
    pub fn wait_messages(&self, n: usize, timeout: Duration) -> Vec<SyslogMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// rsyslogd's own output (errors about the config or the inputs).
    pub fn log(&self) -> String {
        self.daemon.output()
    }

    pub fn stop(&mut self) {
        self.daemon.stop();
    }
}

/// rsyslog's configuration: nothing of the system's (no imuxsock, no /etc/rsyslog.d), only the
/// test's inputs and one output file.
///
/// Parsers: RFC 5424 first, then rsyslog's RFC 3164 parser with `detect.YearAfterTimestamp`,
/// because Comware's `date` timestamp puts the year after the time ("Dec  1 08:15:43 2019
/// FW-F1050 ..."), which the default parser would read as the hostname. imtcp accepts RFC 6587
/// octet-counted framing by default (SupportOctetCountedFraming="on") and LF-terminated
/// messages too.
fn rsyslog_conf(
    dir: &Path,
    out: &Path,
    addr: Ipv4Addr,
    udp: Option<u16>,
    tcp: Option<u16>,
) -> String {
    let mut c = format!(
        r#"global(workDirectory="{dir}" maxMessageSize="64k")
parser(name="comware.rfc3164" type="pmrfc3164" detect.YearAfterTimestamp="on")
template(name="sessmgr.json" type="list" option.jsonf="on") {{
  property(outname="pri" name="pri" format="jsonf")
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="raw" name="rawmsg" format="jsonf")
}}
ruleset(name="sessmgr" parser=["rsyslog.rfc5424", "comware.rfc3164"]) {{
  action(type="omfile" file="{out}" template="sessmgr.json")
}}
"#,
        dir = dir.display(),
        out = out.display()
    );
    // A replay sends its logs as fast as it can; with the other tests of the binary taking
    // the CPUs, rsyslog's default socket buffer overflowed (5 of 1,200 lost once). 8 MiB holds
    // a whole test's datagrams (as root rsyslog forces the size past rmem_max).
    if let Some(p) = udp {
        c.push_str(&format!(
            "module(load=\"imudp\")\ninput(type=\"imudp\" address=\"{addr}\" port=\"{p}\" ruleset=\"sessmgr\" rcvbufSize=\"8m\")\n"
        ));
    }
    if let Some(p) = tcp {
        c.push_str(&format!(
            "module(load=\"imtcp\")\ninput(type=\"imtcp\" address=\"{addr}\" port=\"{p}\" ruleset=\"sessmgr\")\n"
        ));
    }
    c
}

// ---------------------------------------------------------------------------------------------
// nfcapd / nfdump

/// One flow as `nfdump -o csv` lists it. For a biflow (IPFIX initiator/responder or RFC 5103
/// reverse elements) `in_*` are the initiator's counters and `out_*` the responder's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfdumpRecord {
    /// First and last seen, as nfdump prints them (UTC, to the second).
    pub first: String,
    pub last: String,
    /// Protocol name as nfdump prints it ("TCP", "UDP", ...).
    pub proto: String,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub in_packets: u64,
    pub in_bytes: u64,
    pub out_packets: u64,
    pub out_bytes: u64,
    pub input_if: u32,
    pub output_if: u32,
}

/// nfcapd (nfdump 1.7 syntax) listening on 127.0.0.1:PORT, writing into a directory of the
/// test's: `nfcapd -w DIR -b 127.0.0.1 -p PORT -t 3600 -P PIDFILE` in the foreground. Its
/// file is complete only once nfcapd has exited: SIGTERM makes it close the file.
pub struct Nfcapd {
    daemon: Daemon,
    pub addr: Ipv4Addr,
    pub port: u16,
    flows: PathBuf,
    dir: TempDir,
}

impl Nfcapd {
    /// Starts nfcapd on 127.0.0.1:`port` (0: a free one) and waits until it listens.
    pub fn start(port: u16) -> Nfcapd {
        Nfcapd::start_on(LOOPBACK, port)
    }

    /// The same on another local address (one of this namespace's).
    pub fn start_on(addr: Ipv4Addr, port: u16) -> Nfcapd {
        let port = if port == 0 {
            free_udp_port_on(addr)
        } else {
            port
        };
        let dir = TempDir::new("nfcapd");
        let flows = dir.path().join("flows");
        std::fs::create_dir_all(&flows).expect("create the flow directory");
        let daemon = Daemon::spawn(
            "nfcapd",
            Command::new("nfcapd")
                .arg("-w")
                .arg(&flows)
                .args(["-b", &addr.to_string(), "-p", &port.to_string()])
                // One file for the whole test: the rotation interval is longer than any test.
                .args(["-t", "3600"])
                .arg("-P")
                .arg(dir.path().join("nfcapd.pid"))
                .env("TZ", "UTC"),
            dir.path().join("nfcapd.log"),
        );
        let mut n = Nfcapd {
            daemon,
            addr,
            port,
            flows,
            dir,
        };
        n.daemon
            .wait_until("listening", || bound("udp", addr, port));
        n
    }

    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// nfcapd's own output (its end-of-run summary: flows, packets, bytes, sequence errors).
    pub fn log(&self) -> String {
        self.daemon.output()
    }

    /// Stops nfcapd (SIGTERM: it writes out and closes its file).
    pub fn stop(&mut self) {
        self.daemon.stop();
    }

    /// The flow files nfcapd has closed (`nfcapd.YYYYMMDDhhmm`), sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.flows)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("nfcapd.2"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Stops nfcapd, then lists every flow it stored with `nfdump -r FILE -o csv`.
    pub fn records(&mut self) -> Vec<NfdumpRecord> {
        self.stop();
        let files = self.files();
        assert!(
            !files.is_empty(),
            "nfcapd wrote no file in {}:\n{}",
            self.flows.display(),
            self.log()
        );
        files.iter().flat_map(|f| nfdump_csv(f)).collect()
    }

    /// `nfdump -r FILE -I`: the file's statistics (flows, packets, bytes, sequence failures).
    pub fn stat(&self) -> String {
        self.files()
            .iter()
            .map(|f| nfdump_text(&["-r", &f.to_string_lossy(), "-I"]))
            .collect()
    }
}

fn nfdump_text(args: &[&str]) -> String {
    let out = Command::new("nfdump")
        .args(args)
        .env("TZ", "UTC")
        .output()
        .expect("run nfdump");
    assert!(
        out.status.success(),
        "nfdump {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `nfdump -r FILE -o csv` and parses its rows by the header's column names (ts, te, pr,
/// sa, da, sp, dp, ipkt, ibyt, opkt, obyt, in, out). The summary after the rows is skipped.
pub fn nfdump_csv(file: &Path) -> Vec<NfdumpRecord> {
    let text = nfdump_text(&["-r", &file.to_string_lossy(), "-o", "csv"]);
    parse_nfdump_csv(&text)
}

pub fn parse_nfdump_csv(text: &str) -> Vec<NfdumpRecord> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("nfdump csv has no column {name}: {header:?}"))
    };
    let (ts, te, pr, sa, da, sp, dp) = (
        col("ts"),
        col("te"),
        col("pr"),
        col("sa"),
        col("da"),
        col("sp"),
        col("dp"),
    );
    let (ipkt, ibyt, opkt, obyt, inp, outp) = (
        col("ipkt"),
        col("ibyt"),
        col("opkt"),
        col("obyt"),
        col("in"),
        col("out"),
    );
    let mut rows = Vec::new();
    for line in lines {
        // The rows end at the blank line or the "Summary" block.
        if line.trim().is_empty() || line.starts_with("Summary") {
            break;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        assert_eq!(f.len(), header.len(), "nfdump csv row: {line}");
        let num = |i: usize| -> u64 {
            f[i].parse().unwrap_or_else(|_| {
                panic!("nfdump csv column {} is not a number: {line}", header[i])
            })
        };
        let ip = |i: usize| -> IpAddr {
            f[i].parse().unwrap_or_else(|_| {
                panic!("nfdump csv column {} is not an address: {line}", header[i])
            })
        };
        rows.push(NfdumpRecord {
            first: f[ts].to_string(),
            last: f[te].to_string(),
            proto: f[pr].to_string(),
            src: ip(sa),
            dst: ip(da),
            src_port: num(sp) as u16,
            dst_port: num(dp) as u16,
            in_packets: num(ipkt),
            in_bytes: num(ibyt),
            out_packets: num(opkt),
            out_bytes: num(obyt),
            input_if: num(inp) as u32,
            output_if: num(outp) as u32,
        });
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// A plain UDP receiver

/// A UDP socket on 127.0.0.1 or another local address (a free port) whose thread keeps every
/// datagram received, for formats no packaged collector reads (flow log 3.0).
pub struct UdpCapture {
    pub port: u16,
    got: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpCapture {
    pub fn bind() -> UdpCapture {
        UdpCapture::bind_on(LOOPBACK)
    }

    pub fn bind_on(addr: Ipv4Addr) -> UdpCapture {
        let socket = UdpSocket::bind((addr, 0))
            .unwrap_or_else(|e| panic!("bind a UDP socket on {addr}: {e}"));
        let port = socket.local_addr().expect("local address").port();
        // Short reads so the thread sees `stop` soon after it is set.
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("set a read timeout");
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (got, stop) = (got.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(n) = socket.recv(&mut buf)
                        && let Ok(mut g) = got.lock()
                    {
                        g.push(buf[..n].to_vec());
                    }
                }
            })
        };
        UdpCapture {
            port,
            got,
            stop,
            thread: Some(thread),
        }
    }

    /// Waits until at least `n` datagrams have arrived (or `timeout`), and returns them all.
    pub fn wait_datagrams(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.datagrams();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every datagram received so far, in arrival order.
    pub fn datagrams(&self) -> Vec<Vec<u8>> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

impl Drop for UdpCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the session logs back

/// The `Name(id)=value;` pairs of a Comware session log's text (reference/comware.md §11.2),
/// in order. Panics on text that is not such a list: a test must not pass on garbage.
pub fn comware_fields(text: &str) -> Vec<(String, u16, String)> {
    let body = text.trim();
    let body = match body.find(": ") {
        // The legacy envelope's text starts with "%%10SESSION/6/SESSION_IPV4_FLOW: ".
        Some(i) if body.starts_with("%%") => &body[i + 2..],
        _ => body,
    };
    let body = body
        .strip_suffix(';')
        .unwrap_or_else(|| panic!("a Comware field list ends with ';': {text}"));
    body.split(';')
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("field without '=': {pair} in {text}"));
            let (name, id) = key
                .strip_suffix(')')
                .and_then(|k| k.split_once('('))
                .unwrap_or_else(|| panic!("field name without (id): {key} in {text}"));
            let id = id
                .parse()
                .unwrap_or_else(|_| panic!("field id is not a number: {key}"));
            (name.to_string(), id, value.to_string())
        })
        .collect()
}

/// The parameters of an RFC 5424 structured-data element `[id name="value" ...]` (one element;
/// `\"`, `\\` and `\]` unescaped, RFC 5424 §6.3.3), with the element's id.
pub fn sd_params(sd: &str) -> (String, Vec<(String, String)>) {
    let inner = sd
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not one SD element: {sd}"));
    let (id, mut rest) = inner.split_once(' ').unwrap_or((inner, ""));
    let mut params = Vec::new();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("SD parameter without =\": {rest}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '"' => {
                    end = Some(i);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end.unwrap_or_else(|| panic!("unterminated SD value in {sd}"));
        params.push((name.to_string(), value));
        rest = after[end + 1..].trim_start();
    }
    (id.to_string(), params)
}

/// nfdump's version as (major, minor, patch) from `nfdump -V` ("nfdump: Version: NSEL-NEL1.7.1").
pub fn nfdump_version() -> (u32, u32, u32) {
    let text = nfdump_text(&["-V"]);
    let v = text
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|s| s.matches('.').count() >= 2)
        .unwrap_or_else(|| panic!("no version in nfdump -V: {text}"));
    let mut it = v.split('.').map(|n| n.parse().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

//! End to end (issue #5, acceptance): real FTP and TFTP programs through `sessmgr run` inline.
//!
//! A client host (h1) and a server host (h2), each in its own network namespace, joined through
//! a third namespace where the engine bridges them inline on AF_PACKET with two cores
//! (tests/common/lab.rs). The engine is configured through its console (`sessmgr console`,
//! lines on stdin): ACL 3900 denies everything (IPv4 and IPv6), applied with
//! `packet-filter [ipv6] 3900 inbound` on the port facing the server, so every new session that
//! starts from the server side is denied, while replies and data connections that claim a
//! relation entry pass (Comware's session-based filtering).
//!
//! Programs: vsftpd (one daemon, `listen_ipv6=YES`, both families; active-mode data from port
//! 20) serves a file of 1 MiB of random bytes; lftp and curl fetch it in passive (PASV, EPSV)
//! and active (PORT, EPRT) modes over IPv4 and IPv6; tftpd-hpa (one daemon per family) and the
//! tftp-hpa client get and put files. Every transfer is compared byte for byte with its source.
//!
//! What must hold (each item is checked and reported on its own; the test fails at the end
//! with the list of every item that did not hold):
//! 1. with the ALGs on (the default) every transfer succeeds byte for byte, and a connection
//!    the server starts on its own is denied;
//! 2. after `undo alg ftp` the active-mode transfers fail (the server's data connection is a
//!    new session from the server side) while passive ones still pass; after `alg ftp` they
//!    succeed again; likewise TFTP with `undo alg tftp` / `alg all`;
//! 3. while a transfer is being set up (python's ftplib, stopped between the PASV/EPSV/PORT/
//!    EPRT exchange and the data connection) `display session relation-table` shows the entry
//!    (destination = the announced address and port, App FTP-DATA) and `display session
//!    statistics` counts it; once the data connection is open the entry is gone and
//!    `display session table ... verbose` shows the data session with `Application: FTP-DATA`;
//! 4. what the packet filter denies is dropped and counted (`sessmgr dump stats`, a drop
//!    reason naming the filter).
//!
//! Needs root (namespaces, veth, AF_PACKET) and the programs scripts/test.sh installs. Outside
//! CI it skips with a reason when they are missing; in CI it fails instead. Addresses:
//! 198.18.0.0/15 and 2001:2::/48 only.

mod common;

use common::acceptance::{
    ACL, Checks, console_errors, filter_drops, last_lines, no_console_errors,
    relation_entries_counted,
};
use common::engine::console;
use common::lab::{FW_H2_PORT, H1_V4, H1_V6, H2_V4, H2_V6, Lab, ns_out, prerequisites};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The file every FTP and TFTP download fetches.
const FILE: &str = "blob.bin";
const FILE_SIZE: usize = 1 << 20;
/// What the TFTP uploads send.
const UPLOAD_SIZE: usize = 300_000;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Client {
    Lftp,
    Curl,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Pasv,
    Epsv,
    Port,
    Eprt,
}

impl Mode {
    /// The FTP command that announces the data connection.
    fn command(self) -> &'static str {
        match self {
            Mode::Pasv => "PASV",
            Mode::Epsv => "EPSV",
            Mode::Port => "PORT",
            Mode::Eprt => "EPRT",
        }
    }

    /// The server opens the data connection.
    fn active(self) -> bool {
        matches!(self, Mode::Port | Mode::Eprt)
    }
}

#[derive(Clone, Copy, Debug)]
struct Transfer {
    client: Client,
    mode: Mode,
    v6: bool,
}

const fn xfer(client: Client, mode: Mode, v6: bool) -> Transfer {
    Transfer { client, mode, v6 }
}

/// Every client, mode and family combination the programs offer. lftp sends EPSV over IPv4
/// only with `ftp:prefer-epsv yes` and EPRT only over IPv6; PASV and PORT cannot carry an IPv6
/// address.
const TRANSFERS: &[Transfer] = &[
    xfer(Client::Lftp, Mode::Pasv, false),
    xfer(Client::Lftp, Mode::Epsv, false),
    xfer(Client::Lftp, Mode::Port, false),
    xfer(Client::Curl, Mode::Pasv, false),
    xfer(Client::Curl, Mode::Epsv, false),
    xfer(Client::Curl, Mode::Port, false),
    xfer(Client::Curl, Mode::Eprt, false),
    xfer(Client::Lftp, Mode::Epsv, true),
    xfer(Client::Lftp, Mode::Eprt, true),
    xfer(Client::Curl, Mode::Epsv, true),
    xfer(Client::Curl, Mode::Eprt, true),
];

impl Transfer {
    fn name(&self) -> String {
        format!(
            "{:?} {} over IPv{}",
            self.client,
            self.mode.command(),
            if self.v6 { 6 } else { 4 }
        )
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut v))
        .expect("/dev/urandom");
    v
}

fn sha256(data: &[u8]) -> String {
    let mut c = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    c.stdin
        .take()
        .expect("stdin")
        .write_all(data)
        .expect("sha256sum");
    let out = c.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Compares a received file with its source.
fn same_bytes(path: &Path, source: &[u8]) -> Result<(), String> {
    match std::fs::read(path) {
        Ok(got) if got == source => Ok(()),
        Ok(got) => Err(format!(
            "{} differs from its source: {} bytes (sha256 {}), expected {} bytes (sha256 {})",
            path.display(),
            got.len(),
            sha256(&got),
            source.len(),
            sha256(source)
        )),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// The servers on h2: their roots and what they serve.
struct Servers {
    tftp_root: PathBuf,
    source: Vec<u8>,
    upload: Vec<u8>,
}

fn vsftpd_conf(root: &Path, empty: &Path, log: &Path) -> String {
    format!(
        "# sessmgr e2e_alg: anonymous, read-only, both families, verbose log\n\
         listen=NO\n\
         listen_ipv6=YES\n\
         background=NO\n\
         anonymous_enable=YES\n\
         no_anon_password=YES\n\
         anon_root={}\n\
         local_enable=NO\n\
         write_enable=NO\n\
         seccomp_sandbox=NO\n\
         secure_chroot_dir={}\n\
         pasv_enable=YES\n\
         pasv_min_port=40000\n\
         pasv_max_port=40999\n\
         port_enable=YES\n\
         connect_from_port_20=YES\n\
         connect_timeout=5\n\
         data_connection_timeout=30\n\
         syslog_enable=NO\n\
         log_ftp_protocol=YES\n\
         xferlog_enable=YES\n\
         xferlog_std_format=NO\n\
         vsftpd_log_file={}\n",
        root.display(),
        empty.display(),
        log.display()
    )
}

/// Waits until h2 listens on TCP port 21 and on UDP port 69 for both families.
fn wait_for_servers(lab: &Lab) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tcp = ns_out(&lab.h2, &["ss", "-Hltn", "sport = :21"]);
        let udp = ns_out(&lab.h2, &["ss", "-Hlun", "sport = :69"]);
        let tcp_ok = !String::from_utf8_lossy(&tcp.stdout).trim().is_empty();
        let udp_ok = String::from_utf8_lossy(&udp.stdout).lines().count() >= 2;
        if tcp_ok && udp_ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "servers did not start (ftp {tcp_ok}, tftp {udp_ok}); vsftpd says:\n{}\ntftpd says:\n{}{}",
            lab.read_log("vsftpd.out"),
            lab.read_log("tftpd4.out"),
            lab.read_log("tftpd6.out")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_servers(lab: &mut Lab) -> Servers {
    let ftp_root = lab.dir.join("ftp");
    let empty = lab.dir.join("empty");
    let tftp_root = lab.dir.join("tftp");
    for d in [&ftp_root, &empty, &tftp_root] {
        std::fs::create_dir_all(d).expect("server dir");
    }
    // vsftpd refuses an anonymous root the anonymous user may write to; tftpd-hpa runs as
    // nobody and must create uploaded files.
    use std::os::unix::fs::PermissionsExt;
    for (d, mode) in [
        (&lab.dir, 0o755),
        (&ftp_root, 0o755),
        (&empty, 0o755),
        (&tftp_root, 0o777),
    ] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let source = random_bytes(FILE_SIZE);
    let upload = random_bytes(UPLOAD_SIZE);
    std::fs::write(ftp_root.join(FILE), &source).expect("ftp file");
    std::fs::write(tftp_root.join(FILE), &source).expect("tftp file");
    std::fs::write(lab.dir.join("upload.bin"), &upload).expect("upload file");

    let conf = lab.dir.join("vsftpd.conf");
    std::fs::write(
        &conf,
        vsftpd_conf(&ftp_root, &empty, &lab.dir.join("vsftpd.log")),
    )
    .expect("vsftpd.conf");
    let h2 = lab.h2.clone();
    let conf = conf.display().to_string();
    lab.spawn_in(&h2, &["vsftpd", &conf], Some("vsftpd.out"));
    let root = tftp_root.display().to_string();
    for (family, address, log) in [
        ("-4", format!("{H2_V4}:69"), "tftpd4.out"),
        ("-6", format!("[{H2_V6}]:69"), "tftpd6.out"),
    ] {
        // -L: foreground; -c: uploads may create files; -s: chroot to the root.
        lab.spawn_in(
            &h2,
            &[
                "in.tftpd",
                "-L",
                family,
                "-c",
                "-s",
                &root,
                "--address",
                &address,
            ],
            Some(log),
        );
    }
    wait_for_servers(lab);
    Servers {
        tftp_root,
        source,
        upload,
    }
}

/// How `ftp_get` says the transfer failed before its data connection was announced.
const NEVER_SENT: &str = "the client never sent";

/// How many times vsftpd could not open an active-mode data connection (its protocol log).
fn failed_data_connections(lab: &Lab) -> usize {
    lab.read_log("vsftpd.log")
        .matches("425 Failed to establish connection")
        .count()
}

/// Downloads FILE with `tr` into the lab's directory and compares it with the source. The
/// client's own debug output must show it used the announcing command `tr` asks for.
fn ftp_get(lab: &Lab, tr: Transfer, tag: &str, source: &[u8]) -> Result<(), String> {
    let host = if tr.v6 {
        format!("[{H2_V6}]")
    } else {
        H2_V4.to_string()
    };
    let out = lab.dir.join(format!(
        "{tag}-{:?}-{}-v{}.bin",
        tr.client,
        tr.mode.command(),
        if tr.v6 { 6 } else { 4 }
    ));
    let _ = std::fs::remove_file(&out);
    let out_s = out.display().to_string();
    let (args, sent): (Vec<String>, String) = match tr.client {
        Client::Lftp => {
            let script = format!(
                "set ftp:ssl-allow no; set ftp:passive-mode {}; set ftp:prefer-epsv {}; \
                 set net:timeout 5; set net:max-retries 1; set net:reconnect-interval-base 1; \
                 get {FILE} -o {out_s}; bye",
                if tr.mode.active() { "off" } else { "on" },
                if tr.mode == Mode::Epsv { "yes" } else { "no" },
            );
            (
                vec![
                    "timeout".into(),
                    "40".into(),
                    "lftp".into(),
                    "-d".into(),
                    "-e".into(),
                    script,
                    format!("ftp://{host}"),
                ],
                format!("---> {}", tr.mode.command()),
            )
        }
        Client::Curl => {
            let mut a: Vec<String> = ["curl", "-sS", "-v", "--max-time", "10"]
                .map(String::from)
                .to_vec();
            let flags: &[&str] = match tr.mode {
                Mode::Pasv => &["--ftp-pasv", "--disable-epsv"],
                Mode::Epsv => &["--ftp-pasv"],
                Mode::Port => &["--ftp-port", "-", "--disable-eprt"],
                Mode::Eprt => &["--ftp-port", "-"],
            };
            a.extend(flags.iter().map(|s| s.to_string()));
            a.extend([format!("ftp://{host}/{FILE}"), "-o".into(), out_s.clone()]);
            (a, format!("> {}", tr.mode.command()))
        }
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let o = ns_out(&lab.h1, &args);
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if !log.lines().any(|l| l.starts_with(&sent)) {
        return Err(format!(
            "{NEVER_SENT} {} ({}, after {:?}):\n{}",
            tr.mode.command(),
            o.status,
            started.elapsed(),
            last_lines(&log, 25)
        ));
    }
    if !o.status.success() {
        return Err(format!(
            "{} after {:?}:\n{}",
            o.status,
            started.elapsed(),
            last_lines(&log, 25)
        ));
    }
    same_bytes(&out, source)
}

/// A TFTP get (of FILE) or put (of upload.bin) with tftp-hpa, compared with its source.
/// `limit_s` bounds the whole run (the client itself would retry for 25 s); 1 MiB takes about
/// 2 s through the engine.
fn tftp(
    lab: &Lab,
    servers: &Servers,
    v6: bool,
    put: bool,
    tag: &str,
    limit_s: u32,
) -> Result<(), String> {
    let fam = if v6 { 6 } else { 4 };
    let host = if v6 { H2_V6 } else { H2_V4 };
    let local = lab.dir.join(format!("{tag}-tftp-v{fam}.bin"));
    let remote = format!("{tag}-put-v{fam}.bin");
    let _ = std::fs::remove_file(&local);
    let _ = std::fs::remove_file(servers.tftp_root.join(&remote));
    let (command, received, expected) = if put {
        let up = lab.dir.join("upload.bin").display().to_string();
        (
            format!("put {up} {remote}"),
            servers.tftp_root.join(&remote),
            &servers.upload,
        )
    } else {
        (
            format!("get {FILE} {}", local.display()),
            local.clone(),
            &servers.source,
        )
    };
    let limit = limit_s.to_string();
    let fam_flag = format!("-{fam}");
    let mut args = vec![
        "timeout", &limit, "tftp", &fam_flag, "-m", "binary", host, "-c",
    ];
    args.extend(command.split(' '));
    let o = ns_out(&lab.h1, &args);
    if !o.status.success() {
        return Err(format!(
            "tftp {command}: {}: {}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    same_bytes(&received, expected)
}

/// `curl` from h2 to the web server on h1: a session the server side starts.
fn server_started_http(lab: &Lab, v6: bool) -> Result<String, String> {
    let url = if v6 {
        format!("http://[{H1_V6}]:8080/")
    } else {
        format!("http://{H1_V4}:8080/")
    };
    let o = ns_out(
        &lab.h2,
        &[
            "curl",
            "-sS",
            "--connect-timeout",
            "3",
            "--max-time",
            "5",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &url,
        ],
    );
    let code = String::from_utf8_lossy(&o.stdout).to_string();
    if o.status.success() && code == "200" {
        Ok(code)
    } else {
        Err(format!(
            "{} {code} {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ))
    }
}

/// The python ftplib client of check 3: logs in, announces the data connection with MODE
/// (PASV, EPSV, PORT or EPRT), prints `ANNOUNCED host port`, waits for a line on stdin, opens
/// the data connection and reads its first byte, prints `DATA local-ip local-port peer-ip
/// peer-port`, waits for a line, reads the rest and prints `SHA256 digest`.
const FTP_STEPS: &str = r#"
import ftplib, hashlib, socket, sys
mode, host, path = sys.argv[1:4]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
ftp = ftplib.FTP()
ftp.connect(host, 21, timeout=15)
ftp.login()
ftp.voidcmd("TYPE I")
local = ftp.sock.getsockname()[0]
if mode == "PASV":
    h, p = ftplib.parse227(ftp.sendcmd("PASV"))
elif mode == "EPSV":
    h, p = ftplib.parse229(ftp.sendcmd("EPSV"), ftp.sock.getpeername())
else:
    ls = socket.create_server((local, 0), family=fam, backlog=1)
    ls.settimeout(15)
    h, p = local, ls.getsockname()[1]
    if mode == "PORT":
        ftp.voidcmd("PORT " + ",".join(h.split(".") + [str(p >> 8), str(p & 255)]))
    else:
        ftp.voidcmd("EPRT |%d|%s|%d|" % (2 if fam == socket.AF_INET6 else 1, h, p))
print("ANNOUNCED", h, p, flush=True)
sys.stdin.readline()
if mode in ("PASV", "EPSV"):
    d = socket.create_connection((h, p), timeout=15)
    ftp.sendcmd("RETR " + path)
else:
    ftp.sendcmd("RETR " + path)
    d = ls.accept()[0]
    d.settimeout(15)
digest = hashlib.sha256(d.recv(1))
a, b = d.getsockname()[:2], d.getpeername()[:2]
print("DATA", a[0], a[1], b[0], b[1], flush=True)
sys.stdin.readline()
while True:
    chunk = d.recv(65536)
    if not chunk:
        break
    digest.update(chunk)
d.close()
ftp.voidresp()
ftp.quit()
print("SHA256", digest.hexdigest(), flush=True)
"#;

/// The ftplib client running in h1; killed if the test leaves early.
struct Steps {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    err: PathBuf,
}

impl Drop for Steps {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Steps {
    fn start(lab: &Lab, mode: Mode, host: &str) -> Steps {
        let err = lab.dir.join(format!("ftplib-{}.err", mode.command()));
        let mut child = Command::new("ip")
            .args(["netns", "exec", &lab.h1, "python3", "-c", FTP_STEPS])
            .args([mode.command(), host, FILE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("python3");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Steps {
            stdin: child.stdin.take(),
            child,
            lines,
            err,
        }
    }

    /// The next line starting with `word`, split in words after it.
    fn expect(&mut self, word: &str) -> Result<Vec<String>, String> {
        match self.lines.recv_timeout(Duration::from_secs(20)) {
            Ok(l) if l.starts_with(word) => {
                Ok(l.split_whitespace().skip(1).map(String::from).collect())
            }
            Ok(l) => Err(format!("ftplib client: expected {word}, got {l:?}")),
            Err(_) => Err(format!(
                "ftplib client: no {word} line; it says:\n{}",
                last_lines(&std::fs::read_to_string(&self.err).unwrap_or_default(), 15)
            )),
        }
    }

    fn go(&mut self) {
        if let Some(s) = self.stdin.as_mut() {
            let _ = s.write_all(b"\n");
            let _ = s.flush();
        }
    }
}

/// Whether a block of `display session relation-table` (blank-line separated) is a TCP
/// FTP-DATA entry to `host/port`. comware.md §6.1 pins the IPv4 layout (`Destination IP/port:`
/// and the value at column 21); for IPv6 it only says the source line differs, so the value is
/// taken whatever the label's spacing.
fn relation_entry_shown(t: &str, host: &str, port: &str) -> bool {
    let dst = format!("{host}/{port}");
    t.split("\n\n").any(|block| {
        block.lines().any(|l| {
            l.strip_prefix("Destination IP")
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(_, value)| value.trim() == dst)
        }) && block.contains("Protocol: TCP(6)")
            && block.contains("App: FTP-DATA")
    })
}

fn relation_total(t: &str) -> Option<u64> {
    t.lines()
        .find_map(|l| l.strip_prefix("Total entries found:"))
        .and_then(|n| n.trim().parse().ok())
}

/// A verbose session whose initiator goes to `host/port`, and its `Application:`.
fn verbose_application(t: &str, host: &str, port: &str) -> Option<String> {
    let dst = format!("  Destination IP/port: {host}/{port}");
    t.split("Initiator:\n").skip(1).find_map(|block| {
        let initiator_dst = block
            .lines()
            .find(|l| l.starts_with("  Destination IP/port: "))?;
        if initiator_dst.trim_end() != dst {
            return None;
        }
        block
            .lines()
            .find_map(|l| l.strip_prefix("Application: "))
            .map(|a| a.trim().to_string())
    })
}

/// Check 3 for one announcing command: the relation entry while the transfer is set up, the
/// FTP-DATA session once its data connection is open, the bytes at the end.
fn relation_steps(lab: &Lab, socket: &Path, checks: &mut Checks, mode: Mode, v6: bool, sha: &str) {
    let (server, family) = if v6 { (H2_V6, "ipv6") } else { (H2_V4, "ipv4") };
    let name = format!("{} over IPv{}", mode.command(), if v6 { 6 } else { 4 });
    let mut steps = Steps::start(lab, mode, server);
    let announced = match steps.expect("ANNOUNCED") {
        Ok(a) if a.len() == 2 => a,
        other => {
            checks.check(false, &format!("ftplib {name}: the announcement"), || {
                format!("{other:?}")
            });
            return;
        }
    };
    let (host, port) = (&announced[0], &announced[1]);
    let t = console(
        socket,
        &format!("display session relation-table {family}\ndisplay session statistics\n"),
    );
    checks.check(
        relation_entry_shown(&t, host, port),
        &format!("{name}: display session relation-table {family} shows the entry to {host}/{port}, App FTP-DATA"),
        || t.clone(),
    );
    let counted = relation_entries_counted(&t);
    checks.check(
        counted.is_some_and(|n| n >= 1),
        &format!("{name}: display session statistics counts the relation entry"),
        || format!("Current relation-table entries: {counted:?}"),
    );

    steps.go();
    let data = match steps.expect("DATA") {
        Ok(d) if d.len() == 4 => d,
        other => {
            checks.check(
                false,
                &format!("ftplib {name}: the data connection"),
                || format!("{other:?}"),
            );
            return;
        }
    };
    let t = console(
        socket,
        &format!(
            "display session relation-table {family}\ndisplay session table {family} verbose\n"
        ),
    );
    checks.check(
        relation_total(&t) == Some(0),
        &format!("{name}: the data connection claimed the entry (relation table empty again)"),
        || t.clone(),
    );
    // The data session's initiator goes to the announced address and port: the server for
    // PASV/EPSV, the client for PORT/EPRT.
    let app = verbose_application(&t, host, port);
    checks.check(
        app.as_deref() == Some("FTP-DATA"),
        &format!(
            "{name}: display session table {family} verbose shows the data session {}/{} <-> {}/{} as Application: FTP-DATA",
            data[0], data[1], data[2], data[3]
        ),
        || format!("application {app:?} in:\n{t}"),
    );

    steps.go();
    let r = match steps.expect("SHA256") {
        Ok(d) if d.first().map(String::as_str) == Some(sha) => Ok(()),
        Ok(d) => Err(format!("received sha256 {d:?}, the file's is {sha}")),
        Err(e) => Err(e),
    };
    checks.result(&format!("ftplib {name}: transfer byte for byte"), r);
}

#[test]
fn ftp_and_tftp_through_the_engine_with_algs() {
    if !prerequisites(&[
        "ip",
        "ethtool",
        "ss",
        "timeout",
        "sha256sum",
        "python3",
        "curl",
        "lftp",
        "vsftpd",
        "in.tftpd",
        "tftp",
    ]) {
        return;
    }
    let started = Instant::now();
    let mut lab = Lab::new("sa");
    // ARP and neighbour discovery are not what this test is about: with `deny ipv6` on the
    // server's port, whether h2's neighbour solicitations may start a "session" would decide
    // every IPv6 result. Fixed neighbour entries keep them off the wire.
    lab.static_neighbours();
    let servers = start_servers(&mut lab);
    let sha = sha256(&servers.source);
    // A web server on the client side: the connection the server side may not start.
    let h1 = lab.h1.clone();
    lab.http_server(&h1);
    let socket = lab.start_engine("bidirectional");
    let mut checks = Checks::default();

    // The lab itself: before any packet filter, the server side may start a connection, so
    // a denial later is the filter's doing.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match server_started_http(&lab, false) {
            Ok(_) => break,
            Err(e) if Instant::now() > deadline => {
                panic!("h2 cannot reach h1's web server through the engine: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }

    // ---- the configuration, through the console ----
    let setup = format!(
        "system-view\n\
         acl advanced {ACL}\nrule 0 deny ip\nquit\n\
         acl ipv6 advanced {ACL}\nrule 0 deny ipv6\nquit\n\
         interface {FW_H2_PORT}\n\
         packet-filter {ACL} inbound\npacket-filter ipv6 {ACL} inbound\n\
         quit\nreturn\ndisplay current-configuration\n"
    );
    let t = console(&socket, &setup);
    eprintln!("{t}");
    checks.result(
        "the console takes the ACLs and packet-filter lines",
        no_console_errors(&t),
    );
    let lines: Vec<&str> = t.lines().collect();
    let shown = lines
        .iter()
        .position(|l| *l == format!("interface {FW_H2_PORT}"))
        .is_some_and(|i| {
            let body: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| l.starts_with(' '))
                .copied()
                .collect();
            body.contains(&format!(" packet-filter {ACL} inbound").as_str())
                && body.contains(&format!(" packet-filter ipv6 {ACL} inbound").as_str())
        });
    checks.check(
        shown,
        "display current-configuration shows the interface's packet-filter lines",
        || format!("no packet-filter lines under `interface {FW_H2_PORT}` in:\n{t}"),
    );

    // ---- 1. the server side may not start a session; that is dropped and counted ----
    let (drops_before, _) = filter_drops(&socket);
    for v6 in [false, true] {
        let r = server_started_http(&lab, v6);
        checks.check(
            r.is_err(),
            &format!(
                "packet filter: h2 cannot open a connection to h1 (IPv{})",
                if v6 { 6 } else { 4 }
            ),
            || format!("curl from h2 got {r:?}"),
        );
    }
    let (drops_after, all) = filter_drops(&socket);
    checks.check(
        drops_after > drops_before,
        "4. packet-filter drops are counted (sessmgr dump stats, a drop reason naming the filter)",
        || format!("filter drops {drops_before} -> {drops_after}; drops: {all}"),
    );

    // ---- 1. every transfer with the ALGs on (the default) ----
    for tr in TRANSFERS {
        let r = ftp_get(&lab, *tr, "alg-on", &servers.source);
        checks.result(&format!("1. ALG on: {} byte for byte", tr.name()), r);
    }
    for v6 in [false, true] {
        for put in [false, true] {
            let r = tftp(&lab, &servers, v6, put, "alg-on", 15);
            checks.result(
                &format!(
                    "1. ALG on: TFTP {} over IPv{} byte for byte",
                    if put { "put (WRQ)" } else { "get (RRQ)" },
                    if v6 { 6 } else { 4 }
                ),
                r,
            );
        }
    }

    // ---- 3. the relation entry while a transfer is set up, the FTP-DATA session after ----
    for (mode, v6) in [
        (Mode::Pasv, false),
        (Mode::Port, false),
        (Mode::Epsv, true),
        (Mode::Eprt, true),
    ] {
        relation_steps(&lab, &socket, &mut checks, mode, v6, &sha);
    }

    // ---- 2. without the FTP ALG, active mode fails; passive mode still works ----
    let t = console(&socket, "system-view\nundo alg ftp\nreturn\n");
    checks.result("the console takes `undo alg ftp`", no_console_errors(&t));
    let (drops_before, _) = filter_drops(&socket);
    let refused_before = failed_data_connections(&lab);
    let active: Vec<Transfer> = TRANSFERS
        .iter()
        .copied()
        .filter(|tr| tr.mode.active())
        .collect();
    let t0 = Instant::now();
    let results: Vec<(Transfer, Result<(), String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = active
            .iter()
            .map(|tr| {
                let lab = &lab;
                let source = &servers.source;
                (*tr, s.spawn(move || ftp_get(lab, *tr, "alg-off", source)))
            })
            .collect();
        handles
            .into_iter()
            .map(|(tr, h)| (tr, h.join().unwrap_or_else(|_| Err("panicked".into()))))
            .collect()
    });
    eprintln!("active transfers without the ALG: {:?}", t0.elapsed());
    for (tr, r) in results {
        // It must fail at the data connection: the control connection worked and the
        // client sent its PORT/EPRT.
        let at_data = matches!(&r, Err(e) if !e.starts_with(NEVER_SENT));
        checks.check(
            at_data,
            &format!("2. undo alg ftp: {} fails", tr.name()),
            || match r {
                Ok(()) => "it succeeded: the server's data connection was not denied".into(),
                Err(e) => format!("it failed before the data connection: {e}"),
            },
        );
    }
    let refused = failed_data_connections(&lab) - refused_before;
    checks.check(
        refused > 0,
        "2. undo alg ftp: vsftpd reports `425 Failed to establish connection`",
        || "no 425 in vsftpd's log".into(),
    );
    let (drops_after, all) = filter_drops(&socket);
    checks.check(
        drops_after > drops_before,
        "4. undo alg ftp: the denied data connections are counted as packet-filter drops",
        || format!("filter drops {drops_before} -> {drops_after}; drops: {all}"),
    );
    for tr in [
        xfer(Client::Lftp, Mode::Pasv, false),
        xfer(Client::Curl, Mode::Epsv, true),
    ] {
        let r = ftp_get(&lab, tr, "alg-off", &servers.source);
        checks.result(
            &format!("2. undo alg ftp: {} (passive) still passes", tr.name()),
            r,
        );
    }
    let t = console(&socket, "system-view\nalg ftp\nreturn\n");
    checks.result("the console takes `alg ftp`", no_console_errors(&t));
    for tr in &active {
        let r = ftp_get(&lab, *tr, "alg-again", &servers.source);
        checks.result(&format!("2. alg ftp again: {} byte for byte", tr.name()), r);
    }

    // ---- 2. likewise TFTP: the server's reply comes from a new port ----
    let t = console(&socket, "system-view\nundo alg tftp\nreturn\n");
    checks.result("the console takes `undo alg tftp`", no_console_errors(&t));
    let r = tftp(&lab, &servers, false, false, "tftp-off", 6);
    checks.check(
        r.is_err(),
        "2. undo alg tftp: TFTP get over IPv4 fails",
        || "it succeeded: the server's reply was not denied".into(),
    );
    let t = console(&socket, "system-view\nalg all\nreturn\n");
    checks.result("the console takes `alg all`", no_console_errors(&t));
    let r = tftp(&lab, &servers, false, false, "tftp-again", 15);
    checks.result("2. alg all: TFTP get over IPv4 byte for byte", r);

    let elapsed = started.elapsed();
    eprintln!(
        "{} checks passed, {} failed, in {elapsed:?}",
        checks.passed.len(),
        checks.failed.len()
    );
    let engine_log = lab.read_log("engine-bidirectional.log");
    lab.stop_engine();
    assert!(
        checks.failed.is_empty(),
        "{} of {} acceptance checks failed:\n- {}\n(engine log tail:\n{})",
        checks.failed.len(),
        checks.failed.len() + checks.passed.len(),
        checks.failed.join("\n- "),
        last_lines(&engine_log, 10)
    );
}

/// The readers above against the layouts they read (comware.md §6.1 and §2.3, as
/// src/ctl/render.rs prints the session table); no root needed.
mod readers {
    use super::*;

    const RELATIONS: &str = "<H3C>display session relation-table ipv4
Source IP/port:      198.18.1.1/-
Destination IP/port: 198.18.1.2/40716
DS-Lite tunnel peer: -
VPN instance/VLAN ID/VLL ID: -/-/-
Protocol: TCP(6)    TTL: 299s    App: FTP-DATA

Source IP/port:      -/-
Destination IP/port: 192.168.2.200/1212
DS-Lite tunnel peer: -
VPN instance/VLAN ID/VLL ID: -/-/-
Protocol: TCP(6)    TTL: 3100s    App: H225

Total entries found:  2
";

    const VERBOSE: &str = "<H3C>display session table ipv4 verbose
Initiator:
  Source      IP/port: 198.18.1.2/20
  Destination IP/port: 198.18.1.1/41255
  DS-Lite tunnel peer: -
  VPN instance/VLAN ID/VLL ID: -/-/-
  Protocol: TCP(6)
  Inbound interface: fwb
  Source security zone: -
Responder:
  Source      IP/port: 198.18.1.1/41255
  Destination IP/port: 198.18.1.2/20
  DS-Lite tunnel peer: -
  VPN instance/VLAN ID/VLL ID: -/-/-
  Protocol: TCP(6)
  Inbound interface: fwa
  Source security zone: -
State: TCP_ESTABLISHED
Application: FTP-DATA
Start time: 2025-11-21 12:22:44  TTL: 240s
Initiator->Responder:         3 packets        180 bytes
Responder->Initiator:         2 packets        120 bytes

Total sessions found: 1
";

    #[test]
    fn relation_table_entries_are_read_by_destination_and_application() {
        assert!(relation_entry_shown(RELATIONS, "198.18.1.2", "40716"));
        assert!(!relation_entry_shown(RELATIONS, "198.18.1.2", "4071"));
        assert!(!relation_entry_shown(RELATIONS, "192.168.2.200", "1212"));
        let v6 = "Source IP:             2001:2:1::1\nDestination IP/port: 2001:2:1::2/40625\nDS-Lite tunnel peer: -\nVPN instance/VLAN ID/VLL ID: -/-/-\nProtocol: TCP(6)    TTL: 300s    App: FTP-DATA\n\nTotal entries found:  1\n";
        assert!(relation_entry_shown(v6, "2001:2:1::2", "40625"));
        assert!(!relation_entry_shown(v6, "2001:2:1::1", "40625"));
        assert_eq!(relation_total(RELATIONS), Some(2));
        assert_eq!(relation_total("Total entries found:  0\n"), Some(0));
        assert_eq!(relation_total("% Unrecognized command"), None);
    }

    #[test]
    fn verbose_sessions_are_read_by_the_initiators_destination() {
        assert_eq!(
            verbose_application(VERBOSE, "198.18.1.1", "41255").as_deref(),
            Some("FTP-DATA")
        );
        // The responder's destination does not count.
        assert_eq!(verbose_application(VERBOSE, "198.18.1.2", "20"), None);
    }

    #[test]
    fn console_errors_name_their_command() {
        let t = "<H3C>system-view\n[H3C]alg ftp\n     ^\n % Unrecognized command found at '^' position.\n[H3C]return\n";
        assert_eq!(
            console_errors(t),
            vec!["[H3C]alg ftp  ->  % Unrecognized command found at '^' position."]
        );
        assert!(no_console_errors("<H3C>system-view\n[H3C]return\n").is_ok());
    }
}

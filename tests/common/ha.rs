//! What the failover and restart tests share (issue #16; tests/e2e_failover.rs,
//! tests/e2e_restart.rs): the programs they run inside the namespaces (a long HTTP download
//! and an FTP active-mode transfer with curl, an interactive line-echo stream against socat,
//! ten thousand asyncio connections, an ftplib client that stops between its PORT and the
//! data connection), and readers of a running engine (`sessmgr exec`, `sessmgr dump`).
#![allow(dead_code)]

use super::acceptance::last_lines;
use super::lab::dump;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The echo port of the socat stream server, the HTTP port, the scale test's port.
pub const ECHO_PORT: u16 = 7000;
pub const HTTP_PORT: u16 = 8080;
pub const SCALE_PORT: u16 = 9000;

/// The interactive stream's client: connects to HOST PORT, sends a numbered line every
/// 100 ms for SECONDS and reads each echo back (TIMEOUT seconds at most), comparing it with
/// what it sent. Prints `UP <local port>` after the first echo, then `OK <lines>` at the end,
/// or `FAIL <why> after <n> lines` (`ECONNRESET` when the connection was reset) and exits 1.
pub const STREAM_CLIENT: &str = r#"
import socket, sys, time
host, port, seconds, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
n = 0
try:
    s = socket.create_connection((host, port), timeout=10)
    s.settimeout(timeout)
    f = s.makefile("rb")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        line = b"line %06d %s\n" % (n, b"x" * 40)
        s.sendall(line)
        got = f.readline()
        if got != line:
            print("FAIL echo of line %d: got %r" % (n, got[:60]), "after", n, "lines", flush=True)
            sys.exit(1)
        n += 1
        if n == 1:
            print("UP", s.getsockname()[1], flush=True)
        time.sleep(0.1)
    s.close()
    print("OK", n, flush=True)
except ConnectionResetError:
    print("FAIL ECONNRESET after", n, "lines", flush=True)
    sys.exit(1)
except Exception as e:
    print("FAIL", type(e).__name__, e, "after", n, "lines", flush=True)
    sys.exit(1)
"#;

/// The scale test's server: echoes every line on every connection (asyncio, one process).
pub const SCALE_SERVER: &str = r#"
import asyncio, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
try:
    # Root may raise the hard limit too (CAP_SYS_RESOURCE): 10,000 connections need more
    # than a default 4096.
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(hard, 32768), max(hard, 32768)))
except (ValueError, OSError):
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
async def handle(r, w):
    try:
        while True:
            line = await r.readline()
            if not line:
                break
            w.write(line)
            await w.drain()
    except Exception:
        pass
    finally:
        w.close()
async def main():
    srv = await asyncio.start_server(handle, sys.argv[1], int(sys.argv[2]), backlog=4096)
    print("LISTENING", flush=True)
    await srv.serve_forever()
asyncio.run(main())
"#;

/// The scale test's client: opens COUNT connections to HOST PORT (200 at a time), each checked
/// with one echoed line, prints `ESTABLISHED n` and waits for a line on stdin; then sends one
/// more line on every connection at once and prints `PASSED n OF m`: the connections whose
/// line came back within TIMEOUT seconds.
pub const SCALE_CLIENT: &str = r#"
import asyncio, resource, sys
host, port, count, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
try:
    # Root may raise the hard limit too (CAP_SYS_RESOURCE): 10,000 connections need more
    # than a default 4096.
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(hard, 32768), max(hard, 32768)))
except (ValueError, OSError):
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
if hard < count + 100:
    print("FAIL the file limit", hard, "is below", count + 100, flush=True)
    sys.exit(1)
conns = [None] * count
async def open_one(i, sem):
    async with sem:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
            line = b"hello %d\n" % i
            w.write(line)
            await w.drain()
            if await asyncio.wait_for(r.readline(), 30) == line:
                conns[i] = (r, w)
            else:
                w.close()
        except Exception as e:
            print("open", i, type(e).__name__, e, file=sys.stderr)
async def again(i):
    r, w = conns[i]
    line = b"again %d\n" % i
    try:
        w.write(line)
        await w.drain()
        return await asyncio.wait_for(r.readline(), timeout) == line
    except Exception:
        return False
async def main():
    sem = asyncio.Semaphore(200)
    await asyncio.gather(*(open_one(i, sem) for i in range(count)))
    up = [i for i in range(count) if conns[i]]
    print("ESTABLISHED", len(up), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    passed = await asyncio.gather(*(again(i) for i in up))
    print("PASSED", sum(passed), "OF", len(up), flush=True)
asyncio.run(main())
"#;

/// An FTP client (python's ftplib) stopped between its PORT command and the data connection:
/// logs in to HOST, announces a listening socket of its own with PORT and prints `ANNOUNCED
/// address port`; waits for a line on stdin, sends RETR PATH, accepts the server's data
/// connection, reads its first byte and prints `DATA server-address server-port`; waits for a
/// line, reads the rest and prints `SHA256 digest bytes`.
pub const FTP_PORT_STEPS: &str = r#"
import ftplib, hashlib, socket, sys
host, path = sys.argv[1:3]
ftp = ftplib.FTP()
ftp.connect(host, 21, timeout=60)
ftp.login()
ftp.voidcmd("TYPE I")
local = ftp.sock.getsockname()[0]
ls = socket.create_server((local, 0), backlog=1)
ls.settimeout(60)
p = ls.getsockname()[1]
ftp.voidcmd("PORT " + ",".join(local.split(".") + [str(p >> 8), str(p & 255)]))
print("ANNOUNCED", local, p, flush=True)
sys.stdin.readline()
ftp.sendcmd("RETR " + path)
d = ls.accept()[0]
d.settimeout(60)
first = d.recv(1)
digest = hashlib.sha256(first)
n = len(first)
peer = d.getpeername()
print("DATA", peer[0], peer[1], flush=True)
sys.stdin.readline()
while True:
    chunk = d.recv(65536)
    if not chunk:
        break
    digest.update(chunk)
    n += len(chunk)
d.close()
ftp.voidresp()
ftp.quit()
print("SHA256", digest.hexdigest(), n, flush=True)
"#;

/// vsftpd for the tests: anonymous, read-only, IPv4 on `address`, active-mode data from port
/// 20, a verbose protocol log.
pub fn vsftpd_conf(address: &str, root: &Path, empty: &Path, log: &Path) -> String {
    format!(
        "listen=YES\n\
         listen_ipv6=NO\n\
         listen_address={address}\n\
         background=NO\n\
         anonymous_enable=YES\n\
         no_anon_password=YES\n\
         anon_root={}\n\
         local_enable=NO\n\
         write_enable=NO\n\
         seccomp_sandbox=NO\n\
         secure_chroot_dir={}\n\
         pasv_enable=YES\n\
         port_enable=YES\n\
         connect_from_port_20=YES\n\
         connect_timeout=30\n\
         data_connection_timeout=120\n\
         idle_session_timeout=600\n\
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

/// Writes `size` random bytes to `path`.
pub fn random_file(path: &Path, size: usize) {
    let mut v = vec![0u8; size];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut v))
        .expect("/dev/urandom");
    std::fs::write(path, &v).expect("write random file");
}

pub fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Whether `got` holds the same bytes as `source`.
pub fn same_file(got: &Path, source: &Path) -> Result<(), String> {
    let (g, s) = (std::fs::read(got), std::fs::read(source).expect("source"));
    match g {
        Ok(g) if g == s => Ok(()),
        Ok(g) => Err(format!(
            "{} has {} bytes (sha256 {}), its source {} bytes (sha256 {})",
            got.display(),
            g.len(),
            sha256_of(got),
            s.len(),
            sha256_of(source)
        )),
        Err(e) => Err(format!("{}: {e}", got.display())),
    }
}

pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Polls `f` every `every` until it holds or `within` has passed; whether it held.
pub fn wait_until(within: Duration, every: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// A program running in a namespace with its output (stdout and stderr) in a file; killed
/// when dropped.
pub struct Background {
    child: Child,
    pub out: PathBuf,
    status: Option<ExitStatus>,
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Background {
    pub fn start(ns: &str, args: &[&str], out: PathBuf) -> Background {
        let f = std::fs::File::create(&out).expect("output file");
        let g = f.try_clone().expect("output file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(g)
            .spawn()
            .expect("spawn");
        Background {
            child,
            out,
            status: None,
        }
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Its exit status once it has exited, waiting `within` at most.
    pub fn wait(&mut self, within: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            let deadline = Instant::now() + within;
            loop {
                if let Ok(Some(s)) = self.child.try_wait() {
                    self.status = Some(s);
                    break;
                }
                if Instant::now() >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        self.status
    }

    /// Waits `within` for it to exit: `Ok(output)` when it exited 0, `Err` (with its status
    /// and output) otherwise; one still running is killed.
    pub fn finish(&mut self, within: Duration) -> Result<String, String> {
        match self.wait(within) {
            Some(s) if s.success() => Ok(self.output()),
            Some(s) => Err(format!("{s}: {}", last_lines(&self.output(), 15))),
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                Err(format!(
                    "still running after {within:?}, killed: {}",
                    last_lines(&self.output(), 15)
                ))
            }
        }
    }
}

/// A program in a namespace driven line by line: stdin piped, stdout read as lines.
pub struct Interactive {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    err: PathBuf,
}

impl Drop for Interactive {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Interactive {
    pub fn start(ns: &str, args: &[&str], err: PathBuf) -> Interactive {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&err).expect("stderr file"))
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Interactive {
            stdin: child.stdin.take(),
            child,
            lines,
            err,
        }
    }

    /// The next line starting with `word` (within `within`), in words after it.
    pub fn expect(&mut self, word: &str, within: Duration) -> Result<Vec<String>, String> {
        match self.lines.recv_timeout(within) {
            Ok(l) if l.starts_with(word) => {
                Ok(l.split_whitespace().skip(1).map(String::from).collect())
            }
            Ok(l) => Err(format!("expected {word}, got {l:?}")),
            Err(_) => Err(format!(
                "no {word} line within {within:?}; its stderr:\n{}",
                last_lines(&std::fs::read_to_string(&self.err).unwrap_or_default(), 15)
            )),
        }
    }

    pub fn go(&mut self) {
        if let Some(s) = self.stdin.as_mut() {
            let _ = s.write_all(b"\n");
            let _ = s.flush();
        }
    }
}

/// `sessmgr exec [--json] COMMAND` against the engine at `socket`: (exit status 0, stdout).
pub fn exec(socket: &Path, json: bool, command: &str) -> (bool, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sessmgr"));
    c.arg("exec").arg("--socket").arg(socket);
    if json {
        c.arg("--json");
    }
    match c.arg(command).output() {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

/// The device running status `display remote-backup-group status` shows (`Active`,
/// `Standby`, `Init`), or `None` when the engine does not answer.
pub fn running_status(socket: &Path) -> Option<String> {
    let (_, t) = exec(socket, false, "display remote-backup-group status");
    t.lines()
        .find_map(|l| l.trim().strip_prefix("Device running status:"))
        .map(|s| s.trim().to_string())
}

/// Waits `within` for the engine at `socket` to show `status`; the last status seen.
pub fn wait_status(socket: &Path, status: &str, within: Duration) -> Result<(), String> {
    let mut last = None;
    let ok = wait_until(within, Duration::from_millis(100), || {
        last = running_status(socket);
        last.as_deref() == Some(status)
    });
    if ok {
        Ok(())
    } else {
        let (_, t) = exec(socket, false, "display remote-backup-group status");
        Err(format!(
            "still {last:?} after {within:?}, not {status}:\n{t}"
        ))
    }
}

/// The engine's current session count (`sessmgr dump stats`).
pub fn session_count(socket: &Path) -> u64 {
    dump(socket, "stats")["sessions"].as_u64().unwrap_or(0)
}

/// A drop counter of `sessmgr dump stats` (0 while absent), with every drop counter for
/// failure messages.
pub fn drop_count(socket: &Path, reason: &str) -> (u64, String) {
    let stats = dump(socket, "stats");
    (
        stats["drops"][reason].as_u64().unwrap_or(0),
        stats["drops"].to_string(),
    )
}

/// The TCP sessions of the engine (`sessmgr dump sessions`) as (source port, destination
/// port) pairs of their initiators.
pub fn tcp_sessions(socket: &Path) -> Vec<(u64, u64)> {
    dump(socket, "sessions")["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["proto"] == "tcp")
        .map(|s| {
            (
                s["orig"]["sport"].as_u64().unwrap_or(0),
                s["orig"]["dport"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

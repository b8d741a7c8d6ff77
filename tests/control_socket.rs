//! The control socket against other users (issue #10): the start-up race under `umask 000`,
//! a second engine on the same path, and connections from users that are not root, with and
//! without `runtime.control_group`. The other users are throwaway accounts the test creates and
//! removes (even when a check fails), so the tests that use them need root; elsewhere they say
//! why they skip, and in CI (CI set) they fail.
//!
//! What those users run is this test program itself (copied where they can execute it): the
//! test `helper_process` does nothing unless `SESSMGR_CTLTEST_HELPER` says what to do.
//! `SESSMGR_TEST_ENGINE` runs the tests against another `sessmgr` build (to show that they
//! catch an engine that has the old behaviour).

mod common;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn engine_bin() -> PathBuf {
    std::env::var_os("SESSMGR_TEST_ENGINE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sessmgr")))
}

fn capture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/demo.pcap")
}

/// A directory of the test's, mode 0755: any user can enter it, so only the socket's own mode
/// and the engine's checks keep other users out.
/// Removed on drop, even when a check fails.
fn scratch(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("sessmgr-ctltest-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Scratch(d)
}

struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `dir/config.toml` for an engine playing the demo capture with its socket at
/// `dir/ctl.sock`; `runtime` is added to its `[runtime]` section.
fn write_config(dir: &Path, runtime: &str) -> PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[session]\nstatistics_enable = true\n[runtime]\ncapture = \"{}\"\ncapture_loop = true\ncontrol_socket = \"{}\"\nstartup_config = \"startup.cfg\"\nlog_events = false\n{runtime}\n",
            capture().display(),
            dir.join("ctl.sock").display()
        ),
    )
    .expect("write config");
    config
}

/// A running engine; SIGTERM and wait on drop.
struct Engine {
    child: Option<Child>,
    socket: PathBuf,
}

impl Engine {
    /// Starts `sessmgr run --config config` under `umask` and waits until root's `dump stats`
    /// is answered.
    fn start(config: &Path, umask: &str) -> Engine {
        let child = Command::new("sh")
            .args([
                "-c",
                &format!("umask {umask} && exec \"$0\" run --config \"$1\""),
            ])
            .arg(engine_bin())
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start engine");
        let socket = config.with_file_name("ctl.sock");
        let mut e = Engine {
            child: Some(child),
            socket,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let child = e.child.as_mut().expect("child");
            if let Some(status) = child.try_wait().expect("wait") {
                let mut err = String::new();
                let _ =
                    std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut err);
                panic!("the engine exited ({status}) at start: {err}");
            }
            if dump(&e.socket, "stats").is_ok() {
                return e;
            }
            assert!(Instant::now() < deadline, "the engine did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(mut self) {
        self.terminate();
    }

    /// SIGKILL: the engine gets no chance to clean up.
    fn kill(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// `sessmgr dump what` as this (root) process: the reply, or why there is none.
fn dump(socket: &Path, what: &str) -> Result<Value, String> {
    let out = Command::new(engine_bin())
        .args(["dump", what, "--socket"])
        .arg(socket)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// Lines typed into `sessmgr console` as root: the transcript.
fn console_as_root(socket: &Path, lines: &str) -> String {
    common::engine::console(socket, lines)
}

// ---- Throwaway users ---------------------------------------------------------------------

fn run(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Users and groups made for one test; removed on drop, even when a check failed.
#[derive(Default)]
struct Throwaway {
    users: Vec<String>,
    groups: Vec<String>,
}

struct User {
    name: String,
    uid: u32,
    gid: u32,
}

impl Throwaway {
    fn group(&mut self, name: &str) -> u32 {
        run(&["groupadd", "--system", name]);
        self.groups.push(name.to_string());
        run(&["getent", "group", name])
            .split(':')
            .nth(2)
            .and_then(|g| g.parse().ok())
            .expect("gid")
    }

    /// A system user without a home or a login shell, in `groups`.
    fn user(&mut self, name: &str, groups: &[&str]) -> User {
        let mut args = vec![
            "useradd",
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
        ];
        let list = groups.join(",");
        if !groups.is_empty() {
            args.extend(["-G", &list]);
        }
        args.push(name);
        run(&args);
        self.users.push(name.to_string());
        User {
            name: name.to_string(),
            uid: run(&["id", "-u", name]).parse().expect("uid"),
            gid: run(&["id", "-g", name]).parse().expect("gid"),
        }
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        // The helpers these users ran are gone by now (their guards are dropped first).
        for u in &self.users {
            let _ = Command::new("userdel").arg(u).status();
        }
        for g in &self.groups {
            let _ = Command::new("groupdel").arg(g).status();
        }
    }
}

/// Root and the tools that make users; otherwise fails in CI, says why elsewhere.
fn prerequisites() -> bool {
    if !common::lab::is_root() {
        common::skip_or_fail("needs root to create throwaway users and run programs as them");
        return false;
    }
    for tool in [
        "useradd", "userdel", "groupadd", "groupdel", "setpriv", "getent",
    ] {
        if !common::lab::sh(&["sh", "-c", &format!("command -v {tool}")]) {
            common::skip_or_fail(&format!("{tool} is not installed"));
            return false;
        }
    }
    true
}

// ---- The helper: this program, run as a throwaway user ----------------------------------

/// This test program, copied where any user can run it.
struct HelperBin {
    dir: Scratch,
    bin: PathBuf,
}

impl HelperBin {
    fn new(tag: &str) -> HelperBin {
        let dir = scratch(&format!("helper-{tag}"));
        let bin = dir.join("helper");
        std::fs::copy(std::env::current_exe().expect("current exe"), &bin).expect("copy helper");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        HelperBin { dir, bin }
    }

    /// The helper in `mode` as `user` (`groups`: `--init-groups` gives the user's groups from
    /// the group database, `--clear-groups` none).
    fn command(&self, user: &User, init_groups: bool, mode: &str, socket: &Path) -> Command {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={}", user.uid))
            .arg(format!("--regid={}", user.gid))
            .arg(if init_groups {
                "--init-groups"
            } else {
                "--clear-groups"
            })
            .arg(&self.bin)
            .args([
                "--exact",
                "helper_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .current_dir(&*self.dir)
            .env("SESSMGR_CTLTEST_HELPER", mode)
            .env("SESSMGR_CTLTEST_SOCKET", socket)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// One connection as `user`: the requests, then every reply line until the engine closes.
    fn once(&self, user: &User, init_groups: bool, socket: &Path, requests: &[Value]) -> Value {
        let lines: String = requests.iter().map(|r| format!("{r}\n")).collect();
        let out = self
            .command(user, init_groups, "once", socket)
            .env("SESSMGR_CTLTEST_REQUESTS", lines)
            .output()
            .expect("run helper");
        report(&out.stdout, &out.stderr)
    }
}

/// The helper's report line.
fn report(stdout: &[u8], stderr: &[u8]) -> Value {
    String::from_utf8_lossy(stdout)
        .lines()
        .find_map(|l| l.split_once("HELPER ").map(|(_, r)| r))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no report from the helper: {}{}",
                String::from_utf8_lossy(stdout),
                String::from_utf8_lossy(stderr)
            )
        })
}

/// A helper process that is killed if the test fails before it is collected.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What the requests of a connection try: read the counters, then change the configuration
/// (what the non-root user did).
fn intrusion() -> Vec<Value> {
    vec![
        json!({"cmd": "stats"}),
        json!({"op": "line", "line": "system-view"}),
        json!({"op": "line", "line": "session aging-time state tcp-est 1"}),
    ]
}

/// One connection: send `requests`, read replies until EOF or a quiet 2 s.
fn converse(socket: &Path, requests: &str) -> Result<Vec<Value>, std::io::Error> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    // The engine may close first (a refusal): what it said is still read below.
    let _ = s.write_all(requests.as_bytes());
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut replies = Vec::new();
    for line in BufReader::new(s).lines() {
        match line {
            Ok(l) => replies.push(serde_json::from_str(&l).unwrap_or(Value::String(l))),
            Err(_) => break,
        }
    }
    Ok(replies)
}

/// Not a test of its own: what a throwaway user runs (see the file's comment).
#[test]
fn helper_process() {
    let Ok(mode) = std::env::var("SESSMGR_CTLTEST_HELPER") else {
        return;
    };
    let socket = PathBuf::from(std::env::var_os("SESSMGR_CTLTEST_SOCKET").expect("socket"));
    let result = match mode.as_str() {
        // Connect as fast as possible until the stop file appears; count what happened.
        "loop" => {
            let stop = socket.with_file_name("stop-helper");
            let requests: String = intrusion().iter().map(|r| format!("{r}\n")).collect();
            let (mut attempts, mut connected, mut answered, mut refused) = (0u64, 0u64, 0u64, 0u64);
            let mut errors = std::collections::BTreeMap::<String, u64>::new();
            let mut replies_seen = Vec::new();
            loop {
                if attempts % 256 == 0 && stop.exists() {
                    break;
                }
                attempts += 1;
                match converse(&socket, &requests) {
                    Ok(replies) => {
                        connected += 1;
                        for r in replies {
                            if r.get("error").is_some() {
                                refused += 1;
                            } else {
                                answered += 1;
                            }
                            if replies_seen.len() < 5 {
                                replies_seen.push(r);
                            }
                        }
                    }
                    Err(e) => *errors.entry(format!("{:?}", e.kind())).or_default() += 1,
                }
            }
            json!({"attempts": attempts, "connected": connected, "answered": answered,
                   "refused": refused, "errors": errors, "replies": replies_seen})
        }
        // One connection with the given requests.
        "once" => {
            let requests = std::env::var("SESSMGR_CTLTEST_REQUESTS").unwrap_or_default();
            match converse(&socket, &requests) {
                Ok(replies) => json!({"replies": replies}),
                Err(e) => {
                    json!({"connect_error": format!("{:?}", e.kind()), "message": e.to_string()})
                }
            }
        }
        other => json!({"error": format!("unknown helper mode {other}")}),
    };
    println!("HELPER {result}");
}

// ---- The tests ----------------------------------------------------------------------------

/// Started under `umask 000` 20 times while another user connects in a tight loop: the socket
/// never lets that user in (it appears with mode 0600), so the user never gets a reply. The
/// directory is open to everyone (0755) so that the socket's own mode is what is tested.
#[test]
fn the_start_up_race_under_umask_000_lets_no_other_user_in() {
    if !prerequisites() {
        return;
    }
    let mut users = Throwaway::default();
    let outsider = users.user(&format!("smtest-race-{}", std::process::id()), &[]);
    let helper = HelperBin::new("race");
    let dir = scratch("race");
    let config = write_config(&dir, "");
    let socket = dir.join("ctl.sock");
    let mut looping = Running(Some(
        helper
            .command(&outsider, false, "loop", &socket)
            .spawn()
            .expect("start the connecting user"),
    ));

    for start in 0..20 {
        let e = Engine::start(&config, "000");
        let mode = std::fs::metadata(&socket).expect("socket").mode() & 0o777;
        assert_eq!(mode, 0o600, "start {start}: socket mode {mode:o}");
        e.stop();
        assert!(
            !socket.exists(),
            "start {start}: the socket was left behind"
        );
    }

    std::fs::write(dir.join("stop-helper"), "").expect("stop file");
    let child = looping.0.take().expect("helper");
    let out = child.wait_with_output().expect("helper output");
    let r = report(&out.stdout, &out.stderr);
    eprintln!("connecting user {}: {r}", outsider.name);
    assert!(
        r["attempts"].as_u64().unwrap_or(0) >= 1000,
        "the other user hardly tried: {r}"
    );
    assert_eq!(r["answered"], 0, "another user got answers: {r}");
    assert_eq!(r["connected"], 0, "another user connected: {r}");
}

/// A second engine on the same path refuses to start, says why, and leaves the first one's
/// socket alone; a stale socket (its engine killed) is replaced. No other user involved, so
/// this one needs no root.
#[test]
fn a_second_engine_refuses_to_start_and_a_stale_socket_is_replaced() {
    let dir = scratch("second");
    let config = write_config(&dir, "");
    let socket = dir.join("ctl.sock");
    let first = Engine::start(&config, "022");
    let inode = std::fs::metadata(&socket).expect("socket").ino();

    let mut second = Running(Some(
        Command::new(engine_bin())
            .args(["run", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("second engine"),
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while second
        .0
        .as_mut()
        .and_then(|c| c.try_wait().ok().flatten())
        .is_none()
    {
        assert!(
            Instant::now() < deadline,
            "the second engine is still running 10 s after its start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = second
        .0
        .take()
        .expect("second")
        .wait_with_output()
        .expect("output");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second engine started: {err}");
    assert!(
        err.contains("another engine is serving") && err.contains(&socket.display().to_string()),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(&socket)
            .expect("socket still there")
            .ino(),
        inode,
        "the first engine's socket was replaced"
    );
    let stats = dump(&socket, "stats").expect("the first engine still answers");
    assert!(stats.get("frames").is_some(), "{stats}");

    // The first engine dies without cleaning up: its socket is stale and is replaced.
    first.kill();
    assert!(socket.exists(), "a killed engine leaves its socket");
    let third = Engine::start(&config, "022");
    assert_ne!(std::fs::metadata(&socket).expect("socket").ino(), inode);
    dump(&third.socket, "stats").expect("the new engine answers");
    third.stop();
}

/// A user that is not root connects: the kernel refuses (mode 0600); and when the socket's
/// mode is opened up behind the engine's back, the engine refuses the connection itself
/// (SO_PEERCRED), answers one error line, closes it, runs none of its commands and counts it.
/// With `control_group`, a member of the group is served and an outsider still is not.
#[test]
fn a_user_that_is_not_root_is_refused_and_a_member_of_the_control_group_is_served() {
    if !prerequisites() {
        return;
    }
    let pid = std::process::id();
    let mut accounts = Throwaway::default();
    let group = format!("smtest-g-{pid}");
    let gid = accounts.group(&group);
    let outsider = accounts.user(&format!("smtest-out-{pid}"), &[]);
    let member = accounts.user(&format!("smtest-mem-{pid}"), &[&group]);
    let helper = HelperBin::new("peer");
    let requests = intrusion();

    // No control group: root alone.
    let dir = scratch("peer");
    let config = write_config(&dir, "");
    let e = Engine::start(&config, "022");
    let r = helper.once(&outsider, false, &e.socket, &requests);
    assert_eq!(r["connect_error"], "PermissionDenied", "{r}");
    let r = helper.once(&member, true, &e.socket, &requests);
    assert_eq!(r["connect_error"], "PermissionDenied", "{r}");

    // The socket opened to everyone (as the old start-up race left it for a moment): the
    // engine itself refuses.
    std::fs::set_permissions(&e.socket, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let r = helper.once(&outsider, false, &e.socket, &requests);
    let replies = r["replies"].as_array().cloned().unwrap_or_default();
    assert_eq!(replies.len(), 1, "one refusal line, then closed: {r}");
    let why = replies[0]["error"].as_str().unwrap_or_default();
    assert!(
        why.contains("permission denied") && why.contains(&format!("uid {}", outsider.uid)),
        "{r}"
    );
    let stats = dump(&e.socket, "stats").expect("root is served");
    assert!(
        stats["control_socket"]["refused_peers"].as_u64() >= Some(1),
        "{stats}"
    );
    let conf = console_as_root(&e.socket, "display current-configuration\n");
    assert!(
        conf.contains("sysname") && !conf.contains("tcp-est 1"),
        "a refused peer's command ran:\n{conf}"
    );
    e.stop();

    // A control group: its member is served, an outsider is not.
    let dir = scratch("group");
    let config = write_config(&dir, &format!("control_group = \"{group}\""));
    let e = Engine::start(&config, "022");
    let meta = std::fs::metadata(&e.socket).expect("socket");
    assert_eq!(meta.mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), gid);
    let r = helper.once(
        &member,
        true,
        &e.socket,
        &[
            json!({"cmd": "stats"}),
            json!({"op": "line", "line": "display version"}),
        ],
    );
    let replies = r["replies"].as_array().cloned().unwrap_or_default();
    assert_eq!(replies.len(), 2, "{r}");
    assert!(replies[0].get("frames").is_some(), "{r}");
    assert!(
        replies[1]["output"]
            .as_str()
            .is_some_and(|o| o.contains("sessmgr")),
        "{r}"
    );
    let r = helper.once(&outsider, false, &e.socket, &requests);
    assert_eq!(r["connect_error"], "PermissionDenied", "{r}");
    std::fs::set_permissions(&e.socket, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let r = helper.once(&outsider, false, &e.socket, &requests);
    let replies = r["replies"].as_array().cloned().unwrap_or_default();
    assert_eq!(replies.len(), 1, "{r}");
    assert!(
        replies[0]["error"]
            .as_str()
            .is_some_and(|w| w.contains(&format!("members of group '{group}'"))),
        "{r}"
    );
    e.stop();
    drop(helper);
    drop(accounts);
    // The throwaway accounts are gone.
    assert!(!common::lab::sh(&["id", &outsider.name]));
    assert!(!common::lab::sh(&["getent", "group", &group]));
}

//! What the back-ends' root tests share: skipping without root (failing instead under CI, where
//! they must run), and running `ip` to build their namespaces and veth pairs.

use crate::io::{Action, PacketIo, PortId};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// True when the test may build namespaces; without root it is skipped, unless `CI` is set.
pub fn root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: needs root (CI is set, so this fails instead of skipping)"
    );
    eprintln!("SKIPPED: needs root ({test})");
    false
}

pub fn run(cmd: &str, args: &[&str]) -> std::process::Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

/// `ip ARGS`, which must succeed.
pub fn ip(args: &[&str]) {
    let out = run("ip", args);
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub type Handler = fn(&[&[u8]], &[PortId], u64, &mut [Action]);

pub fn forward_all(_: &[&[u8]], _: &[PortId], _: u64, actions: &mut [Action]) {
    actions.fill(Action::Forward);
}

pub fn drop_all(_: &[&[u8]], _: &[PortId], _: u64, actions: &mut [Action]) {
    actions.fill(Action::Drop);
}

/// Runs a back-end's receive loop in a thread until the flag is set; the thread returns it.
pub fn spawn_engine<T: PacketIo + Send + 'static>(
    mut io: T,
    h: Handler,
) -> (Arc<AtomicBool>, JoinHandle<T>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let t = std::thread::spawn(move || {
        let mut handler = |f: &[&[u8]], p: &[PortId], now: u64, a: &mut [Action]| {
            assert!(now > 1_600_000_000_000_000_000, "wall-clock time");
            h(f, p, now, a)
        };
        while !flag.load(Ordering::Relaxed) {
            io.rx_batch(64, 20, &mut handler).unwrap();
        }
        io
    });
    (stop, t)
}

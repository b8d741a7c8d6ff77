//! What the back-ends' root tests share: skipping without root (failing instead under CI, where
//! they must run), and running `ip` to build their namespaces and veth pairs.

use std::process::Command;

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

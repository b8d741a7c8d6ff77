//! Who may use the control socket. The file's mode (0600, or 0660 with `runtime.control_group`)
//! and its directory keep everyone else from connecting; the peer's credentials, which the
//! kernel records at `connect()` (SO_PEERCRED), are checked on every accepted connection as
//! well, so a connection that got through anyway (a socket whose mode someone changed, a
//! directory opened up) is still refused before it can run a command.

use crate::config::ControlGroup;
use std::os::unix::net::UnixStream;

/// The peer of a connection, as the kernel recorded it at `connect()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: i32,
}

impl Peer {
    /// The credentials of the process at the other end of `stream` (SO_PEERCRED).
    pub fn of(stream: &UnixStream) -> std::io::Result<Peer> {
        let cred = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
            .map_err(std::io::Error::from)?;
        Ok(Peer {
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred.pid(),
        })
    }
}

/// Root, the engine's own user, and the members of the configured group, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The engine's effective uid (the socket file's owner).
    pub engine_uid: u32,
    pub group: Option<ControlGroup>,
}

impl Access {
    /// The policy of this process: its effective uid, and `group`.
    pub fn for_this_process(group: Option<ControlGroup>) -> Access {
        Access {
            engine_uid: nix::unistd::geteuid().as_raw(),
            group,
        }
    }

    /// The socket file's mode: the owner alone, or the owner and the group.
    pub fn socket_mode(&self) -> u32 {
        if self.group.is_some() { 0o660 } else { 0o600 }
    }

    /// Whether `peer` may use the socket; if not, the reason, for the peer and the counters.
    pub fn admit(&self, peer: &Peer) -> Result<(), String> {
        if peer.uid == 0 || peer.uid == self.engine_uid {
            return Ok(());
        }
        if let Some(g) = &self.group
            && is_member(peer, g)
        {
            return Ok(());
        }
        Err(format!(
            "permission denied: this control socket serves {}; the peer is uid {} (gid {})",
            self.who(),
            peer.uid,
            peer.gid
        ))
    }

    /// Who is served, in words.
    fn who(&self) -> String {
        let mut who = "root".to_string();
        if self.engine_uid != 0 {
            who.push_str(&format!(", uid {} (the engine's user)", self.engine_uid));
        }
        if let Some(g) = &self.group {
            who.push_str(&format!(" and members of group '{}'", g.name));
        }
        who
    }
}

/// A member of `group`: its primary group at `connect()` is the group, or its user is listed
/// as a member in the group database (as `/etc/group` says now: a user taken out of the group
/// is refused from the next connection on, without restarting the engine). SO_PEERCRED does
/// not carry a process's supplementary groups; the socket's mode (0660, group `group`) has
/// already made the kernel check them at `connect()`.
fn is_member(peer: &Peer, group: &ControlGroup) -> bool {
    use nix::unistd::{Gid, Group, Uid, User};
    if peer.gid == group.gid {
        return true;
    }
    let Ok(Some(user)) = User::from_uid(Uid::from_raw(peer.uid)) else {
        return false;
    };
    if user.gid.as_raw() == group.gid {
        return true;
    }
    matches!(Group::from_gid(Gid::from_raw(group.gid)), Ok(Some(g)) if g.mem.contains(&user.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(uid: u32, gid: u32) -> Peer {
        Peer { uid, gid, pid: 1 }
    }

    #[test]
    fn root_and_the_engines_user_are_admitted_others_are_told_why_not() {
        let a = Access {
            engine_uid: 0,
            group: None,
        };
        assert_eq!(a.socket_mode(), 0o600);
        assert!(a.admit(&peer(0, 0)).is_ok());
        let e = a.admit(&peer(4242, 4242)).unwrap_err();
        assert!(e.contains("serves root;") && e.contains("uid 4242"), "{e}");
        let a = Access {
            engine_uid: 1000,
            group: None,
        };
        assert!(a.admit(&peer(1000, 1000)).is_ok());
        assert!(a.admit(&peer(0, 0)).is_ok());
        let e = a.admit(&peer(1001, 1000)).unwrap_err();
        assert!(e.contains("uid 1000 (the engine's user)"), "{e}");
    }

    #[test]
    fn a_member_of_the_group_is_admitted() {
        let a = Access {
            engine_uid: 0,
            group: Some(ControlGroup {
                name: "ops".into(),
                gid: 4300,
            }),
        };
        assert_eq!(a.socket_mode(), 0o660);
        // The primary group at connect() is the group.
        assert!(a.admit(&peer(4242, 4300)).is_ok());
        let e = a.admit(&peer(4242, 4242)).unwrap_err();
        assert!(e.contains("members of group 'ops'"), "{e}");
    }

    /// SO_PEERCRED through nix, on a real socket pair: the peer is this process.
    #[test]
    fn the_peer_of_a_socket_pair_is_this_process() {
        let (a, _b) = UnixStream::pair().expect("socketpair");
        let p = Peer::of(&a).expect("SO_PEERCRED");
        assert_eq!(p.uid, nix::unistd::geteuid().as_raw());
        assert_eq!(p.gid, nix::unistd::getegid().as_raw());
        assert_eq!(p.pid, std::process::id() as i32);
    }
}

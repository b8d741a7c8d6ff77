//! Taking the control socket's path, before the engine starts anything else:
//!
//! 1. The directory: created for the engine's user alone (0700; 0750 with a control group) if
//!    missing; if present, it must be a real directory of the engine's user that no one else
//!    can write, or another user could take the socket's name or replace the socket.
//! 2. The lock (`<socket>.lock`, held while the engine runs): a second engine on the same path
//!    stops here, even one started at the same instant. The file stays after the engine: an
//!    unlinked lock file would let two engines lock two different files.
//! 3. An existing socket is connected to first: one that answers belongs to a live engine
//!    (an engine that does not take the lock, such as an older version), and this engine
//!    refuses to start and leaves it alone; only a stale one (connection refused) is replaced.
//! 4. The socket is bound in a private directory (0700) beside the final path, given its mode
//!    (0600, or 0660 and the control group), then renamed into place: it appears at its path
//!    with its final mode, so no one can connect in between, whatever the umask. The umask is
//!    process-wide, and the engine is a library function that may run beside other threads,
//!    so changing it around `bind` would not be safe.

use super::access::Access;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// Why the control socket could not be set up; every message names the path.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error(
        "another engine is serving {path}: stop it first, or give this engine another runtime.control_socket"
    )]
    Busy { path: String },
    #[error("control socket directory {dir}: {why}")]
    Directory { dir: String, why: String },
    #[error("control socket {path} exists and is not a socket; refusing to replace it")]
    NotASocket { path: String },
    #[error("control socket {path}: {what}: {source}")]
    Io {
        path: String,
        what: String,
        source: std::io::Error,
    },
}

fn io(path: &Path, what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SocketError {
    let path = path.display().to_string();
    let what = what.into();
    move |source| SocketError::Io { path, what, source }
}

/// The socket, bound at its path, and the lock that makes the path this engine's.
pub struct Claim {
    pub listener: UnixListener,
    /// The socket file (device, inode): removed at the end only if it is still this one.
    pub identity: (u64, u64),
    /// Held while the engine runs (the lock goes with the file descriptor).
    pub lock: File,
}

/// Takes `path` for this engine (see the module's comment).
pub fn claim(path: &Path, access: &Access) -> Result<Claim, SocketError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| SocketError::Directory {
        dir: path.display().to_string(),
        why: "the path names no socket file".into(),
    })?;
    prepare_directory(&dir, access)?;

    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&lock_path)
        .map_err(io(&lock_path, "opening the lock file"))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(SocketError::Busy {
                path: path.display().to_string(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(io(&lock_path, "locking")(e));
        }
    }

    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match UnixStream::connect(path) {
            Ok(_) => {
                return Err(SocketError::Busy {
                    path: path.display().to_string(),
                });
            }
            // Stale: nothing listens; the rename below replaces it.
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::NotFound) => {}
            Err(e) => return Err(io(path, "connecting to the socket already there")(e)),
        },
        Ok(_) => {
            return Err(SocketError::NotASocket {
                path: path.display().to_string(),
            });
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io(path, "looking at the path")(e)),
    }

    let staging = dir.join(format!(".sessmgr-{}.bind", std::process::id()));
    let result = bind_privately(&staging, name.as_ref(), path, access);
    let _ = std::fs::remove_dir_all(&staging);
    let listener = result?;
    let meta = std::fs::symlink_metadata(path).map_err(io(path, "looking at the new socket"))?;
    Ok(Claim {
        listener,
        identity: (meta.dev(), meta.ino()),
        lock,
    })
}

/// Binds the socket inside `staging` (a new directory only this user can enter), gives it
/// its mode and group, and renames it to `path`.
fn bind_privately(
    staging: &Path,
    name: &Path,
    path: &Path,
    access: &Access,
) -> Result<UnixListener, SocketError> {
    // A directory left by a process of the same id that died right here.
    let _ = std::fs::remove_dir_all(staging);
    DirBuilder::new()
        .mode(0o700)
        .create(staging)
        .map_err(io(staging, "creating a private directory to bind in"))?;
    std::fs::set_permissions(staging, std::fs::Permissions::from_mode(0o700))
        .map_err(io(staging, "setting the private directory's mode"))?;
    let staged = staging.join(name);
    let listener = UnixListener::bind(&staged).map_err(|e| {
        let what = if e.kind() == ErrorKind::InvalidInput {
            format!(
                "binding {} (the path is too long for a Unix socket: shorten runtime.control_socket)",
                staged.display()
            )
        } else {
            format!("binding {}", staged.display())
        };
        io(path, what)(e)
    })?;
    if let Some(g) = &access.group {
        std::os::unix::fs::chown(&staged, None, Some(g.gid))
            .map_err(io(path, format!("giving the socket to group '{}'", g.name)))?;
    }
    std::fs::set_permissions(
        &staged,
        std::fs::Permissions::from_mode(access.socket_mode()),
    )
    .map_err(io(path, "setting the socket's mode"))?;
    std::fs::rename(&staged, path).map_err(io(path, "moving the socket into place"))?;
    Ok(listener)
}

/// The socket's directory: created if missing; otherwise checked (see the module's comment).
fn prepare_directory(dir: &Path, access: &Access) -> Result<(), SocketError> {
    let refuse = |why: String| SocketError::Directory {
        dir: dir.display().to_string(),
        why,
    };
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return create_directory(dir, access);
        }
        Err(e) => return Err(refuse(format!("cannot look at it: {e}"))),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(
            "is a symbolic link; name the real directory (a link can be changed to point elsewhere)".into(),
        ));
    }
    if !meta.is_dir() {
        return Err(refuse("is not a directory".into()));
    }
    if meta.uid() != access.engine_uid {
        return Err(refuse(format!(
            "belongs to uid {}, not to this engine's user (uid {}): its owner could replace the socket; \
             use a directory of the engine's user (the default is /run/sessmgr)",
            meta.uid(),
            access.engine_uid
        )));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(refuse(format!(
            "can be written by {} (mode {mode:04o}): another user could take the socket's name or \
             replace it; use a directory only the engine's user can write (the default is /run/sessmgr)",
            if mode & 0o002 != 0 {
                "every user"
            } else {
                "its group"
            }
        )));
    }
    if let Some(g) = &access.group {
        let group_enters = mode & 0o001 != 0 || (mode & 0o010 != 0 && meta.gid() == g.gid);
        if !group_enters {
            return Err(refuse(format!(
                "group '{}' cannot enter it (mode {mode:04o}, gid {}), so its members cannot reach the socket: \
                 `chgrp {} {d} && chmod 0750 {d}`, or remove the directory and the engine creates it",
                g.name,
                meta.gid(),
                g.name,
                d = dir.display()
            )));
        }
    }
    Ok(())
}

/// A missing directory: this user's alone (0700), or with the control group's members let in
/// to reach the socket (0750). Parents that are missing too get the same mode.
fn create_directory(dir: &Path, access: &Access) -> Result<(), SocketError> {
    let mode = if access.group.is_some() { 0o750 } else { 0o700 };
    let fail = |what: &str, e: std::io::Error| SocketError::Directory {
        dir: dir.display().to_string(),
        why: format!("{what}: {e}"),
    };
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| {
            if e.kind() == ErrorKind::PermissionDenied && access.engine_uid != 0 {
                fail(
                    "cannot create it (an engine that does not run as root needs \
                     runtime.control_socket in a directory of its user, e.g. under $XDG_RUNTIME_DIR)",
                    e,
                )
            } else {
                fail("cannot create it", e)
            }
        })?;
    if let Some(g) = &access.group {
        std::os::unix::fs::chown(dir, None, Some(g.gid))
            .map_err(|e| fail(&format!("cannot give it to group '{}'", g.name), e))?;
    }
    // The umask may have taken bits away; the mode is set whole.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .map_err(|e| fail("cannot set its mode", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sessmgr-place-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("mode");
        d
    }

    fn me() -> Access {
        Access::for_this_process(None)
    }

    fn mode_of(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).expect("stat").mode() & 0o7777
    }

    #[test]
    fn a_missing_directory_is_created_for_the_engines_user_alone() {
        let d = scratch("create");
        let path = d.join("run/sessmgr/ctl.sock");
        let c = claim(&path, &me()).expect("claim");
        assert_eq!(mode_of(&d.join("run/sessmgr")), 0o700);
        assert_eq!(mode_of(&path), 0o600);
        assert!(
            std::fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_socket()
        );
        // Nothing is left of the private directory it was bound in.
        let names: Vec<_> = std::fs::read_dir(d.join("run/sessmgr"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&"ctl.sock.lock".to_string()), "{names:?}");
        // The socket works where it was moved to.
        let _client = UnixStream::connect(&path).expect("connect");
        assert!(c.listener.accept().is_ok());
        drop(c);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_directory_others_can_write_or_that_is_no_directory_is_refused() {
        let d = scratch("refuse");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let e = claim(&d.join("ctl.sock"), &me()).err().expect("refused");
        let msg = e.to_string();
        assert!(
            msg.contains(&d.display().to_string())
                && msg.contains("every user")
                && msg.contains("1777"),
            "{msg}"
        );
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o775)).unwrap();
        let e = claim(&d.join("ctl.sock"), &me()).err().expect("refused");
        assert!(e.to_string().contains("its group"), "{e}");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(d.join("file"), "x").unwrap();
        let e = claim(&d.join("file/ctl.sock"), &me())
            .err()
            .expect("refused");
        assert!(e.to_string().contains("is not a directory"), "{e}");
        std::os::unix::fs::symlink(&d, d.join("link")).unwrap();
        let e = claim(&d.join("link/ctl.sock"), &me())
            .err()
            .expect("refused");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // A directory of another user.
        let other = Access {
            engine_uid: me().engine_uid + 1,
            group: None,
        };
        let e = claim(&d.join("ctl.sock"), &other).err().expect("refused");
        assert!(e.to_string().contains("belongs to uid"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_regular_file_at_the_path_is_never_replaced() {
        let d = scratch("file");
        let path = d.join("ctl.sock");
        std::fs::write(&path, "precious").unwrap();
        let e = claim(&path, &me()).err().expect("refused");
        assert!(matches!(e, SocketError::NotASocket { .. }), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_live_socket_is_left_alone_and_a_stale_one_is_replaced() {
        let d = scratch("live");
        let path = d.join("ctl.sock");
        // Live, and locked: the second claim stops at the lock.
        let first = claim(&path, &me()).expect("first");
        let e = claim(&path, &me()).err().expect("busy");
        assert!(matches!(e, SocketError::Busy { .. }), "{e}");
        assert!(e.to_string().contains("another engine is serving"), "{e}");
        assert_eq!(
            std::fs::symlink_metadata(&path).unwrap().ino(),
            first.identity.1,
            "the live socket was replaced"
        );
        // Live, not locked (an engine that takes no lock): the probe finds it.
        let Claim { listener, lock, .. } = first;
        drop(lock);
        let e = claim(&path, &me()).err().expect("busy");
        assert!(matches!(e, SocketError::Busy { .. }), "{e}");
        // Stale: nothing listens any more.
        drop(listener);
        let again = claim(&path, &me()).expect("a stale socket is replaced");
        assert_eq!(mode_of(&path), 0o600);
        drop(again);
        let _ = std::fs::remove_dir_all(&d);
    }
}

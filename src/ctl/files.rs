//! The files a console may write: `save FILE` and a display's `> FILE` / `>> FILE`
//! (reference/comware.md §1.6, §1.7). On a Comware device they go to the storage medium,
//! `flash:/`; here `flash:/` is the configuration directory, the directory of the startup
//! configuration file (`[runtime] startup_config`), and nothing outside it may be written:
//! the control socket serves members of a control group, who must not get the engine (often
//! root) to write any file of the machine.
//!
//! A name is read as Comware reads a file URL: `flash:/NAME` or `flash:NAME` is NAME in the
//! configuration directory, and so is a bare relative NAME (flash:/ is a console's working
//! directory). An absolute path is taken only when it already lies in the configuration
//! directory (ours). `..` is refused wherever it appears, the file's directory must exist and,
//! its symbolic links resolved, still be inside the configuration directory, and an existing
//! file that is a symbolic link is refused (it could point anywhere).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// What flash:/ is on this engine: the directory of the startup configuration file.
pub fn config_dir(startup: &Path) -> PathBuf {
    match startup.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes a configuration file whole or not at all: into a temporary file beside it, flushed
/// to the disk, then renamed over it. A crash or a full disk in the middle of `save` leaves the
/// previous startup configuration as it was, never half of the new one (which would start the
/// engine without the half that is missing: its packet filters, say).
pub fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".saving-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Why a file name was refused: the console's ` % ...` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub typed: String,
    pub dir: PathBuf,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            " % Can't write {}: only files in flash:/ (the configuration directory, {}) may be written.",
            self.typed,
            self.dir.display()
        )
    }
}

/// Where `typed` (a `save` target or a redirection's file) is written, or why not.
pub fn config_file(dir: &Path, typed: &str) -> Result<PathBuf, Refused> {
    let refused = || Refused {
        typed: typed.to_string(),
        dir: dir.to_path_buf(),
    };
    let flash = strip_prefix_ignore_case(typed, "flash:/")
        .or_else(|| strip_prefix_ignore_case(typed, "flash:"));
    let name = Path::new(flash.unwrap_or(typed));
    if name.as_os_str().is_empty()
        || name
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::Prefix(_)))
    {
        return Err(refused());
    }
    let path = if name.is_absolute() {
        // flash:// or flash:/ followed by an absolute path is no file of flash:/.
        if flash.is_some() {
            return Err(refused());
        }
        name.to_path_buf()
    } else {
        dir.join(name)
    };
    // The file itself: a name, not a directory; and not a symbolic link.
    if path.file_name().is_none()
        || std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
    {
        return Err(refused());
    }
    // Its directory, links resolved, inside the configuration directory's.
    let parent = path.parent().unwrap_or(dir);
    let inside = match (dir.canonicalize(), parent.canonicalize()) {
        (Ok(d), Ok(p)) => p.starts_with(d),
        _ => false,
    };
    if !inside {
        return Err(refused());
    }
    Ok(path)
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `> FILE` (overwrite) or `>> FILE` (append): a display's output goes to FILE instead of
/// the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub file: String,
    pub append: bool,
}

/// A redirection's file, open for writing.
pub struct RedirectFile {
    file: File,
    path: PathBuf,
}

impl Redirect {
    /// Opens the file in the configuration directory (created if missing).
    pub fn open(&self, dir: &Path) -> Result<RedirectFile, String> {
        let path = config_file(dir, &self.file).map_err(|r| format!("{r}\n"))?;
        let mut o = OpenOptions::new();
        if self.append {
            o.append(true);
        } else {
            o.write(true).truncate(true);
        }
        o.create(true)
            .open(&path)
            .map(|file| RedirectFile {
                file,
                path: path.clone(),
            })
            .map_err(|e| write_failed(&path, &e))
    }
}

impl RedirectFile {
    /// Writes a piece of the output; the console's error line when it fails.
    pub fn write(&mut self, text: &str) -> Result<(), String> {
        self.file
            .write_all(text.as_bytes())
            .map_err(|e| write_failed(&self.path, &e))
    }
}

fn write_failed(path: &Path, e: &std::io::Error) -> String {
    format!(" % Failed to write {}: {e}\n", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_is_written_whole_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("sessmgr-whole-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("startup.cfg");
        std::fs::write(&path, "old\n").unwrap();
        write_whole(&path, "#\n sysname FW\n#\nreturn\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "#\n sysname FW\n#\nreturn\n"
        );
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["startup.cfg"]);
        // A target that cannot be replaced (a directory) fails and leaves nothing behind.
        std::fs::create_dir_all(dir.join("sub.cfg")).unwrap();
        assert!(write_whole(&dir.join("sub.cfg"), "x").is_err());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sessmgr-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        dir
    }

    #[test]
    fn the_configuration_directory_is_the_startup_files() {
        assert_eq!(
            config_dir(Path::new("/etc/sessmgr/startup.cfg")),
            Path::new("/etc/sessmgr")
        );
        assert_eq!(config_dir(Path::new("startup.cfg")), Path::new("."));
    }

    #[test]
    fn flash_names_map_to_the_configuration_directory() {
        let dir = scratch("map");
        for (typed, want) in [
            ("flash:/backup.cfg", dir.join("backup.cfg")),
            ("FLASH:/backup.cfg", dir.join("backup.cfg")),
            ("flash:backup.cfg", dir.join("backup.cfg")),
            ("backup.cfg", dir.join("backup.cfg")),
            ("flash:/sub/b.cfg", dir.join("sub/b.cfg")),
            ("./c.cfg", dir.join("./c.cfg")),
        ] {
            assert_eq!(config_file(&dir, typed), Ok(want), "{typed}");
        }
        // An absolute path already inside is taken as it is.
        let inside = dir.join("sub/x.cfg");
        assert_eq!(
            config_file(&dir, inside.to_str().unwrap()),
            Ok(inside.clone())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn paths_outside_the_configuration_directory_are_refused() {
        let dir = scratch("refuse");
        let outside = std::env::temp_dir().join("sessmgr-files-outside.cfg");
        for typed in [
            "../x.cfg",
            "flash:/../x.cfg",
            "sub/../../x.cfg",
            "flash://etc/passwd.cfg",
            "/etc/x.cfg",
            outside.to_str().unwrap(),
            "flash:/",
            "",
            "flash:/no-such-dir/x.cfg",
        ] {
            let r = config_file(&dir, typed);
            assert!(r.is_err(), "{typed:?}: {r:?}");
        }
        let e = config_file(&dir, "/etc/x.cfg").unwrap_err().to_string();
        assert!(
            e.starts_with(" % Can't write /etc/x.cfg: only files in flash:/"),
            "{e}"
        );
        assert!(e.contains(&dir.display().to_string()), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn symbolic_links_out_of_the_directory_are_refused() {
        let dir = scratch("links");
        let away = scratch("links-away");
        std::os::unix::fs::symlink(&away, dir.join("out")).unwrap();
        std::os::unix::fs::symlink(away.join("f.cfg"), dir.join("f.cfg")).unwrap();
        assert!(config_file(&dir, "flash:/out/x.cfg").is_err());
        assert!(config_file(&dir, "f.cfg").is_err());
        // A link to a directory inside is fine.
        std::os::unix::fs::symlink(dir.join("sub"), dir.join("in")).unwrap();
        assert_eq!(
            config_file(&dir, "flash:/in/y.cfg"),
            Ok(dir.join("in/y.cfg"))
        );
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&away);
    }

    #[test]
    fn redirection_overwrites_or_appends() {
        let dir = scratch("redirect");
        let over = Redirect {
            file: "out.txt".into(),
            append: false,
        };
        let add = Redirect {
            append: true,
            ..over.clone()
        };
        over.open(&dir).unwrap().write("one\n").unwrap();
        add.open(&dir).unwrap().write("two\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("out.txt")).unwrap(),
            "one\ntwo\n"
        );
        over.open(&dir).unwrap().write("three\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("out.txt")).unwrap(),
            "three\n"
        );
        let e = Redirect {
            file: "../out.txt".into(),
            append: false,
        }
        .open(&dir)
        .err()
        .unwrap();
        assert!(e.starts_with(" % Can't write ../out.txt"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

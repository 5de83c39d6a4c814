//! Where Pixie keeps its (non-secret) files: `$PIXIE_HOME`, else the platform config directory.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::profile::ProfileName;

/// Reads at most `cap` bytes of a file the user names (a CA bundle); a bigger one is refused
/// rather than read whole, and a FIFO or device cannot make the read endless.
pub(crate) fn read_bounded(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::other(format!(
            "larger than {} KiB",
            cap / 1024
        )));
    }
    Ok(bytes)
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Pixie's directory for its non-secret files: the profile file, lock files and refresh records.
#[derive(Clone, Debug)]
pub struct PixieHome {
    root: PathBuf,
}

impl PixieHome {
    /// `$PIXIE_HOME` when set (tests, portable installs), else e.g. `~/.config/pixie` on Linux.
    pub fn from_env() -> Result<Self> {
        if let Some(dir) = std::env::var_os("PIXIE_HOME").filter(|v| !v.is_empty()) {
            return Ok(Self::at(PathBuf::from(dir)));
        }
        let dirs = directories::ProjectDirs::from("", "", "pixie").ok_or_else(|| {
            Error::Internal("cannot determine a config directory; set PIXIE_HOME".into())
        })?;
        Ok(Self::at(dirs.config_dir().to_path_buf()))
    }

    /// A home at `root` (created on first write).
    pub fn at(root: PathBuf) -> Self {
        Self { root }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The profile file, `profiles.toml`.
    pub(crate) fn profiles_file(&self) -> PathBuf {
        self.root.join("profiles.toml")
    }

    /// The directory of lock files.
    pub(crate) fn locks_dir(&self) -> PathBuf {
        self.root.join("locks")
    }

    /// The profile file's lock.
    pub(crate) fn profiles_lock(&self) -> PathBuf {
        self.locks_dir().join("profiles.lock")
    }

    /// A profile's session lock (refresh, sign-in, sign-out, edits). In a directory of its own
    /// and named by the hex of the lower-cased name, so no profile name can be another lock
    /// (`profiles`), a reserved file name (`con` on Windows), or differ only in case from a
    /// name a case-insensitive file system would take for the same file.
    pub(crate) fn session_lock(&self, name: &ProfileName) -> PathBuf {
        self.locks_dir()
            .join("sessions")
            .join(format!("{}.lock", hex(&name.as_str().to_ascii_lowercase())))
    }

    /// Where a profile's refresh records live (see [`crate::ledger`]): the hex of the exact
    /// name (safe on any file system), so two profiles an older Pixie let differ only in case
    /// never share records, though they share a lock.
    pub(crate) fn ledger_file(&self, name: &ProfileName) -> PathBuf {
        self.root
            .join("ledger")
            .join(format!("{}.json", hex(name.as_str())))
    }

    /// A profile's session change stamp (see `Vault::stamp`), named as its session lock is, so
    /// the same names are safe here as there.
    pub(crate) fn session_stamp(&self, name: &ProfileName) -> PathBuf {
        self.root
            .join("stamps")
            .join(hex(&name.as_str().to_ascii_lowercase()))
    }

    /// Replaces `path` with `bytes` durably: a temporary file beside it (named `prefix…`),
    /// fsynced, renamed over it, and the rename itself fsynced. Readers see the old content or
    /// the new, never a part; the directory is created private if need be.
    pub(crate) fn write_atomically(path: &Path, prefix: &str, bytes: &[u8]) -> Result<()> {
        use std::io::Write;
        let dir = path
            .parent()
            .ok_or_else(|| Error::Internal(format!("{} has no directory", path.display())))?;
        Self::ensure_dir(dir)?;
        let io = |e: std::io::Error| Error::io(path, e);
        let mut tmp = tempfile::Builder::new()
            .prefix(prefix)
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(io)?;
        tmp.write_all(bytes).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        #[cfg(unix)]
        if let Ok(d) = std::fs::File::open(dir) {
            // Make the rename itself durable.
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Creates a directory under the home readable by this user only.
    pub(crate) fn ensure_dir(path: &Path) -> Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(path).map_err(|e| Error::io(path, e))?;
        // One made by an older Pixie (0755) is made private too.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| Error::io(path, e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_profile_name_is_another_file_pixie_keeps() {
        let home = PixieHome::at(PathBuf::from("/h"));
        let taken = [home.profiles_file(), home.profiles_lock(), home.locks_dir()];
        for name in [
            "profiles",
            "profiles.toml",
            "locks",
            "sessions",
            "ledger",
            "con",
            "a.lock",
        ] {
            let name = ProfileName::new(name).unwrap();
            for path in [home.session_lock(&name), home.ledger_file(&name)] {
                assert!(!taken.contains(&path), "{name}: {}", path.display());
            }
        }
        // Case-insensitive file systems see one file: so does Pixie.
        let lower = ProfileName::new("work").unwrap();
        let upper = ProfileName::new("WORK").unwrap();
        assert_eq!(home.session_lock(&lower), home.session_lock(&upper));
        assert_ne!(home.ledger_file(&lower), home.ledger_file(&upper));
        assert_ne!(home.session_lock(&lower), home.ledger_file(&lower));
    }
}

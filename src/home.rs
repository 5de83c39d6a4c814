//! Where Pixie keeps its (non-secret) files: `$PIXIE_HOME`, else the platform config directory.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

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

    pub fn at(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn profiles_file(&self) -> PathBuf {
        self.root.join("profiles.toml")
    }

    pub fn locks_dir(&self) -> PathBuf {
        self.root.join("locks")
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
        builder.create(path).map_err(|e| Error::io(path, e))
    }
}

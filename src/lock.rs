//! Cross-process exclusive locks on files under the Pixie home (the GUI and any number of CLI
//! processes share one keychain and one profile file).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::home::PixieHome;

/// Held while alive; the OS releases the lock when the file is closed, even on a crash.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

fn open(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        PixieHome::ensure_dir(dir).map_err(|e| match e {
            Error::FileIo { path, source } => Error::Lock { path, source },
            other => other,
        })?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| lock_error(path, e))
}

fn lock_error(path: &Path, source: std::io::Error) -> Error {
    Error::Lock {
        path: path.to_owned(),
        source,
    }
}

/// Blocks the calling thread until the lock is ours.
pub fn lock_blocking(path: &Path) -> Result<FileLock> {
    let file = open(path)?;
    file.lock().map_err(|e| lock_error(path, e))?;
    Ok(FileLock { _file: file })
}

/// Waits for the lock without blocking the async runtime.
pub async fn lock(path: PathBuf) -> Result<FileLock> {
    tokio::task::spawn_blocking(move || lock_blocking(&path))
        .await
        .map_err(|e| Error::Internal(format!("lock task failed: {e}")))?
}

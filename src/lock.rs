//! Cross-process exclusive locks on files under the Pixie home (the GUI and any number of CLI
//! processes share one keychain and one profile file).
//!
//! Every wait is bounded: a process that holds a lock too long (a hung provider, a keychain
//! waiting on an unlock prompt nobody sees) makes the others fail with a message naming it,
//! instead of wedging them all. The holder writes its pid into the lock file for that message.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::home::PixieHome;

/// How long a session (refresh) lock is waited for. A refresh holds it for at most its HTTP
/// attempts (3 × 30 s) plus a few keychain calls (60 s each at worst), so a longer wait means
/// the holder is stuck.
pub const SESSION_LOCK_WAIT: Duration = Duration::from_secs(300);
/// How long the profile file's lock is waited for: it is held for a read-modify-write and at
/// most one keychain call.
pub const PROFILE_FILE_LOCK_WAIT: Duration = Duration::from_secs(90);

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
        .read(true)
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

/// The pid the current holder wrote, if it is a number (the file is only ours to trust so far).
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.take(16).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// Records this process as the holder; a failure only costs the message its pid.
fn claim(file: &mut File) {
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| write!(file, "{}", std::process::id()));
    if let Err(e) = written {
        tracing::debug!(error = %e, "could not record the lock holder");
    }
}

/// Blocks the calling thread until the lock is ours, or `wait` has passed.
pub fn lock_blocking(path: &Path, wait: Duration) -> Result<FileLock> {
    let mut file = open(path)?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => {
                claim(&mut file);
                return Ok(FileLock { _file: file });
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(lock_error(path, e)),
        }
        let waited = started.elapsed();
        if waited >= wait {
            return Err(Error::LockTimeout {
                path: path.to_owned(),
                waited_secs: waited.as_secs(),
                holder: holder(&mut file),
            });
        }
        std::thread::sleep(pause.min(wait - waited));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Waits for the lock without blocking the async runtime.
pub async fn lock(path: PathBuf, wait: Duration) -> Result<FileLock> {
    tokio::task::spawn_blocking(move || lock_blocking(&path, wait))
        .await
        .map_err(|e| Error::Internal(format!("lock task failed: {e}")))?
}

/// Whether someone holds the lock right now (without waiting for it).
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = OpenOptions::new().read(true).write(true).open(path) else {
        return false;
    };
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_times_out_naming_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks/x.lock");
        let held = lock_blocking(&path, Duration::ZERO).unwrap();
        assert!(is_held(&path));
        let started = Instant::now();
        let err = lock_blocking(&path, Duration::from_millis(150)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(150));
        match &err {
            Error::LockTimeout { holder, .. } => assert_eq!(*holder, Some(std::process::id())),
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains(&std::process::id().to_string()));
        drop(held);
        assert!(!is_held(&path));
        lock_blocking(&path, Duration::ZERO).unwrap();
    }
}

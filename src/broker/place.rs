//! Where the broker's socket lives, and keeping its directory private: `$PIXIE_AGENT_SOCKET`,
//! else `$XDG_RUNTIME_DIR/pixie/agent.sock`, else `/tmp/pixie-<uid>/agent.sock`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::BrokerError;

/// The socket's path: `$PIXIE_AGENT_SOCKET`, else `$XDG_RUNTIME_DIR/pixie/agent.sock`, else a
/// private directory under `/tmp` named by the user id.
pub fn socket_path() -> Result<PathBuf, BrokerError> {
    if let Some(p) = std::env::var_os("PIXIE_AGENT_SOCKET").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|p| !p.is_empty()) {
        return Ok(Path::new(&dir).join("pixie").join("agent.sock"));
    }
    let uid = current_uid().ok_or_else(|| BrokerError::NoPlace("no user id".into()))?;
    Ok(std::env::temp_dir()
        .join(format!("pixie-{uid}"))
        .join("agent.sock"))
}

/// This process's effective user id.
pub fn current_uid() -> Option<u32> {
    Some(rustix::process::geteuid().as_raw())
}

/// Makes the socket's directory, or checks the one there: a directory (not a link) owned by
/// this user. Pixie's own directories (the default places) are made 0700 when they are looser;
/// a directory named through `$PIXIE_AGENT_SOCKET` is the caller's and only made 0700 when this
/// creates it.
pub(super) fn prepare_dir(socket: &Path, uid: u32) -> Result<(), BrokerError> {
    let dir = match socket.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let io = |source| BrokerError::Io {
        path: dir.to_owned(),
        source,
    };
    let unsafe_dir = |reason: String| BrokerError::Unsafe {
        path: dir.to_owned(),
        reason,
    };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(io)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
            Ok(())
        }
        Err(e) => Err(io(e)),
        Ok(m) if !m.is_dir() => Err(unsafe_dir("not a directory".into())),
        Ok(m) if m.uid() != uid => Err(unsafe_dir(format!(
            "the directory belongs to user {}, not to this user ({uid})",
            m.uid()
        ))),
        Ok(m) => {
            let ours = std::env::var_os("PIXIE_AGENT_SOCKET").is_none_or(|p| p.is_empty());
            if ours && m.mode() & 0o077 != 0 {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(io)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_of_another_user_or_a_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let uid = current_uid().unwrap();
        let fresh = tmp.path().join("new/agent.sock");
        prepare_dir(&fresh, uid).unwrap();
        let mode = std::fs::metadata(tmp.path().join("new")).unwrap().mode();
        assert_eq!(mode & 0o777, 0o700);
        let err = prepare_dir(&fresh, uid + 1).unwrap_err();
        assert!(matches!(err, BrokerError::Unsafe { .. }), "{err}");
        std::fs::write(tmp.path().join("file"), "").unwrap();
        let err = prepare_dir(&tmp.path().join("file/agent.sock"), uid).unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
    }
}

//! The desktop app's own settings (`desktop.json` beside the profile file). Nothing secret.

use std::path::PathBuf;

use crate::ipc::Settings;

/// Longest clipboard delay accepted: a day.
const MAX_CLEAR_SECS: u32 = 86_400;

pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// The saved settings, or the defaults when there are none or they don't parse (a damaged
    /// settings file is not worth refusing to start over; it is logged and kept until a save).
    pub fn load(&self) -> Settings {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(path = %self.path.display(), error = %e, "settings unreadable; using defaults");
                Settings::default()
            }),
            Err(_) => Settings::default(),
        }
    }

    pub fn save(&self, settings: &Settings) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(std::path::Path::new("."));
        // The Pixie home holds the profile file, locks and refresh records: this user's only.
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // One made by an older Pixie (0755) is made private too.
            if std::fs::metadata(dir)?.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            }
        }
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(settings).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)
    }
}

pub fn validate(settings: &Settings) -> Result<(), String> {
    if settings.clipboard_clear_secs > MAX_CLEAR_SECS {
        return Err(format!(
            "clear the clipboard after at most {MAX_CLEAR_SECS} s (or 0 for never)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_directory_it_creates_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("pixie");
        SettingsFile::new(home.join("desktop.json"))
            .save(&Settings::default())
            .unwrap();
        let mode = std::fs::metadata(&home).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{mode:o}");
    }

    #[test]
    fn saved_settings_load_back_and_garbage_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let f = SettingsFile::new(dir.path().join("desktop.json"));
        assert_eq!(f.load(), Settings::default());
        f.save(&Settings {
            clipboard_clear_secs: 5,
        })
        .unwrap();
        assert_eq!(f.load().clipboard_clear_secs, 5);
        std::fs::write(dir.path().join("desktop.json"), "{not json").unwrap();
        assert_eq!(f.load(), Settings::default());
        assert!(validate(&Settings {
            clipboard_clear_secs: 86_401
        })
        .is_err());
    }
}

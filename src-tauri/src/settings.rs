//! The desktop app's own settings (`desktop.json` beside the profile file). Nothing secret.
//! Besides the [`Settings`] the window edits, the file keeps the app's program policy
//! ([`ProgramRules`]): which profiles ask before a new program gets their token, and which
//! programs were allowed "Always". It is the app's policy, not the profile's, so it is not in the
//! profile file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::ipc::Settings;

/// Longest clipboard delay accepted: a day.
const MAX_CLEAR_SECS: u32 = 86_400;

/// The app's program policy, per profile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramRules {
    /// Profiles whose token a program not yet allowed gets only once the person says so.
    #[serde(default)]
    pub ask: BTreeSet<String>,
    /// Per profile, the executables allowed "Always".
    #[serde(default)]
    pub allowed: BTreeMap<String, BTreeSet<PathBuf>>,
}

/// What `desktop.json` holds: the settings at the top level (as before the program policy
/// existed, so older files read unchanged) and the program rules under `programs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Record {
    #[serde(flatten)]
    settings: Settings,
    #[serde(default)]
    programs: ProgramRules,
}

pub struct SettingsFile {
    path: PathBuf,
    /// Held across each read-change-write, so the window's settings and the program policy, saved
    /// from different threads, never write over each other's part.
    writing: Mutex<()>,
}

impl SettingsFile {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            writing: Mutex::new(()),
        }
    }

    /// The saved settings, or the defaults when there are none or they don't parse (a damaged
    /// settings file is not worth refusing to start over; it is logged and kept until a save).
    pub fn load(&self) -> Settings {
        self.record().settings
    }

    /// The saved program rules (none when the file is missing or damaged).
    pub fn load_programs(&self) -> ProgramRules {
        self.record().programs
    }

    pub fn save(&self, settings: &Settings) -> std::io::Result<()> {
        self.change(|r| r.settings = settings.clone())
    }

    pub fn save_programs(&self, rules: &ProgramRules) -> std::io::Result<()> {
        self.change(|r| r.programs = rules.clone())
    }

    fn record(&self) -> Record {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(path = %self.path.display(), error = %e, "settings unreadable; using defaults");
                Record::default()
            }),
            Err(_) => Record::default(),
        }
    }

    fn change(&self, f: impl FnOnce(&mut Record)) -> std::io::Result<()> {
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let mut record = self.record();
        f(&mut record);
        self.write(&record)
    }

    fn write(&self, record: &Record) -> std::io::Result<()> {
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
        let text = serde_json::to_string_pretty(record).map_err(std::io::Error::other)?;
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

    #[test]
    fn settings_and_program_rules_share_the_file_without_overwriting_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desktop.json");
        // A file from before the program policy reads as it did.
        std::fs::write(&path, r#"{"clipboard_clear_secs": 7}"#).unwrap();
        let f = SettingsFile::new(path.clone());
        assert_eq!(f.load().clipboard_clear_secs, 7);
        assert_eq!(f.load_programs(), ProgramRules::default());

        let mut rules = ProgramRules::default();
        rules.ask.insert("work".into());
        rules
            .allowed
            .entry("work".into())
            .or_default()
            .insert("/usr/bin/kubectl".into());
        f.save_programs(&rules).unwrap();
        f.save(&Settings {
            clipboard_clear_secs: 9,
        })
        .unwrap();
        assert_eq!(f.load_programs(), rules);
        assert_eq!(f.load().clipboard_clear_secs, 9);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"programs\""), "{text}");
    }
}

//! The profile file: one human-readable TOML file with a schema version, written atomically
//! (temp file + rename) under a cross-process lock. A file that does not parse is never
//! overwritten; a copy is kept beside it so nothing is lost even if someone deletes it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Profile, ProfileName, ProfileRecord};
use crate::error::{Error, Result};
use crate::home::PixieHome;
use crate::lock;

/// The profile file's schema version: what this Pixie writes, and the newest it reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole file, and also the export/import document (as JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// The schema version the document was written with.
    pub version: u32,
    /// The profiles, in order.
    #[serde(default)]
    pub profiles: Vec<ProfileRecord>,
}

impl ProfileFile {
    /// The document for `profiles`, at this Pixie's schema version.
    pub fn from_profiles(profiles: &[Profile]) -> Self {
        Self {
            version: SCHEMA_VERSION,
            profiles: profiles.iter().map(Profile::to_record).collect(),
        }
    }

    /// Reads a JSON export (`source` names it in messages) into validated profiles.
    pub fn parse_export(text: &str, source: &str) -> Result<Vec<Profile>> {
        let doc: ProfileFile = serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("{source} is not a Pixie profile export: {e}")))?;
        if doc.version > SCHEMA_VERSION {
            return Err(Error::invalid(format!(
                "{source} has schema version {}, newer than this Pixie ({SCHEMA_VERSION})",
                doc.version
            )));
        }
        doc.profiles.into_iter().map(Profile::try_from).collect()
    }
}

/// Why the profile file's text was refused.
#[derive(Debug)]
pub(crate) enum TomlProblem {
    /// It does not parse, or a profile in it is invalid or appears twice.
    Corrupt(String),
    /// Its schema version is newer than this Pixie's.
    Newer(u32),
}

impl ProfileFile {
    /// The profile file's text (TOML) into validated profiles, in file order.
    pub(crate) fn parse_toml(text: &str) -> std::result::Result<Vec<Profile>, TomlProblem> {
        let file: ProfileFile = toml::from_str(text).map_err(|e| {
            let reason = e.message().to_owned();
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            TomlProblem::Corrupt(format!("{reason}{at}"))
        })?;
        if file.version > SCHEMA_VERSION {
            return Err(TomlProblem::Newer(file.version));
        }
        let mut profiles: Vec<Profile> = Vec::with_capacity(file.profiles.len());
        for record in file.profiles {
            let profile =
                Profile::try_from(record).map_err(|e| TomlProblem::Corrupt(e.to_string()))?;
            if profiles.iter().any(|p| p.name == profile.name) {
                return Err(TomlProblem::Corrupt(format!(
                    "profile `{}` appears twice",
                    profile.name
                )));
            }
            profiles.push(profile);
        }
        Ok(profiles)
    }

    /// The profile file's text for `profiles`, as [`ProfileStore`] writes it.
    pub(crate) fn to_toml(profiles: &[Profile]) -> Result<String> {
        let body = toml::to_string_pretty(&ProfileFile::from_profiles(profiles))
            .map_err(|e| Error::Internal(format!("cannot serialise profiles: {e}")))?;
        Ok(format!(
            "# Pixie provider profiles. Secrets are never stored here: they live in the OS keychain.\n{body}"
        ))
    }
}

/// The profile file of a Pixie home. Every call reads the file, so changes made by other
/// processes are seen; writes happen under the profile-file lock.
///
/// What was parsed is kept with the text it came from: while the file reads the same, the
/// profiles are not parsed and validated again (a broker asks for a profile at every token
/// request). Comparing the text, not the file's times, cannot miss a change.
#[derive(Clone, Debug)]
pub struct ProfileStore {
    path: PathBuf,
    lock_path: PathBuf,
    parsed: std::sync::Arc<std::sync::Mutex<Option<Parsed>>>,
}

/// The profiles last parsed, and the text they came from.
type Parsed = (String, Vec<Profile>);

impl ProfileStore {
    /// The store for `home`'s profile file. Nothing is read yet.
    pub(crate) fn new(home: &PixieHome) -> Self {
        Self {
            path: home.profiles_file(),
            lock_path: home.profiles_lock(),
            parsed: Default::default(),
        }
    }

    /// The profile file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All profiles, in file order. A missing file is an empty list.
    pub fn list(&self) -> Result<Vec<Profile>> {
        self.read()
    }

    /// The profile named `name`, or [`Error::UnknownProfile`].
    pub fn get(&self, name: &str) -> Result<Profile> {
        self.list()?
            .into_iter()
            .find(|p| p.name.as_str() == name)
            .ok_or_else(|| Error::UnknownProfile(name.to_owned()))
    }

    /// Removes a profile from the file and returns it (its keychain entries are the caller's).
    pub(crate) fn remove(&self, name: &ProfileName) -> Result<Profile> {
        self.update(|profiles| {
            let idx = profiles
                .iter()
                .position(|p| &p.name == name)
                .ok_or_else(|| Error::UnknownProfile(name.to_string()))?;
            Ok(profiles.remove(idx))
        })
    }

    /// Read-modify-write under the lock. Nothing is written when `f` fails or the file is corrupt.
    pub(crate) fn update<T>(&self, f: impl FnOnce(&mut Vec<Profile>) -> Result<T>) -> Result<T> {
        let _guard = lock::lock_blocking(&self.lock_path, lock::PROFILE_FILE_LOCK_WAIT)?;
        let mut profiles = self.read()?;
        let out = f(&mut profiles)?;
        // Never write a file that would not read back.
        for (i, p) in profiles.iter().enumerate() {
            if let Some(q) = profiles[..i].iter().find(|q| q.name.collides_with(&p.name)) {
                return Err(p.name.duplicate_of(&q.name));
            }
        }
        self.write(&profiles)?;
        Ok(out)
    }

    fn read(&self) -> Result<Vec<Profile>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(self.corrupt("it is not UTF-8 text".into()))
            }
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        let parsed = || self.parsed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((seen, profiles)) = parsed().as_ref() {
            if *seen == text {
                return Ok(profiles.clone());
            }
        }
        let profiles = self.parse(&text)?;
        *parsed() = Some((text, profiles.clone()));
        Ok(profiles)
    }

    fn parse(&self, text: &str) -> Result<Vec<Profile>> {
        ProfileFile::parse_toml(text).map_err(|problem| match problem {
            TomlProblem::Corrupt(reason) => self.corrupt(reason),
            TomlProblem::Newer(found) => Error::UnsupportedSchema {
                path: self.path.clone(),
                found,
                supported: SCHEMA_VERSION,
            },
        })
    }

    /// Builds the "corrupt" error, keeping a copy of the file first (best effort).
    fn corrupt(&self, reason: String) -> Error {
        let backup = self.path.with_extension("toml.corrupt");
        let same = std::fs::read(&backup).ok() == std::fs::read(&self.path).ok();
        if !same {
            if let Err(e) = std::fs::copy(&self.path, &backup) {
                tracing::warn!(error = %e, "could not keep a copy of the corrupt profile file");
            }
        }
        Error::CorruptProfileFile {
            path: self.path.clone(),
            reason,
            backup,
        }
    }

    fn write(&self, profiles: &[Profile]) -> Result<()> {
        let text = ProfileFile::to_toml(profiles)?;
        PixieHome::write_atomically(&self.path, ".profiles.", text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str) -> Profile {
        Profile::try_from(ProfileRecord {
            name: name.into(),
            issuer: Some("https://id.example.com".into()),
            client_id: "client".into(),
            scopes: vec!["openid".into()],
            ..Default::default()
        })
        .unwrap()
    }

    fn store() -> (tempfile::TempDir, ProfileStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::new(&PixieHome::at(dir.path().to_path_buf()));
        (dir, store)
    }

    fn add(s: &ProfileStore, p: Profile) -> Result<()> {
        s.update(|list| {
            list.push(p);
            Ok(())
        })
    }

    #[test]
    fn what_was_parsed_is_used_again_only_while_the_file_is_the_same() {
        let (_d, s) = store();
        add(&s, profile("a")).unwrap();
        assert_eq!(s.get("a").unwrap().client_id, "client");
        // Another process's store (its own memory) writes: this one sees it.
        let other = ProfileStore::new(&PixieHome::at(_d.path().to_path_buf()));
        other
            .update(|list| {
                list[0].client_id = "changed".into();
                Ok(())
            })
            .unwrap();
        assert_eq!(s.get("a").unwrap().client_id, "changed");
        // An edit in place, same length, by hand: seen too.
        let text = std::fs::read_to_string(s.path()).unwrap();
        std::fs::write(s.path(), text.replace("changed", "CHANGED")).unwrap();
        assert_eq!(s.get("a").unwrap().client_id, "CHANGED");
        // A file that became corrupt is reported, not answered from memory.
        std::fs::write(s.path(), "version = [").unwrap();
        assert!(matches!(s.list(), Err(Error::CorruptProfileFile { .. })));
        std::fs::remove_file(s.path()).unwrap();
        assert!(s.list().unwrap().is_empty());
    }

    #[test]
    fn update_get_remove() {
        let (_d, s) = store();
        assert!(s.list().unwrap().is_empty());
        add(&s, profile("a")).unwrap();
        add(&s, profile("b")).unwrap();
        s.update(|list| {
            list[1].client_id = "other".into();
            Ok(())
        })
        .unwrap();
        assert_eq!(s.get("b").unwrap().client_id, "other");
        // A list with a name twice is refused, and nothing is written.
        let before = std::fs::read(s.path()).unwrap();
        assert!(matches!(
            add(&s, profile("a")),
            Err(Error::DuplicateProfile(_))
        ));
        assert_eq!(std::fs::read(s.path()).unwrap(), before);
        s.remove(&ProfileName::new("a").unwrap()).unwrap();
        let names: Vec<_> = s
            .list()
            .unwrap()
            .into_iter()
            .map(|p| p.name.to_string())
            .collect();
        assert_eq!(names, ["b"]);
        assert!(matches!(s.get("a"), Err(Error::UnknownProfile(_))));
    }

    #[test]
    fn names_that_differ_only_in_case_are_refused() {
        let (_d, s) = store();
        add(&s, profile("Work")).unwrap();
        let err = add(&s, profile("work")).unwrap_err();
        assert!(matches!(err, Error::DuplicateProfile(_)), "{err}");
        assert!(err.to_string().contains("only in case"), "{err}");
        assert_eq!(s.list().unwrap().len(), 1);
    }

    #[test]
    fn file_is_versioned_toml() {
        let (_d, s) = store();
        add(&s, profile("a")).unwrap();
        let text = std::fs::read_to_string(s.path()).unwrap();
        assert!(text.contains("version = 1"), "{text}");
        assert!(text.contains("[[profiles]]"), "{text}");
    }

    #[test]
    fn corrupt_file_is_reported_kept_and_never_overwritten() {
        let (_d, s) = store();
        let garbage = b"version = 1\n[[profiles]\nname = \"x\"\n";
        std::fs::write(s.path(), garbage).unwrap();
        let err = s.list().unwrap_err();
        assert!(matches!(err, Error::CorruptProfileFile { .. }), "{err}");
        assert!(err.to_string().contains("line"), "{err}");
        assert!(add(&s, profile("a")).is_err());
        assert_eq!(std::fs::read(s.path()).unwrap(), garbage);
        assert_eq!(
            std::fs::read(s.path().with_extension("toml.corrupt")).unwrap(),
            garbage
        );
    }

    #[test]
    fn invalid_profile_in_file_is_corrupt() {
        let (_d, s) = store();
        std::fs::write(
            s.path(),
            "version = 1\n[[profiles]]\nname = \"x\"\nclient_id = \"c\"\n",
        )
        .unwrap();
        assert!(matches!(s.list(), Err(Error::CorruptProfileFile { .. })));
    }

    #[test]
    fn newer_schema_is_refused() {
        let (_d, s) = store();
        std::fs::write(s.path(), "version = 9\n").unwrap();
        assert!(matches!(
            s.list(),
            Err(Error::UnsupportedSchema { found: 9, .. })
        ));
    }

    #[test]
    fn failed_update_writes_nothing() {
        let (_d, s) = store();
        add(&s, profile("a")).unwrap();
        let before = std::fs::read(s.path()).unwrap();
        let r: Result<()> = s.update(|ps| {
            ps.clear();
            Err(Error::Internal("nope".into()))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(s.path()).unwrap(), before);
    }
}

//! Profile management. Keychain and profile-file work runs on the blocking pool; a profile and
//! its client secret change together or not at all.

use super::{blocking, Engine, Revocation, SecretChange};
use crate::error::{Error, Result};
use crate::profile::{Profile, ProfileName};
use crate::secret::SecretString;
use crate::vault::Vault;

/// What an import did beyond adding profiles.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ImportReport {
    /// How many profiles were added or replaced.
    pub imported: usize,
    /// Profiles whose `browser` command was dropped (commands run on sign-in, so an imported
    /// file may not bring one unless explicitly allowed).
    pub browser_dropped: Vec<String>,
    /// Profiles that need their client secret set (secrets are never exported).
    pub secret_needed: Vec<String>,
    /// Profiles the import pointed elsewhere (`--replace`): name, endpoints before, after.
    pub endpoints_changed: Vec<(String, String, String)>,
    /// Profiles whose token endpoint is on another host than their authorization endpoint.
    pub split_endpoints: Vec<String>,
}

/// Whether two versions of a profile talk to the same provider as the same client.
fn same_client(a: &Profile, b: &Profile) -> bool {
    a.provider == b.provider && a.client_id == b.client_id
}

impl Engine {
    /// Adds a profile and, for a confidential client, its secret. The duplicate check, the
    /// keychain write and the file write happen under the profile-file lock.
    pub async fn add_profile(
        &self,
        mut profile: Profile,
        secret: Option<SecretString>,
    ) -> Result<()> {
        let (profiles, vault) = (self.profiles.clone(), self.vault.clone());
        blocking(move || {
            let name = profile.name.clone();
            let mut secret_written = false;
            let result = profiles.update(|list| {
                if let Some(p) = list.iter().find(|p| p.name.collides_with(&profile.name)) {
                    return Err(profile.name.duplicate_of(&p.name));
                }
                profile.client_secret_in_keychain = secret.is_some();
                if let Some(s) = &secret {
                    vault.set_client_secret(&profile.name, s)?;
                    secret_written = true;
                }
                list.push(profile);
                Ok(())
            });
            if result.is_err() && secret_written {
                let _ = vault.delete_client_secret(&name);
            }
            result
        })
        .await
    }

    /// Replaces a profile. When its provider or client id changes, a kept client secret is
    /// deleted rather than sent to the new endpoint; returns whether that happened. Runs under
    /// the profile's refresh lock, and puts the keychain back if the file cannot be written.
    pub async fn update_profile(&self, mut profile: Profile, secret: SecretChange) -> Result<bool> {
        let _guard = self.lock_session(&profile.name).await?;
        let (profiles, vault) = (self.profiles.clone(), self.vault.clone());
        blocking(move || {
            let name = profile.name.clone();
            let mut undo = Undo::default();
            let result = profiles.update(|list| {
                let slot = list
                    .iter_mut()
                    .find(|p| p.name == profile.name)
                    .ok_or_else(|| Error::UnknownProfile(profile.name.to_string()))?;
                let mut dropped = false;
                let had_secret = slot.client_secret_in_keychain;
                match secret {
                    SecretChange::Set(s) => {
                        undo.remember(&vault, &name, had_secret)?;
                        vault.set_client_secret(&name, &s)?;
                        profile.client_secret_in_keychain = true;
                    }
                    SecretChange::Remove => {
                        undo.remember(&vault, &name, had_secret)?;
                        vault.delete_client_secret(&name)?;
                        profile.client_secret_in_keychain = false;
                    }
                    SecretChange::Keep if had_secret && !same_client(slot, &profile) => {
                        undo.remember(&vault, &name, had_secret)?;
                        vault.delete_client_secret(&name)?;
                        profile.client_secret_in_keychain = false;
                        dropped = true;
                    }
                    SecretChange::Keep => profile.client_secret_in_keychain = had_secret,
                }
                *slot = profile;
                Ok(dropped)
            });
            if result.is_err() {
                undo.restore(&vault);
            }
            result
        })
        .await
    }

    /// Removes a profile and everything the keychain holds for it, revoking its grant at the
    /// provider first (best effort: the outcome is returned), so no grant is left that nobody
    /// holds. Keychain first, under the profile's refresh lock: if that fails the profile stays,
    /// so nothing is orphaned, and no refresh can write a session back afterwards.
    pub async fn remove_profile(&self, name: &str) -> Result<Revocation> {
        let profile = self.profiles.get(name)?;
        let _guard = self.lock_session(&profile.name).await?;
        // As it is now: an edit while we waited decides where the secret may go.
        let profile = self.profiles.get(name)?;
        let revocation = self.end_session(&profile, true).await?;
        let (profiles, vault) = (self.profiles.clone(), self.vault.clone());
        let name = profile.name.clone();
        blocking(move || {
            vault.forget(&profile.name)?;
            profiles.remove(&profile.name).map(|_| ())
        })
        .await?;
        self.forget_session_records(&name);
        Ok(revocation)
    }

    /// Imports profiles (all or nothing). An import carries no secrets, so a profile keeps a
    /// client secret only when it replaces one for the same provider and client; browser
    /// commands are dropped unless `allow_browser`.
    pub async fn import_profiles(
        &self,
        incoming: Vec<Profile>,
        replace: bool,
        allow_browser: bool,
    ) -> Result<ImportReport> {
        // The refresh locks of every profile touched, in name order (as everywhere else).
        let mut names: Vec<_> = incoming.iter().map(|p| p.name.clone()).collect();
        names.sort();
        names.dedup();
        let mut guards = Vec::with_capacity(names.len());
        for name in &names {
            guards.push(self.lock_session(name).await?);
        }
        let (profiles, vault) = (self.profiles.clone(), self.vault.clone());
        blocking(move || {
            let mut undo = Undo::default();
            let result = profiles.update(|list| {
                let mut report = ImportReport::default();
                for (i, p) in incoming.iter().enumerate() {
                    if incoming[..i].iter().any(|q| q.name.collides_with(&p.name)) {
                        return Err(Error::invalid(format!(
                            "`{}` appears twice in the import",
                            p.name
                        )));
                    }
                    if !replace && list.iter().any(|e| e.name == p.name) {
                        return Err(Error::DuplicateProfile(format!(
                            "{} (use --replace to overwrite)",
                            p.name
                        )));
                    }
                    if let Some(e) = list
                        .iter()
                        .find(|e| e.name != p.name && e.name.collides_with(&p.name))
                    {
                        return Err(p.name.duplicate_of(&e.name));
                    }
                }
                for mut p in incoming {
                    if p.browser.is_some() && !allow_browser {
                        p.browser = None;
                        report.browser_dropped.push(p.name.to_string());
                    }
                    let wants_secret = p.client_secret_in_keychain;
                    if p.split_endpoints().is_some() {
                        report.split_endpoints.push(p.name.to_string());
                    }
                    match list.iter_mut().find(|e| e.name == p.name) {
                        Some(existing) => {
                            if existing.provider != p.provider {
                                report.endpoints_changed.push((
                                    p.name.to_string(),
                                    existing.endpoint_summary(),
                                    p.endpoint_summary(),
                                ));
                            }
                            let keep =
                                existing.client_secret_in_keychain && same_client(existing, &p);
                            if existing.client_secret_in_keychain && !keep {
                                undo.remember(&vault, &p.name, true)?;
                                vault.delete_client_secret(&p.name)?;
                            }
                            p.client_secret_in_keychain = keep;
                            if wants_secret && !keep {
                                report.secret_needed.push(p.name.to_string());
                            }
                            *existing = p;
                        }
                        None => {
                            p.client_secret_in_keychain = false;
                            if wants_secret {
                                report.secret_needed.push(p.name.to_string());
                            }
                            list.push(p);
                        }
                    }
                    report.imported += 1;
                }
                Ok(report)
            });
            if result.is_err() {
                undo.restore(&vault);
            }
            result
        })
        .await
    }
}

/// Client secrets as they were before a change, to put back if the profile file can't follow.
#[derive(Default)]
struct Undo {
    previous: Vec<(ProfileName, Option<SecretString>)>,
}

impl Undo {
    fn remember(&mut self, vault: &Vault, name: &ProfileName, had_secret: bool) -> Result<()> {
        let old = if had_secret {
            vault.client_secret(name)?
        } else {
            None
        };
        self.previous.push((name.clone(), old));
        Ok(())
    }

    fn restore(self, vault: &Vault) {
        for (name, old) in self.previous.into_iter().rev() {
            let restored = match old {
                Some(secret) => vault.set_client_secret(&name, &secret),
                None => vault.delete_client_secret(&name),
            };
            if let Err(e) = restored {
                tracing::warn!(profile = %name, error = %e, "could not restore a client secret");
            }
        }
    }
}

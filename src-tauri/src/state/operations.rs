//! The service's operations over the engine: each one calls the engine and keeps the app's
//! bookkeeping (a row's activity, the refresher) in step with it, in IPC types.

use pixie::engine::{
    BrowserLogout, FreshToken, ImportReport, LoginOptions, LoginOutcome, NoBrowserLogout,
    ProfileStatus, Revocation, SecretChange, DEFAULT_MIN_VALID,
};
use pixie::profile::{Profile, ProfileFile};

use super::Pixie;
use crate::error::CmdResult;
use crate::ipc::{
    ClaimsPayload, DiscoveryView, ErrorCode, FormField, IpcError, ProfileForm, ProfileView,
    SecretInput,
};
use crate::views::{self, profile_view, Activity, BrowserSignOut};

/// What a sign-out did.
pub struct SignedOut {
    pub revocation: Revocation,
    /// The browser sign-out, ready to open now that the session is gone, or why there is none;
    /// `None` when the profile does not ask for one.
    pub browser: Option<Result<BrowserLogout, BrowserSignOut>>,
}

impl Pixie {
    pub async fn view(&self, name: &str) -> CmdResult<ProfileView> {
        let profile = self.engine.profiles().get(name)?;
        let (status, problem) = match self.engine.status(name).await {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(Activity::Failed(e.to_string()))),
        };
        let activity = self.overlay(name, status.as_ref()).or(problem);
        let view = profile_view(&profile, status.as_ref(), activity.as_ref());
        Ok(self.with_programs(view))
    }

    /// Every profile's row. A keychain that cannot be read shows on each row, not as a failure
    /// of the whole list: the profiles can still be edited.
    pub async fn views(&self) -> CmdResult<Vec<ProfileView>> {
        let profiles = self.engine.profiles().list()?;
        let (statuses, problem): (Vec<ProfileStatus>, _) =
            match self.engine.statuses_of(profiles.clone()).await {
                Ok(s) => (s, None),
                Err(e) => (Vec::new(), Some(Activity::Failed(e.to_string()))),
            };
        Ok(profiles
            .iter()
            .map(|p| {
                let name = p.name.as_str();
                let status = statuses.iter().find(|s| s.profile == name);
                let activity = self.overlay(name, status).or_else(|| problem.clone());
                self.with_programs(profile_view(p, status, activity.as_ref()))
            })
            .collect())
    }

    /// The row plus what the token broker knows of it: who asked, and whether new programs wait.
    fn with_programs(&self, mut view: ProfileView) -> ProfileView {
        view.programs = self.programs_of(&view.name);
        view.ask_new_programs = self.asks_new_programs(&view.name);
        view.allowed_programs = self.allowed_programs(&view.name);
        view
    }

    pub fn profile(&self, name: &str) -> CmdResult<Profile> {
        Ok(self.engine.profiles().get(name)?)
    }

    pub fn profile_form(&self, name: &str) -> CmdResult<ProfileForm> {
        Ok(views::profile_form(&self.profile(name)?))
    }

    /// Whether saving `profile` over `original` sets a browser command the person has not
    /// allowed yet: a new one, or one that differs from the stored profile's.
    pub fn browser_command_is_new(&self, profile: &Profile, original: Option<&str>) -> bool {
        let Some(cmd) = profile.browser.as_deref() else {
            return false;
        };
        let before = original.and_then(|n| self.engine.profiles().get(n).ok());
        before.is_none_or(|p| p.browser.as_deref() != Some(cmd))
    }

    /// Adds `profile` (`original` is `None`) or replaces `original` with it. Returns whether the
    /// stored client secret was dropped (the provider or client id changed).
    pub async fn save_profile(
        &self,
        original: Option<&str>,
        profile: Profile,
        secret: SecretInput,
    ) -> CmdResult<bool> {
        let secret_dropped = match original {
            None => {
                let name = profile.name.to_string();
                self.engine
                    .add_profile(profile, views::new_secret(secret))
                    .await
                    .map_err(|e| match e {
                        pixie::Error::DuplicateProfile(_) => {
                            IpcError::field(FormField::Name, e.to_string())
                        }
                        e => e.into(),
                    })?;
                // Nothing left over from an earlier profile of that name.
                self.set_activity(&name, None);
                false
            }
            Some(original) => {
                if original != profile.name.as_str() {
                    return Err(IpcError::field(
                        FormField::Name,
                        "a profile cannot be renamed; duplicate it under the new name and delete \
                         the old one",
                    ));
                }
                // The editor shows every setting: what it sends is the whole profile.
                self.engine
                    .update_profile(profile, views::secret_change(secret))
                    .await?
            }
        };
        self.wake_refresher();
        Ok(secret_dropped)
    }

    /// Removes the profile, its session and its secret, ending a sign-in that waits for it.
    pub async fn remove_profile(&self, name: &str) -> CmdResult<()> {
        self.cancel_sign_in(name);
        self.engine.remove_profile(name).await?;
        self.set_activity(name, None);
        // A new profile of the same name starts without this one's allowed programs.
        if let Err(e) = self.program_policy().forget(name) {
            tracing::warn!(error = %e, "cannot forget the deleted profile's programs");
        }
        self.wake_refresher();
        Ok(())
    }

    pub async fn login(&self, name: &str, options: LoginOptions) -> pixie::Result<LoginOutcome> {
        self.engine.login(name, options).await
    }

    /// A token valid for a while yet, refreshed if need be.
    pub async fn token(&self, name: &str) -> pixie::Result<FreshToken> {
        self.engine.token(name, DEFAULT_MIN_VALID).await
    }

    /// Signs out, revoking at the provider where it can. When the profile asks for it, the
    /// browser sign-out is prepared first: it needs the ID token that the sign-out forgets.
    pub async fn sign_out(&self, name: &str) -> CmdResult<SignedOut> {
        let profile = self.profile(name)?;
        let browser = if profile.browser_logout {
            Some(match self.engine.prepare_browser_logout(name).await {
                Ok(Ok(b)) => Ok(b),
                Ok(Err(NoBrowserLogout::NotOffered)) => Err(BrowserSignOut::NotOffered),
                Ok(Err(NoBrowserLogout::NotSignedIn)) => Err(BrowserSignOut::NotSignedIn),
                Err(e) => Err(BrowserSignOut::Failed(e.to_string())),
            })
        } else {
            None
        };
        let revocation = self.engine.logout(name, true).await?;
        self.set_activity(name, None);
        self.wake_refresher();
        Ok(SignedOut {
            revocation,
            browser,
        })
    }

    /// Pins `name` to the account it is signed in as ("remember this account"): a later
    /// sign-in as anyone else is refused. The subject comes from the stored session, never
    /// from the webview.
    pub async fn remember_account(&self, name: &str) -> CmdResult<()> {
        let status = self.engine.status(name).await?;
        let sub = status.subject.ok_or_else(|| {
            IpcError::new(
                ErrorCode::Invalid,
                format!("`{name}` has no signed-in account to remember: sign in first"),
            )
        })?;
        let mut profile = self.profile(name)?;
        profile.expected.sub = Some(sub);
        self.engine
            .update_profile(profile, SecretChange::Keep)
            .await?;
        Ok(())
    }

    pub async fn claims(&self, name: &str) -> CmdResult<ClaimsPayload> {
        let inspection = self.engine.inspect(name).await?;
        Ok(views::claims_payload(name.to_owned(), inspection))
    }

    /// What the provider at `issuer` offers, for the editor; every problem is the issuer field's.
    pub async fn discover(&self, issuer: &str) -> CmdResult<DiscoveryView> {
        let issuer = views::issuer_to_discover(issuer)?;
        let info = self
            .engine
            .discover(issuer)
            .await
            .map_err(|e| IpcError::from(e).at(FormField::Issuer))?;
        let text = |u: &Option<url::Url>| u.as_ref().map(url::Url::to_string);
        Ok(DiscoveryView {
            issuer: info.issuer.clone().unwrap_or_else(|| issuer.to_owned()),
            authorization_endpoint: info.authorization_endpoint.to_string(),
            token_endpoint: info.token_endpoint.to_string(),
            revocation_endpoint: text(&info.revocation_endpoint),
            userinfo_endpoint: text(&info.userinfo_endpoint),
            jwks_uri: text(&info.jwks_uri),
            pkce_s256: info.check_pkce().is_ok(),
            scopes_supported: info.scopes_supported,
            token_endpoint_auth_methods: info.token_endpoint_auth_methods,
        })
    }

    /// Every profile as the export file's JSON.
    pub fn export_profiles(&self) -> CmdResult<String> {
        let profiles = self.engine.profiles().list()?;
        serde_json::to_string_pretty(&ProfileFile::from_profiles(&profiles))
            .map_err(|e| IpcError::new(ErrorCode::Local, e.to_string()))
    }

    /// Adds the profiles of an export file; browser commands are dropped, as in the CLI without
    /// `--allow-browser-command`.
    pub async fn import_profiles(&self, incoming: Vec<Profile>) -> CmdResult<ImportReport> {
        let report = self.engine.import_profiles(incoming, false, false).await?;
        self.wake_refresher();
        Ok(report)
    }
}

//! Conversions between the engine's types and the IPC's: profile ↔ editor form, status ↔ list
//! row and tray entry, and the engine's results (claims, revocation, discovery) ↔ their IPC
//! payloads. Nothing here runs anything; the engine owns every rule about a profile's values.

use std::collections::BTreeMap;

use pixie::engine::{
    AccessTokenView, DeviceCode, ImportReport, Inspection, ProfileStatus, Revocation, SecretChange,
    SessionState, SignInFlow,
};
use pixie::profile::presets::{self, Input, Preset, PresetInput};
use pixie::profile::Redirect;
use pixie::profile::{parse_endpoint, ClientAuth, Profile, ProfileName, ProfileRecord, Provider};
use pixie::SecretString;

use crate::error::CmdResult;
use crate::ipc::{
    AccessTokenClaims, ClaimsPayload, ClientAuthMethod, DeviceCodeView, ErrorCode, FieldError,
    FlowSetting, FormField, IdTokenClaims, ImportResult, IpcError, NoticeKind, PresetInputKind,
    PresetRequest, PresetView, ProfileForm, ProfileState, ProfileView, ProgramUse, ProviderKind,
    SecretInput, SplitHosts,
};

/// What the app knows beyond the keychain: a sign-in or refresh running, or its last failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Activity {
    Waiting {
        note: Option<String>,
        /// A device-grant sign-in's code, once the provider gave one.
        device: Option<DeviceCodeView>,
    },
    Refreshing,
    /// A silent refresh failed in a way that may pass; the session is still there.
    Retrying(String),
    SignInRequired(String),
    Failed(String),
}

impl Activity {
    /// A failure stays until the session changes; a sign-in or refresh in progress ends by itself.
    pub fn is_lasting(&self) -> bool {
        matches!(
            self,
            Activity::Retrying(_) | Activity::SignInRequired(_) | Activity::Failed(_)
        )
    }
}

pub fn profile_view(
    profile: &Profile,
    status: Option<&ProfileStatus>,
    activity: Option<&Activity>,
) -> ProfileView {
    let mut view = ProfileView {
        name: profile.name.to_string(),
        provider: match &profile.provider {
            Provider::Issuer { issuer } => issuer.clone(),
            Provider::Endpoints { authorization, .. } => authorization
                .host_str()
                .map_or_else(|| authorization.to_string(), str::to_owned),
        },
        client_id: profile.client_id.clone(),
        state: ProfileState::SignedOut,
        reason: None,
        subject: None,
        expires_at: None,
        has_refresh_token: false,
        id_token_verified: None,
        scopes: Vec::new(),
        device: None,
        account_pinned: profile.expected.is_set(),
        programs: Vec::new(),
        ask_new_programs: false,
        allowed_programs: Vec::new(),
    };
    if let Some(s) = status {
        view.state = match s.state {
            SessionState::SignedOut => ProfileState::SignedOut,
            // Due means "the next use refreshes": still signed in as far as a person is concerned.
            SessionState::SignedIn | SessionState::RefreshDue => ProfileState::SignedIn,
            SessionState::SignInRequired => ProfileState::SignInRequired,
        };
        view.reason = s.reason.clone();
        view.subject = s.subject.clone();
        view.expires_at = s.expires_at.map(|t| t.timestamp_millis());
        view.has_refresh_token = s.has_refresh_token;
        view.id_token_verified = s.id_token_verified;
        view.scopes = s.scopes.clone();
    }
    match activity {
        None => {}
        Some(Activity::Waiting { note, device }) => {
            view.state = ProfileState::Waiting;
            view.reason = note.clone();
            view.device = device.clone();
        }
        Some(Activity::Refreshing) => view.state = ProfileState::Refreshing,
        Some(Activity::Retrying(note)) => view.reason = Some(note.clone()),
        Some(Activity::SignInRequired(reason)) => {
            view.state = ProfileState::SignInRequired;
            view.reason = Some(reason.clone());
        }
        Some(Activity::Failed(message)) => {
            view.state = ProfileState::Error;
            view.reason = Some(message.clone());
        }
    }
    view
}

/// How many programs a row lists.
const MAX_PROGRAMS: usize = 8;

/// The broker's callers of one profile as the row lists them: "kubectl" (with its full path),
/// the latest first.
pub fn program_uses(
    programs: &[(Option<std::path::PathBuf>, chrono::DateTime<chrono::Utc>)],
) -> Vec<ProgramUse> {
    programs
        .iter()
        .take(MAX_PROGRAMS)
        .map(|(exe, at)| ProgramUse {
            name: exe
                .as_ref()
                .and_then(|e| e.file_name())
                .map_or("unknown program".to_owned(), |n| {
                    n.to_string_lossy().into_owned()
                }),
            path: exe.as_ref().map(|e| e.display().to_string()),
            at: at.timestamp_millis(),
        })
        .collect()
}

pub fn profile_form(p: &Profile) -> ProfileForm {
    ProfileForm {
        has_client_secret: p.client_secret_in_keychain,
        ..record_form(p.to_record())
    }
}

/// A profile record (stored, or made by a preset) as the editor's form.
pub fn record_form(r: ProfileRecord) -> ProfileForm {
    let text = |o: Option<String>| o.unwrap_or_default();
    let flow = r
        .flow
        .as_deref()
        .and_then(|f| SignInFlow::parse(f).ok())
        .flatten();
    ProfileForm {
        name: r.name,
        kind: match r.issuer {
            Some(_) => ProviderKind::Issuer,
            None => ProviderKind::Endpoints,
        },
        issuer: text(r.issuer),
        authorization_endpoint: text(r.authorization_endpoint),
        token_endpoint: text(r.token_endpoint),
        revocation_endpoint: text(r.revocation_endpoint),
        userinfo_endpoint: text(r.userinfo_endpoint),
        device_authorization_endpoint: text(r.device_authorization_endpoint),
        client_id: r.client_id,
        client_auth: match ClientAuth::parse(r.client_auth.as_deref().unwrap_or_default()) {
            Ok(ClientAuth::Post) => ClientAuthMethod::ClientSecretPost,
            _ => ClientAuthMethod::ClientSecretBasic,
        },
        has_client_secret: r.client_secret_in_keychain,
        scopes: r.scopes.join(" "),
        params: r
            .params
            .into_iter()
            .map(|(key, value)| crate::ipc::Param { key, value })
            .collect(),
        redirect_uri: text(r.redirect_uri),
        browser: text(r.browser),
        flow: match flow {
            None => FlowSetting::Auto,
            Some(SignInFlow::Browser) => FlowSetting::Browser,
            Some(SignInFlow::Device) => FlowSetting::Device,
            Some(SignInFlow::Paste) => FlowSetting::Paste,
        },
        ca_file: text(r.ca_file),
        expect_sub: text(r.expect_sub),
        expect_email: text(r.expect_email),
        browser_logout: r.browser_logout,
    }
}

/// A provider preset, for the picker.
pub fn preset_view(p: &Preset) -> PresetView {
    let kinds = |inputs: &[Input]| {
        inputs
            .iter()
            .map(|i| match i {
                Input::Tenant => PresetInputKind::Tenant,
                Input::Domain => PresetInputKind::Domain,
                Input::BaseUrl => PresetInputKind::BaseUrl,
            })
            .collect()
    };
    PresetView {
        id: p.id.to_owned(),
        name: p.name.to_owned(),
        one_of: kinds(p.needs.one_of),
        optional: kinds(p.needs.optional),
        usage: p.usage.to_owned(),
        client_type: p.client_type.to_owned(),
        register_redirect_uri: p.register_redirect_uri.to_owned(),
        needs_client_secret: p.needs_client_secret,
        notes: p.notes.iter().map(|n| (*n).to_owned()).collect(),
    }
}

/// The form a preset fills in from the picker's inputs (name and client id left for the person).
/// A bad input is the picker's, not a form field's: it comes back without `fields`.
pub fn preset_form(request: &PresetRequest) -> CmdResult<ProfileForm> {
    let given = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
    let input = PresetInput {
        tenant: given(&request.tenant),
        domain: given(&request.domain),
        base_url: given(&request.base_url),
    };
    let record = presets::find(request.id.trim())
        .and_then(|p| p.record(&input))
        .map_err(|e| IpcError::new(ErrorCode::Invalid, e.to_string()))?;
    Ok(record_form(record))
}

/// The editor's form as a profile. Every rule about a value is the engine's (`ProfileName::new`,
/// `parse_endpoint`, `Redirect::parse`, then `Profile::try_from` for the whole): this first pass
/// asks the engine about each field on its own, because the engine stops at the first problem
/// and the form shows all of them at once. It adds only what a form has and a record has not:
/// which fields the chosen kind needs, and parameter rows that the record's map would merge.
pub fn form_to_profile(form: &ProfileForm) -> CmdResult<Profile> {
    let mut errors = Vec::new();
    let nonempty = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned);

    if let Err(e) = ProfileName::new(form.name.trim()) {
        errors.push(placed(e, FormField::Name));
    }
    let mut url = |field: FormField, label: &str, value: &str, required: bool| {
        if value.trim().is_empty() {
            if required {
                errors.push(FieldError {
                    field,
                    message: format!("the {label} is required"),
                });
            }
        } else if let Err(e) = parse_endpoint(label, value) {
            // An endpoint's rule is the same for every endpoint: the form names which one.
            errors.push(placed(e, field));
        }
    };
    match form.kind {
        ProviderKind::Issuer => url(FormField::Issuer, "issuer", &form.issuer, true),
        ProviderKind::Endpoints => {
            url(
                FormField::AuthorizationEndpoint,
                "authorization endpoint",
                &form.authorization_endpoint,
                true,
            );
            url(
                FormField::TokenEndpoint,
                "token endpoint",
                &form.token_endpoint,
                true,
            );
            url(
                FormField::RevocationEndpoint,
                "revocation endpoint",
                &form.revocation_endpoint,
                false,
            );
            url(
                FormField::UserinfoEndpoint,
                "userinfo endpoint",
                &form.userinfo_endpoint,
                false,
            );
            url(
                FormField::DeviceAuthorizationEndpoint,
                "device authorization endpoint",
                &form.device_authorization_endpoint,
                false,
            );
        }
    }
    if form.client_id.trim().is_empty() {
        errors.push(FieldError {
            field: FormField::ClientId,
            message: "the client id is required".into(),
        });
    }
    if let Some(uri) = nonempty(&form.redirect_uri) {
        if let Err(e) = Redirect::parse(&uri) {
            errors.push(placed(e, FormField::RedirectUri));
        }
    }
    let mut params = BTreeMap::new();
    for p in &form.params {
        let key = p.key.trim();
        if key.is_empty() && p.value.trim().is_empty() {
            continue;
        }
        if params.insert(key.to_owned(), p.value.clone()).is_some() {
            errors.push(FieldError {
                field: FormField::Params,
                message: format!("parameter `{key}` is given twice"),
            });
        }
    }
    if !errors.is_empty() {
        return Err(IpcError::fields(errors));
    }

    let (issuer, endpoints) = match form.kind {
        ProviderKind::Issuer => (nonempty(&form.issuer), [None, None, None, None, None]),
        ProviderKind::Endpoints => (
            None,
            [
                nonempty(&form.authorization_endpoint),
                nonempty(&form.token_endpoint),
                nonempty(&form.revocation_endpoint),
                nonempty(&form.userinfo_endpoint),
                nonempty(&form.device_authorization_endpoint),
            ],
        ),
    };
    let [authorization_endpoint, token_endpoint, revocation_endpoint, userinfo_endpoint, device_authorization_endpoint] =
        endpoints;
    let record = ProfileRecord {
        name: form.name.trim().to_owned(),
        issuer,
        authorization_endpoint,
        token_endpoint,
        revocation_endpoint,
        userinfo_endpoint,
        device_authorization_endpoint,
        client_id: form.client_id.trim().to_owned(),
        client_secret_in_keychain: false,
        client_auth: match form.client_auth {
            ClientAuthMethod::ClientSecretBasic => None,
            ClientAuthMethod::ClientSecretPost => Some("client_secret_post".into()),
        },
        scopes: vec![form.scopes.clone()],
        params,
        redirect_uri: nonempty(&form.redirect_uri),
        browser: nonempty(&form.browser),
        flow: match form.flow {
            FlowSetting::Auto => None,
            FlowSetting::Browser => Some(SignInFlow::Browser),
            FlowSetting::Device => Some(SignInFlow::Device),
            FlowSetting::Paste => Some(SignInFlow::Paste),
        }
        .map(|f| f.as_str().to_owned()),
        ca_file: nonempty(&form.ca_file),
        expect_sub: nonempty(&form.expect_sub),
        expect_email: nonempty(&form.expect_email),
        browser_logout: form.browser_logout,
    };
    // The engine's error names the field it blames; the conversion places the message there.
    Profile::try_from(record).map_err(IpcError::from)
}

/// How the app signs in to `profile`: with the device grant when the profile says so, else with
/// the browser (the app has one, so `auto` means the browser, and paste-back is the CLI's).
pub fn app_flow(profile: &Profile) -> SignInFlow {
    match profile.flow {
        Some(SignInFlow::Device) => SignInFlow::Device,
        _ => SignInFlow::Browser,
    }
}

/// A device code as the row shows it; `now_ms` is when the provider gave it.
pub fn device_code_view(code: &DeviceCode, now_ms: i64) -> DeviceCodeView {
    let secs = i64::try_from(code.expires_in_secs).unwrap_or(i64::MAX / 2_000);
    DeviceCodeView {
        user_code: code.user_code.clone(),
        verification_uri: code.verification_uri.clone(),
        verification_uri_complete: code.verification_uri_complete.clone(),
        expires_at: now_ms.saturating_add(secs.saturating_mul(1000)),
    }
}

/// Where the form shows an engine error: next to the field the engine blames, else `fallback`.
fn placed(e: pixie::Error, fallback: FormField) -> FieldError {
    let e = IpcError::from(e);
    e.fields.into_iter().next().unwrap_or(FieldError {
        field: fallback,
        message: e.message,
    })
}

/// The secret to store with a new profile: none when the editor left it empty.
pub fn new_secret(input: SecretInput) -> Option<SecretString> {
    match input {
        SecretInput::Set(s) if !s.is_empty() => Some(SecretString::from(s)),
        _ => None,
    }
}

/// What to do with an edited profile's stored secret: an empty field keeps it.
pub fn secret_change(input: SecretInput) -> SecretChange {
    match input {
        SecretInput::Keep => SecretChange::Keep,
        SecretInput::Set(s) if s.is_empty() => SecretChange::Keep,
        SecretInput::Set(s) => SecretChange::Set(SecretString::from(s)),
        SecretInput::Remove => SecretChange::Remove,
    }
}

pub fn split_hosts(profile: &Profile) -> Option<SplitHosts> {
    profile
        .split_endpoints()
        .map(|(authorization, token)| SplitHosts {
            authorization,
            token,
        })
}

pub fn claims_payload(profile: String, i: Inspection) -> ClaimsPayload {
    ClaimsPayload {
        profile,
        id_token: i.id_token.map(|c| {
            let (problem, checked_at) = match c.verification {
                pixie::Verification::Verified { checked_at } => (None, checked_at),
                pixie::Verification::Unverified { reason, checked_at } => {
                    (Some(reason), checked_at)
                }
            };
            IdTokenClaims {
                verified: c.verified,
                problem,
                checked_at: checked_at.timestamp_millis(),
                claims: c.claims,
            }
        }),
        access_token: match i.access_token {
            AccessTokenView::Jwt { header, claims } => AccessTokenClaims::Jwt { header, claims },
            AccessTokenView::Opaque => AccessTokenClaims::Opaque,
        },
        token_type: i.token_type,
        scopes: i.scopes,
        expires_at: i.expires_at.map(|t| t.timestamp_millis()),
    }
}

/// Whether the provider revoked the session, and how revocation went, in words.
pub fn revocation_text(outcome: Revocation) -> (bool, String) {
    match outcome {
        Revocation::Revoked => (true, "The provider revoked the refresh token.".into()),
        Revocation::Skipped => (false, "Nothing was revoked at the provider.".into()),
        Revocation::NotSupported => (
            false,
            "The provider offers no revocation, so its tokens stay valid until they expire.".into(),
        ),
        Revocation::NothingToRevoke => (false, "There was nothing to revoke.".into()),
        Revocation::Unreadable => (
            false,
            "The stored session was unreadable, so nothing could be revoked.".into(),
        ),
        Revocation::Failed(why) => (false, format!("Revocation at the provider failed: {why}.")),
    }
}

/// How far a browser sign-out got, for its words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrowserSignOut {
    /// The provider's end-session page is open; the wait for its answer runs in the background.
    Opened,
    /// The provider names no `end_session_endpoint`.
    NotOffered,
    /// No session was stored, so there was no browser session to name.
    NotSignedIn,
    /// Preparing or opening it failed (why).
    Failed(String),
}

/// What a sign-out says about the browser's, in words.
pub fn browser_sign_out_text(b: &BrowserSignOut) -> String {
    match b {
        BrowserSignOut::Opened => {
            "Signing out in the browser too: confirm it there if the provider asks.".into()
        }
        BrowserSignOut::NotOffered => {
            "The provider offers no browser sign-out, so you are still signed in there.".into()
        }
        BrowserSignOut::NotSignedIn => "There was no browser session to end.".into(),
        BrowserSignOut::Failed(why) => format!(
            "The browser sign-out could not start ({why}); you may still be signed in there."
        ),
    }
}

/// How the wait for the provider's answer to a browser sign-out ended, as a notice's kind and
/// text.
pub fn browser_sign_out_outcome(
    profile: &str,
    waited: &pixie::Result<bool>,
    wait_secs: u64,
) -> (NoticeKind, String) {
    match waited {
        Ok(true) => (
            NoticeKind::Info,
            format!("Signed out of {profile} in the browser too."),
        ),
        Ok(false) => (
            NoticeKind::Error,
            format!(
                "The provider did not confirm the browser sign-out of {profile} within {wait_secs} s; finish it in the browser."
            ),
        ),
        Err(pixie::Error::Cancelled) => (
            NoticeKind::Info,
            format!("Stopped waiting for the browser sign-out of {profile}."),
        ),
        Err(e) => (
            NoticeKind::Error,
            format!("The browser sign-out of {profile} failed: {e}"),
        ),
    }
}

/// The issuer the editor asks to discover, trimmed; its problems go next to the issuer field.
pub fn issuer_to_discover(issuer: &str) -> CmdResult<&str> {
    let issuer = issuer.trim();
    if issuer.is_empty() {
        return Err(IpcError::field(
            FormField::Issuer,
            "enter the issuer URL first",
        ));
    }
    if let Err(e) = parse_endpoint("issuer", issuer) {
        return Err(IpcError::field(FormField::Issuer, e.to_string()));
    }
    Ok(issuer)
}

pub fn import_result(profiles: Vec<ProfileView>, report: ImportReport) -> ImportResult {
    ImportResult {
        profiles,
        imported: u32::try_from(report.imported).unwrap_or(u32::MAX),
        browser_dropped: report.browser_dropped,
        secret_needed: report.secret_needed,
    }
}

/// One tray entry: a profile and which of its items are enabled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrayItem {
    pub name: String,
    pub copy: bool,
    pub sign_in: bool,
}

impl TrayItem {
    pub fn of(v: &ProfileView) -> Self {
        Self {
            name: v.name.clone(),
            copy: matches!(v.state, ProfileState::SignedIn | ProfileState::Refreshing),
            sign_in: v.state != ProfileState::Waiting,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ipc::{ErrorCode, Param};

    pub(crate) fn form() -> ProfileForm {
        ProfileForm {
            name: "work".into(),
            kind: ProviderKind::Issuer,
            issuer: "https://login.example.com".into(),
            authorization_endpoint: String::new(),
            token_endpoint: String::new(),
            revocation_endpoint: String::new(),
            userinfo_endpoint: String::new(),
            device_authorization_endpoint: String::new(),
            client_id: "app".into(),
            client_auth: ClientAuthMethod::ClientSecretBasic,
            has_client_secret: false,
            scopes: "openid  offline_access".into(),
            params: vec![Param {
                key: "audience".into(),
                value: "api".into(),
            }],
            redirect_uri: String::new(),
            browser: String::new(),
            flow: FlowSetting::Auto,
            ca_file: String::new(),
            expect_sub: String::new(),
            expect_email: String::new(),
            browser_logout: false,
        }
    }

    /// The sign-in settings, set with the CLI or in the editor, survive an edit in the app: the
    /// editor shows every one of them, the explicit device endpoint included.
    #[test]
    fn an_edit_keeps_the_settings_the_editor_does_not_show() {
        let mut f = form();
        f.kind = ProviderKind::Endpoints;
        f.authorization_endpoint = "https://as.example/authorize".into();
        f.token_endpoint = "https://as.example/token".into();
        let mut stored = form_to_profile(&f).unwrap();
        stored.flow = Some(pixie::profile::SignInFlow::Device);
        stored.ca_file = Some("/etc/company/ca.pem".into());
        stored.expected.email = Some("a@example.com".into());
        stored.browser_logout = true;
        if let Provider::Endpoints { device, .. } = &mut stored.provider {
            *device = Some(url::Url::parse("https://as.example/device").unwrap());
        }
        let shown = profile_form(&stored);
        assert_eq!(shown.flow, FlowSetting::Device);
        assert_eq!(shown.ca_file, "/etc/company/ca.pem");
        assert_eq!(shown.expect_email, "a@example.com");
        assert!(shown.browser_logout);
        assert_eq!(
            shown.device_authorization_endpoint,
            "https://as.example/device"
        );
        let edited = form_to_profile(&shown).unwrap();
        assert_eq!(edited, stored);
    }

    #[test]
    fn the_sign_in_settings_go_from_the_form_to_the_profile_and_back() {
        let mut f = form();
        f.flow = FlowSetting::Browser;
        f.ca_file = " /etc/ssl/company.pem ".into();
        f.expect_sub = "alice".into();
        f.expect_email = "alice@example.com".into();
        f.browser_logout = true;
        let p = form_to_profile(&f).unwrap();
        assert_eq!(p.flow, Some(pixie::profile::SignInFlow::Browser));
        assert_eq!(
            p.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ssl/company.pem"))
        );
        assert_eq!(p.expected.sub.as_deref(), Some("alice"));
        assert!(p.browser_logout);
        let back = profile_form(&p);
        assert_eq!(back.ca_file, "/etc/ssl/company.pem");
        assert_eq!((back.expect_sub, back.flow), ("alice".into(), f.flow));
        let view = profile_view(&p, None, None);
        assert!(view.account_pinned);
        // Cleared in the form, cleared in the profile.
        let p = form_to_profile(&form()).unwrap();
        assert_eq!(
            (p.flow, p.ca_file, p.expected.is_set(), p.browser_logout),
            (None, None, false, false)
        );
    }

    #[test]
    fn the_engine_blames_the_new_fields_and_the_form_shows_it_there() {
        let mut f = form();
        f.ca_file = "relative/ca.pem".into();
        let e = form_to_profile(&f).unwrap_err();
        assert_eq!(e.fields[0].field, FormField::CaFile);
        let mut f = form();
        f.scopes = "profile".into();
        f.expect_sub = "alice".into();
        let e = form_to_profile(&f).unwrap_err();
        assert_eq!(e.fields[0].field, FormField::ExpectSub);
        assert!(e.fields[0].message.contains("openid"), "{:?}", e.fields[0]);
    }

    #[test]
    fn a_preset_fills_the_form_and_its_inputs_are_checked_by_the_engine() {
        let all: Vec<PresetView> = presets::all().iter().map(preset_view).collect();
        let github = all.iter().find(|p| p.id == "github").unwrap();
        assert!(github.one_of.is_empty() || github.one_of.contains(&PresetInputKind::BaseUrl));
        let entra = all.iter().find(|p| p.id == "entra").unwrap();
        assert!(entra.one_of.contains(&PresetInputKind::Tenant));
        let request = |id: &str, tenant: &str| PresetRequest {
            id: id.into(),
            tenant: tenant.into(),
            domain: String::new(),
            base_url: String::new(),
        };
        let f = preset_form(&request("entra", " organizations ")).unwrap();
        assert!(f.name.is_empty() && f.client_id.is_empty());
        // The filled form, once named, is a valid profile.
        let named = ProfileForm {
            name: "work".into(),
            client_id: "app".into(),
            ..f.clone()
        };
        let p = form_to_profile(&named).unwrap();
        assert_eq!(profile_form(&p).scopes, f.scopes);
        let e = preset_form(&request("entra", "not a tenant!")).unwrap_err();
        assert_eq!(e.code, ErrorCode::Invalid);
        assert!(e.message.contains("tenant"), "{}", e.message);
        assert!(preset_form(&request("nope", "")).is_err());
    }

    #[test]
    fn the_app_signs_in_with_the_device_grant_only_when_the_profile_says_so() {
        let mut p = form_to_profile(&form()).unwrap();
        for (set, want) in [
            (None, SignInFlow::Browser),
            (Some(SignInFlow::Browser), SignInFlow::Browser),
            (Some(SignInFlow::Paste), SignInFlow::Browser),
            (Some(SignInFlow::Device), SignInFlow::Device),
        ] {
            p.flow = set;
            assert_eq!(app_flow(&p), want, "{set:?}");
        }
    }

    #[test]
    fn a_device_code_shows_when_it_expires_and_a_waiting_row_carries_it() {
        let code = DeviceCode {
            user_code: "ABCD-EFGH".into(),
            verification_uri: "https://id.example/device".into(),
            verification_uri_complete: None,
            expires_in_secs: 600,
        };
        let shown = device_code_view(&code, 1_000);
        assert_eq!(shown.expires_at, 601_000);
        let p = form_to_profile(&form()).unwrap();
        let waiting = Activity::Waiting {
            note: None,
            device: Some(shown.clone()),
        };
        let view = profile_view(&p, None, Some(&waiting));
        assert_eq!(view.state, ProfileState::Waiting);
        assert_eq!(view.device, Some(shown));
        assert!(!view.account_pinned);
    }

    #[test]
    fn a_browser_sign_out_is_told_in_words() {
        assert!(browser_sign_out_text(&BrowserSignOut::NotOffered).contains("still signed in"));
        let (kind, text) = browser_sign_out_outcome("work", &Ok(true), 120);
        assert_eq!(
            (kind, text.as_str()),
            (NoticeKind::Info, "Signed out of work in the browser too.")
        );
        let (kind, text) = browser_sign_out_outcome("work", &Ok(false), 120);
        assert_eq!(kind, NoticeKind::Error);
        assert!(text.contains("120 s"), "{text}");
    }

    #[test]
    fn a_form_round_trips_through_a_profile() {
        let p = form_to_profile(&form()).unwrap();
        assert_eq!(p.scopes, ["openid", "offline_access"]);
        let back = profile_form(&p);
        assert_eq!(back.scopes, "openid offline_access");
        assert_eq!(back.params, form().params);
        assert_eq!(back.issuer, "https://login.example.com");
    }

    #[test]
    fn every_bad_field_gets_its_own_message() {
        let mut f = form();
        f.name = "no spaces".into();
        f.issuer = "http://login.example.com".into();
        f.client_id = " ".into();
        f.redirect_uri = "http://example.com/cb".into();
        let e = form_to_profile(&f).unwrap_err();
        assert_eq!(e.code, ErrorCode::Invalid);
        let fields: Vec<_> = e.fields.iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            [
                FormField::Name,
                FormField::Issuer,
                FormField::ClientId,
                FormField::RedirectUri
            ]
        );
        assert!(e.fields[1].message.contains("https"), "{:?}", e.fields[1]);
    }

    #[test]
    fn endpoints_kind_needs_both_endpoints_and_ignores_the_issuer() {
        let mut f = form();
        f.kind = ProviderKind::Endpoints;
        f.authorization_endpoint = "https://as.example/authorize".into();
        let e = form_to_profile(&f).unwrap_err();
        assert_eq!(e.fields[0].field, FormField::TokenEndpoint);
        f.token_endpoint = "https://as.example/token".into();
        let p = form_to_profile(&f).unwrap();
        assert!(p.issuer().is_none());
    }

    #[test]
    fn reserved_parameters_are_refused_next_to_the_parameters() {
        let mut f = form();
        f.params.push(Param {
            key: "state".into(),
            value: "x".into(),
        });
        let e = form_to_profile(&f).unwrap_err();
        assert_eq!(e.fields[0].field, FormField::Params);
    }

    #[test]
    fn a_program_shows_by_its_file_name_with_the_path_beside() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let uses = program_uses(&[(Some("/usr/local/bin/kubectl".into()), at), (None, at)]);
        assert_eq!(uses[0].name, "kubectl");
        assert_eq!(uses[0].path.as_deref(), Some("/usr/local/bin/kubectl"));
        assert_eq!(uses[0].at, 1_700_000_000_000);
        assert_eq!(uses[1].name, "unknown program");
        assert_eq!(uses[1].path, None);
        let many: Vec<_> = (0..20)
            .map(|i| (Some(format!("/bin/p{i}").into()), at))
            .collect();
        assert_eq!(program_uses(&many).len(), MAX_PROGRAMS);
    }
}

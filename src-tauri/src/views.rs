//! Conversions between the engine's types and the IPC's: profile ↔ editor form, status ↔ list
//! row and tray entry, and the engine's results (claims, revocation, discovery) ↔ their IPC
//! payloads. Nothing here runs anything; the engine owns every rule about a profile's values.

use std::collections::BTreeMap;

use pixie::engine::{
    AccessTokenView, ImportReport, Inspection, ProfileStatus, Revocation, SecretChange,
    SessionState,
};
use pixie::profile::Redirect;
use pixie::profile::{parse_endpoint, ClientAuth, Profile, ProfileName, ProfileRecord, Provider};
use pixie::SecretString;

use crate::error::CmdResult;
use crate::ipc::{
    AccessTokenClaims, ClaimsPayload, ClientAuthMethod, FieldError, FormField, IdTokenClaims,
    ImportResult, IpcError, ProfileForm, ProfileState, ProfileView, ProviderKind, SecretInput,
    SplitHosts,
};

/// What the app knows beyond the keychain: a sign-in or refresh running, or its last failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Activity {
    Waiting {
        note: Option<String>,
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
        Some(Activity::Waiting { note }) => {
            view.state = ProfileState::Waiting;
            view.reason = note.clone();
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

pub fn profile_form(p: &Profile) -> ProfileForm {
    let r = p.to_record();
    let text = |o: Option<String>| o.unwrap_or_default();
    ProfileForm {
        name: r.name,
        kind: match p.provider {
            Provider::Issuer { .. } => ProviderKind::Issuer,
            Provider::Endpoints { .. } => ProviderKind::Endpoints,
        },
        issuer: text(r.issuer),
        authorization_endpoint: text(r.authorization_endpoint),
        token_endpoint: text(r.token_endpoint),
        revocation_endpoint: text(r.revocation_endpoint),
        userinfo_endpoint: text(r.userinfo_endpoint),
        client_id: r.client_id,
        client_auth: match p.client_auth {
            ClientAuth::Basic => ClientAuthMethod::ClientSecretBasic,
            ClientAuth::Post => ClientAuthMethod::ClientSecretPost,
        },
        has_client_secret: p.client_secret_in_keychain,
        scopes: r.scopes.join(" "),
        params: r
            .params
            .into_iter()
            .map(|(key, value)| crate::ipc::Param { key, value })
            .collect(),
        redirect_uri: text(r.redirect_uri),
        browser: text(r.browser),
    }
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
        ProviderKind::Issuer => (nonempty(&form.issuer), [None, None, None, None]),
        ProviderKind::Endpoints => (
            None,
            [
                nonempty(&form.authorization_endpoint),
                nonempty(&form.token_endpoint),
                nonempty(&form.revocation_endpoint),
                nonempty(&form.userinfo_endpoint),
            ],
        ),
    };
    let [authorization_endpoint, token_endpoint, revocation_endpoint, userinfo_endpoint] =
        endpoints;
    let record = ProfileRecord {
        name: form.name.trim().to_owned(),
        issuer,
        authorization_endpoint,
        token_endpoint,
        revocation_endpoint,
        userinfo_endpoint,
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
        // Settings the editor does not show start empty; an edit keeps the stored ones
        // (`keep_unshown`).
        ..ProfileRecord::default()
    };
    // The engine's error names the field it blames; the conversion places the message there.
    Profile::try_from(record).map_err(IpcError::from)
}

/// An edit in the app keeps what the editor does not show (set with the CLI): the sign-in flow,
/// the CA file, the pinned account, browser logout and an explicit device endpoint.
pub fn keep_unshown(mut edited: Profile, stored: &Profile) -> Profile {
    edited.flow = stored.flow;
    edited.ca_file.clone_from(&stored.ca_file);
    edited.expected.clone_from(&stored.expected);
    edited.browser_logout = stored.browser_logout;
    if let (Provider::Endpoints { device, .. }, Provider::Endpoints { device: kept, .. }) =
        (&mut edited.provider, &stored.provider)
    {
        device.clone_from(kept);
    }
    edited
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
        }
    }

    #[test]
    fn an_edit_keeps_the_settings_the_editor_does_not_show() {
        let mut stored = form_to_profile(&form()).unwrap();
        stored.flow = Some(pixie::profile::SignInFlow::Device);
        stored.ca_file = Some("/etc/company/ca.pem".into());
        stored.expected.email = Some("a@example.com".into());
        stored.browser_logout = true;
        let edited = keep_unshown(form_to_profile(&form()).unwrap(), &stored);
        assert_eq!(edited, stored);
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
}

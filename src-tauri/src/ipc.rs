//! The IPC contract with the webview: every type a command takes or returns and every event
//! payload. This file is the single source of truth; `ui/src/lib/ipc/bindings.ts` is generated
//! from it (`PIXIE_UPDATE_BINDINGS=1 cargo test -p pixie-desktop bindings`) and a test fails when
//! the committed copy is stale.
//!
//! No type here holds a token. A client secret only travels inward, from the editor.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Milliseconds since the Unix epoch (what `Date` takes).
pub type EpochMs = i64;

/// Event names, so Rust and TypeScript agree on them.
pub mod events {
    /// One profile's view changed. Payload: [`super::ProfileView`].
    pub const PROFILE: &str = "pixie://profile";
    /// The list changed (added, removed, imported, or changed from the tray). Payload:
    /// [`super::ProfileView`] array.
    pub const PROFILES: &str = "pixie://profiles";
    /// A short message for the person (e.g. a copy from the tray). Payload: [`super::Notice`].
    pub const NOTICE: &str = "pixie://notice";
    /// The programs waiting for an answer changed. Payload: [`super::ProgramQuestion`] array.
    pub const QUESTIONS: &str = "pixie://questions";
}

/// Declares a unit enum together with `ALL`, every value in declaration order, so a list
/// generated from it (see [`typescript`]) cannot miss a variant added later.
macro_rules! listed_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident,)* }) => {
        $(#[$meta])*
        pub enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
        }
    };
}

listed_enum! {
    /// What the UI can switch on. Mirrors the engine's error kinds plus the app's own.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
    #[serde(rename_all = "snake_case")]
    pub enum ErrorCode {
        /// A form field or argument is wrong (see `fields`).
        Invalid,
        ProfileFile,
        SignInRequired,
        Provider,
        Keychain,
        SignInIncomplete,
        /// The person cancelled (not worth an error banner).
        Cancelled,
        /// Something is already running for this profile (e.g. a sign-in).
        Busy,
        Local,
    }
}

/// Every command's error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
    /// Per-field messages for the profile editor, keyed by [`ProfileForm`] field name.
    pub fields: Vec<FieldError>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FieldError {
    pub field: FormField,
    pub message: String,
}

listed_enum! {
    /// The profile editor's fields, by the name the form uses.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
    #[serde(rename_all = "snake_case")]
    pub enum FormField {
        Name,
        Issuer,
        AuthorizationEndpoint,
        TokenEndpoint,
        RevocationEndpoint,
        UserinfoEndpoint,
        ClientId,
        ClientSecret,
        Scopes,
        Params,
        RedirectUri,
        Browser,
        DeviceAuthorizationEndpoint,
        Flow,
        CaFile,
        ExpectSub,
        ExpectEmail,
    }
}

/// A profile as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProfileView {
    pub name: String,
    /// Issuer URL, or the authorization endpoint's host for a plain OAuth server.
    pub provider: String,
    pub client_id: String,
    pub state: ProfileState,
    /// Why the profile is in `sign_in_required` or `error`, or what a waiting sign-in needs.
    pub reason: Option<String>,
    /// The ID token's `sub`.
    pub subject: Option<String>,
    #[ts(type = "number | null")]
    pub expires_at: Option<EpochMs>,
    pub has_refresh_token: bool,
    /// `null` when there is no ID token.
    pub id_token_verified: Option<bool>,
    pub scopes: Vec<String>,
    /// While a device-grant sign-in waits: the code to enter and where.
    pub device: Option<DeviceCodeView>,
    /// The profile is pinned to an account (`expect_sub` or `expect_email` is set).
    pub account_pinned: bool,
    /// The programs that asked the token broker about this profile recently, the latest first.
    pub programs: Vec<ProgramUse>,
    /// A program not yet allowed gets this profile's token only once the person says so.
    pub ask_new_programs: bool,
    /// The executables allowed "Always" for this profile, by full path.
    pub allowed_programs: Vec<String>,
}

/// A program that asked the token broker about a profile: "kubectl, 2 min ago".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProgramUse {
    /// The executable's file name, or "unknown program" when the kernel did not say.
    pub name: String,
    /// The executable's full path.
    pub path: Option<String>,
    /// When it last asked.
    #[ts(type = "number")]
    pub at: EpochMs,
}

/// A program waiting for the person to say whether it may have a profile's token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProgramQuestion {
    pub id: u32,
    pub profile: String,
    /// The executable's full path; `null` when the kernel did not say (then "Always" cannot be
    /// remembered and counts as once).
    pub path: Option<String>,
    pub pid: Option<i32>,
    /// When the question is answered "Deny" by itself.
    #[ts(type = "number")]
    pub expires_at: EpochMs,
}

/// The person's answer to a [`ProgramQuestion`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ProgramAnswer {
    AllowOnce,
    /// Allow, and remember this program for this profile.
    Always,
    Deny,
}

/// A device-grant sign-in's code, for the person to enter on any device. The user code is not a
/// secret (the provider shows it too); the device code that Pixie polls with never crosses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DeviceCodeView {
    pub user_code: String,
    pub verification_uri: String,
    /// The same page with the code filled in, when the provider offers one.
    pub verification_uri_complete: Option<String>,
    /// When the code stops working.
    #[ts(type = "number")]
    pub expires_at: EpochMs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ProfileState {
    SignedOut,
    /// A sign-in runs: the browser was opened (or must be, see `reason`).
    Waiting,
    SignedIn,
    Refreshing,
    SignInRequired,
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Endpoints discovered from the issuer (OpenID Connect Discovery / RFC 8414).
    Issuer,
    /// A plain OAuth 2.0 server with explicit endpoints.
    Endpoints,
}

/// How a profile signs in. The app signs in with the browser unless the profile says `device`;
/// `auto` lets the CLI choose from its surroundings, and `paste` is the CLI's alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FlowSetting {
    Auto,
    Browser,
    Device,
    Paste,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

/// What to do with the client secret when saving. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "action", content = "value", rename_all = "snake_case")]
pub enum SecretInput {
    Keep,
    Set(String),
    Remove,
}

impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecretInput::Keep => "Keep",
            SecretInput::Set(_) => "Set([redacted])",
            SecretInput::Remove => "Remove",
        })
    }
}

/// The profile editor's content. Empty strings mean "not set".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProfileForm {
    pub name: String,
    pub kind: ProviderKind,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub userinfo_endpoint: String,
    /// The device grant's endpoint, for explicit endpoints (an issuer's is discovered).
    pub device_authorization_endpoint: String,
    pub client_id: String,
    pub client_auth: ClientAuthMethod,
    /// Output only: whether the keychain holds a client secret for this profile.
    pub has_client_secret: bool,
    /// Space-separated.
    pub scopes: String,
    pub params: Vec<Param>,
    pub redirect_uri: String,
    pub browser: String,
    pub flow: FlowSetting,
    /// An absolute path to a PEM file of CA certificates trusted for this provider.
    pub ca_file: String,
    /// The only `sub` a sign-in may be for.
    pub expect_sub: String,
    /// The only `email` a sign-in may be for.
    pub expect_email: String,
    /// Sign-out also ends the provider's browser session.
    pub browser_logout: bool,
}

/// One input a provider preset asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PresetInputKind {
    Tenant,
    Domain,
    BaseUrl,
}

/// A provider preset, for the editor's picker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PresetView {
    pub id: String,
    pub name: String,
    /// Exactly one of these is needed (none when empty).
    pub one_of: Vec<PresetInputKind>,
    /// These may be given besides.
    pub optional: Vec<PresetInputKind>,
    /// The inputs in words (as the CLI's flags).
    pub usage: String,
    /// What to register at the provider: the kind of client and its redirect URI.
    pub client_type: String,
    pub register_redirect_uri: String,
    pub needs_client_secret: bool,
    /// The provider's quirks, and what the preset does about each.
    pub notes: Vec<String>,
}

/// The picker's answers: a preset and its inputs (empty strings: not given).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PresetRequest {
    pub id: String,
    pub tenant: String,
    pub domain: String,
    pub base_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Param {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SaveRequest {
    /// The profile being edited; `null` to add a new one. Names cannot change on edit.
    pub original: Option<String>,
    pub form: ProfileForm,
    pub secret: SecretInput,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SaveResult {
    pub profiles: Vec<ProfileView>,
    /// The client secret was deleted because the provider or client id changed.
    pub secret_dropped: bool,
    /// The token endpoint is on another host than the authorization endpoint: worth a look.
    pub split_hosts: Option<SplitHosts>,
}

/// The two hosts of a profile whose code and refresh tokens go elsewhere than its sign-in page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SplitHosts {
    pub authorization: String,
    pub token: String,
}

/// What discovery found, for the editor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DiscoveryView {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub scopes_supported: Vec<String>,
    pub pkce_s256: bool,
    pub token_endpoint_auth_methods: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CopyResult {
    #[ts(type = "number | null")]
    pub expires_at: Option<EpochMs>,
    /// Seconds until the clipboard is cleared (if it still holds the token); `null`: never.
    pub clears_in_secs: Option<u32>,
    pub refreshed: bool,
}

/// The claims view. Claims are JSON objects; no token is included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ClaimsPayload {
    pub profile: String,
    pub id_token: Option<IdTokenClaims>,
    pub access_token: AccessTokenClaims,
    pub token_type: String,
    pub scopes: Vec<String>,
    #[ts(type = "number | null")]
    pub expires_at: Option<EpochMs>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct IdTokenClaims {
    pub verified: bool,
    /// Why it is not verified.
    pub problem: Option<String>,
    #[ts(type = "number")]
    pub checked_at: EpochMs,
    #[ts(type = "Record<string, unknown>")]
    pub claims: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccessTokenClaims {
    Jwt {
        #[ts(type = "Record<string, unknown>")]
        header: serde_json::Value,
        #[ts(type = "Record<string, unknown>")]
        claims: serde_json::Value,
    },
    Opaque,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SignOutResult {
    pub profile: ProfileView,
    /// How revocation at the provider went, in words.
    pub revocation: String,
    pub revoked: bool,
    /// How the browser sign-out goes, in words; `null` when the profile does not ask for one.
    /// Its outcome comes later as a notice.
    pub browser: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportResult {
    pub profiles: Vec<ProfileView>,
    pub imported: u32,
    pub browser_dropped: Vec<String>,
    pub secret_needed: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Settings {
    /// Clear the clipboard this many seconds after a copy (if it still holds the token); 0: never.
    pub clipboard_clear_secs: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            clipboard_clear_secs: 30,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Info,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Notice {
    pub kind: NoticeKind,
    pub message: String,
    pub profile: Option<String>,
}

/// Sent once by the UI after its first paint of the list (the cold-start benchmark reads it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ReadyReport {
    pub profiles: u32,
    /// Time the list took to render, in ms.
    pub render_ms: f64,
}

/// The generated TypeScript: one file with every type above.
pub fn typescript() -> String {
    let decls = [
        ErrorCode::decl(),
        IpcError::decl(),
        FieldError::decl(),
        FormField::decl(),
        ProfileView::decl(),
        ProgramUse::decl(),
        ProgramQuestion::decl(),
        ProgramAnswer::decl(),
        ProfileState::decl(),
        DeviceCodeView::decl(),
        ProviderKind::decl(),
        FlowSetting::decl(),
        ClientAuthMethod::decl(),
        SecretInput::decl(),
        ProfileForm::decl(),
        Param::decl(),
        PresetInputKind::decl(),
        PresetView::decl(),
        PresetRequest::decl(),
        SaveRequest::decl(),
        SaveResult::decl(),
        SplitHosts::decl(),
        DiscoveryView::decl(),
        CopyResult::decl(),
        ClaimsPayload::decl(),
        IdTokenClaims::decl(),
        AccessTokenClaims::decl(),
        SignOutResult::decl(),
        ImportResult::decl(),
        Settings::decl(),
        NoticeKind::decl(),
        Notice::decl(),
        ReadyReport::decl(),
    ];
    let mut out = String::from(
        "// Generated from src-tauri/src/ipc.rs by ts-rs. Do not edit this file manually:\n\
         // run `PIXIE_UPDATE_BINDINGS=1 cargo test -p pixie-desktop bindings`.\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.push_str(&format!(
        "export const EVENTS = {{ profile: {:?}, profiles: {:?}, notice: {:?}, questions: {:?} }} as const;\n",
        events::PROFILE,
        events::PROFILES,
        events::NOTICE,
        events::QUESTIONS
    ));
    out.push_str(&format!(
        "export type Command = {};\n",
        crate::command_names::COMMANDS
            .iter()
            .map(|c| format!("{c:?}"))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    // Defaults and lists the engine owns, so the webview never retypes them.
    out.push_str(&format!(
        "export const DEFAULT_SCOPES = {:?};\n",
        pixie::Profile::DEFAULT_SCOPES.join(" ")
    ));
    out.push_str(&format!(
        "export const DEFAULT_REDIRECT_URI = {:?};\n",
        pixie::profile::Redirect::default().to_string()
    ));
    out.push_str(&value_list("ERROR_CODES", "ErrorCode", ErrorCode::ALL));
    out.push_str(&value_list("FORM_FIELDS", "FormField", FormField::ALL));
    out
}

/// `export const NAME = [...] as const satisfies readonly TYPE[];`, each value as serde writes it.
fn value_list<T: Serialize>(name: &str, ty: &str, values: &[T]) -> String {
    let values: Vec<String> = values
        .iter()
        .map(|v| serde_json::to_string(v).unwrap_or_default())
        .collect();
    format!(
        "export const {name} = [{}] as const satisfies readonly {ty}[];\n",
        values.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_are_fresh() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/ipc/bindings.ts");
        let want = typescript();
        if std::env::var_os("PIXIE_UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: run `PIXIE_UPDATE_BINDINGS=1 cargo test -p pixie-desktop bindings` and commit it",
            path.display()
        );
    }

    #[test]
    fn the_generated_lists_hold_every_value_once_as_serde_writes_it() {
        let ts = typescript();
        assert!(ts.contains(
            "export const ERROR_CODES = [\"invalid\", \"profile_file\", \"sign_in_required\", \
             \"provider\", \"keychain\", \"sign_in_incomplete\", \"cancelled\", \"busy\", \
             \"local\"] as const satisfies readonly ErrorCode[];"
        ));
        assert_eq!(FormField::ALL.len(), 17);
        assert!(ts.contains("\"client_secret\", \"scopes\""));
        assert!(ts.contains("export const DEFAULT_REDIRECT_URI = \"http://127.0.0.1/callback\";"));
    }

    #[test]
    fn a_client_secret_from_the_editor_is_never_debug_printed() {
        let r = SaveRequest {
            original: None,
            form: crate::views::tests::form(),
            secret: SecretInput::Set("s3cr3t-value".into()),
        };
        assert!(!format!("{r:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn errors_cross_as_code_and_message() {
        let e = IpcError {
            code: ErrorCode::SignInRequired,
            message: "sign in again".into(),
            fields: vec![],
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"sign_in_required","message":"sign in again","fields":[]}"#
        );
    }
}

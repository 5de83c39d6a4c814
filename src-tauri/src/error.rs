//! Errors as the webview sees them: `{code, message, fields}` ([`IpcError`]). The engine's
//! messages are already written for people and never carry a token.

use pixie::profile::ProfileField;
use pixie::{Error, ErrorKind};

use crate::ipc::{ErrorCode, FieldError, FormField, IpcError};

pub type CmdResult<T> = Result<T, IpcError>;

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn field(field: FormField, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            code: ErrorCode::Invalid,
            message: message.clone(),
            fields: vec![FieldError { field, message }],
        }
    }

    /// The same error, its whole message placed next to `field`.
    pub fn at(mut self, field: FormField) -> Self {
        self.fields = vec![FieldError {
            field,
            message: self.message.clone(),
        }];
        self
    }

    pub fn fields(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [one] => one.message.clone(),
            _ => "some fields need attention".into(),
        };
        Self {
            code: ErrorCode::Invalid,
            message,
            fields,
        }
    }
}

impl From<Error> for IpcError {
    fn from(e: Error) -> Self {
        let code = match (&e, e.kind()) {
            (Error::Cancelled, _) => ErrorCode::Cancelled,
            (_, ErrorKind::Invalid) => ErrorCode::Invalid,
            (_, ErrorKind::ProfileFile) => ErrorCode::ProfileFile,
            (_, ErrorKind::SignInRequired) => ErrorCode::SignInRequired,
            (_, ErrorKind::Provider) => ErrorCode::Provider,
            (_, ErrorKind::Keychain) => ErrorCode::Keychain,
            (_, ErrorKind::SignInIncomplete) => ErrorCode::SignInIncomplete,
            (_, ErrorKind::Local) => ErrorCode::Local,
        };
        // The engine names no commands: the remedy is the app's, in its own words.
        let remedy = match &e {
            Error::CorruptSession { .. } => ". Sign out, then sign in again.",
            Error::MissingClientSecret { .. } => ". Edit the profile and enter its client secret.",
            _ => "",
        };
        let message = format!("{e}{remedy}");
        match e.field().and_then(form_field) {
            Some(field) => IpcError {
                code,
                message: message.clone(),
                fields: vec![FieldError { field, message }],
            },
            None => IpcError::new(code, message),
        }
    }
}

/// Where a form shows an error the engine blames on a profile field. The editor shows every
/// field today; one the engine adds later gets `None` here until the editor shows it, and its
/// errors show as the form's own.
fn form_field(field: ProfileField) -> Option<FormField> {
    Some(match field {
        ProfileField::Name => FormField::Name,
        ProfileField::Issuer => FormField::Issuer,
        ProfileField::AuthorizationEndpoint => FormField::AuthorizationEndpoint,
        ProfileField::TokenEndpoint => FormField::TokenEndpoint,
        ProfileField::RevocationEndpoint => FormField::RevocationEndpoint,
        ProfileField::UserinfoEndpoint => FormField::UserinfoEndpoint,
        ProfileField::ClientId | ProfileField::ClientAuth => FormField::ClientId,
        ProfileField::Scopes => FormField::Scopes,
        ProfileField::Params => FormField::Params,
        ProfileField::RedirectUri => FormField::RedirectUri,
        ProfileField::Browser => FormField::Browser,
        ProfileField::Flow => FormField::Flow,
        ProfileField::CaFile => FormField::CaFile,
        ProfileField::ExpectSub => FormField::ExpectSub,
        ProfileField::ExpectEmail => FormField::ExpectEmail,
        ProfileField::DeviceAuthorizationEndpoint => FormField::DeviceAuthorizationEndpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_keep_their_class_and_message() {
        let e: IpcError = Error::Cancelled.into();
        assert_eq!(e.code, ErrorCode::Cancelled);
        let e: IpcError = Error::KeychainUnavailable("no Secret Service".into()).into();
        assert_eq!(e.code, ErrorCode::Keychain);
        assert_eq!(e.message, "keychain unavailable: no Secret Service");
        // The engine blames a field; the app places the message there, in its own words.
        let e: IpcError = Error::invalid_field(ProfileField::Scopes, "invalid scope `a\\b`").into();
        assert_eq!(e.fields[0].field, FormField::Scopes);
        let e: IpcError = Error::invalid_field(ProfileField::CaFile, "not absolute").into();
        assert_eq!(e.fields[0].field, FormField::CaFile);
        let e: IpcError =
            Error::invalid_field(ProfileField::DeviceAuthorizationEndpoint, "bad").into();
        assert_eq!(e.fields[0].field, FormField::DeviceAuthorizationEndpoint);
        let e: IpcError = Error::CorruptSession {
            profile: "p".into(),
            reason: "bad".into(),
        }
        .into();
        assert_eq!(e.code, ErrorCode::Keychain);
        assert!(
            e.message.ends_with("Sign out, then sign in again."),
            "{}",
            e.message
        );
        assert!(
            !e.message.contains("pixie "),
            "no CLI commands: {}",
            e.message
        );
        let json = serde_json::to_value(IpcError::field(FormField::Issuer, "not a URL")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "invalid", "message": "not a URL",
                "fields": [{"field": "issuer", "message": "not a URL"}]})
        );
    }
}

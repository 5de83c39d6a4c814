//! Secret handling beyond `oauth2`'s own types (`AccessToken`, `RefreshToken`, `ClientSecret`,
//! `PkceCodeVerifier`, `CsrfToken`): raw ID tokens and values read from the keychain are
//! [`SecretString`]s, whose `Debug` prints `[REDACTED]`.

pub use secrecy::{ExposeSecret, SecretString};

/// `serde(with = ...)` for a [`SecretString`] stored in the keychain as a plain string.
pub mod serde_secret {
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &SecretString, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.expose_secret())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        String::deserialize(d).map(SecretString::from)
    }
}

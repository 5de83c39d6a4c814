//! Provider profiles: the validated model ([`Profile`]), its on-disk/export form
//! ([`ProfileRecord`]), the file store ([`store::ProfileStore`]) and the provider presets
//! ([`presets`]).
//!
//! A profile never holds a secret: a client secret lives in the keychain and the profile only
//! records that there is one.

mod model;
pub mod presets;
mod record;
mod redirect;
mod sign_in;
pub mod store;

pub use model::{
    parse_endpoint, ClientAuth, ExpectedAccount, LoopbackHost, Profile, ProfileField, ProfileName,
    ProfileRecord, Provider, Redirect, SignInFlow,
};
pub use store::{ProfileFile, ProfileStore, SCHEMA_VERSION};

//! Provider profiles: the validated model ([`Profile`]), its on-disk/export form
//! ([`ProfileRecord`]) and the file store ([`store::ProfileStore`]).
//!
//! A profile never holds a secret: a client secret lives in the keychain and the profile only
//! records that there is one.

mod model;
pub mod store;

pub use model::{
    parse_endpoint, ClientAuth, ExpectedAccount, LoopbackHost, Profile, ProfileField, ProfileName,
    ProfileRecord, Provider, Redirect, SignInFlow,
};
pub use store::{ProfileFile, ProfileStore, SCHEMA_VERSION};

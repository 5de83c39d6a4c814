//! Provider profiles: the validated model ([`Profile`]), its on-disk/export form
//! ([`ProfileRecord`]) and the file store ([`store::ProfileStore`]).
//!
//! A profile never holds a secret: a client secret lives in the keychain and the profile only
//! records that there is one.

mod model;
pub mod store;

pub(crate) use model::issuer_string;
pub use model::{
    parse_endpoint, LoopbackHost, Profile, ProfileName, ProfileRecord, Provider, Redirect,
};
pub use store::{ProfileFile, ProfileStore, SCHEMA_VERSION};

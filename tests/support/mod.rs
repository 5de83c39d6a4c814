//! The real-parts test rig: a real OpenID Provider (npm `oidc-provider`, started per test on an
//! ephemeral loopback port), the real Secret Service (gnome-keyring, via `scripts/with-keyring`),
//! the real `pixie` binary, and a scripted browser set through `$BROWSER`. Split by double:
//! `idp` (the provider), `rig` (a test's world and the CLI), `http` (direct requests), `tls`
//! (a private CA).
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};

mod http;
mod idp;
mod rig;
mod tls;

pub use http::{http, http_basic};
pub use idp::Idp;
pub use rig::{eventually, signed_in_with_due_token, Out, Rig};
pub use tls::make_ca;

pub const PIXIE: &str = env!("CARGO_BIN_EXE_pixie");

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn idp_dir() -> PathBuf {
    repo().join("tests/idp")
}

/// Integration tests need the real keychain; they fail loudly rather than skip without it.
pub fn require_keyring() {
    assert!(
        std::env::var_os("PIXIE_TEST_KEYRING").is_some(),
        "integration tests need a Secret Service: run them through `scripts/test` (or `scripts/with-keyring cargo test`)"
    );
}

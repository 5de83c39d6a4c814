//! The vault against the real Secret Service: chunked values (as on Windows/macOS, where items are
//! small) are stored, read back, replaced and deleted without leaving entries behind.

mod support;

use std::sync::Arc;

use pixie::ProfileName;
use pixie::{ExposeSecret, SecretString};
use pixie::{KeyringStore, Vault};

fn entries(service: &str) -> Vec<String> {
    let out = std::process::Command::new("secret-tool")
        .args(["search", "--all", "service", service])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mut users: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("attribute.username = "))
        .map(str::to_owned)
        .collect();
    users.sort();
    users
}

#[test]
fn chunked_secrets_round_trip_in_the_real_keychain() {
    support::require_keyring();
    let service = format!("pixie-vault-test-{}", std::process::id());
    let vault = Vault::with_chunk_size(Arc::new(KeyringStore::new(&service)), 100);
    let name = ProfileName::new("big").unwrap();

    let long: String = (0..1000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    vault
        .set_client_secret(&name, &SecretString::from(long.clone()))
        .unwrap();
    let stored = entries(&service);
    assert_eq!(stored.len(), 1 + 10, "head + 10 chunks: {stored:?}");
    assert_eq!(
        vault.client_secret(&name).unwrap().unwrap().expose_secret(),
        long
    );

    // A fresh vault (another process) replaces it and cleans the old chunks.
    let other = Vault::with_chunk_size(Arc::new(KeyringStore::new(&service)), 100);
    other
        .set_client_secret(&name, &SecretString::from("short"))
        .unwrap();
    assert_eq!(entries(&service), ["client-secret:big"]);
    assert_eq!(
        vault.client_secret(&name).unwrap().unwrap().expose_secret(),
        "short"
    );

    vault
        .set_client_secret(&name, &SecretString::from(long.clone()))
        .unwrap();
    vault.forget(&name).unwrap();
    assert!(entries(&service).is_empty());
}

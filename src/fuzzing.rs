//! Entry points for the fuzz targets in `fuzz/` and for `tests/fuzz_corpora.rs`, which replays
//! their committed corpora on stable Rust. Each function takes arbitrary bytes, runs them through
//! the real parser (never a copy of it) and checks what must hold for any input; a panic is a bug.
//!
//! Not part of Pixie's API.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use oauth2::basic::BasicErrorResponse;
use openidconnect::core::{CoreIdToken, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::JsonWebKey as _;

use crate::profile::{Profile, ProfileFile, ProfileName};
use crate::session::Session;
use crate::vault::{Head, MemoryStore, SecretStore, Vault};

/// A fuzz target: any bytes in, a panic on a bug.
pub type Target = fn(&[u8]);

/// Every target, by name: the name of its directory in `fuzz/corpus/` and of its `fuzz_target`.
pub const TARGETS: &[(&str, Target)] = &[
    ("callback_query", callback_query),
    ("token_response", token_response),
    ("discovery", discovery),
    ("jwks", jwks),
    ("jwt_claims", jwt_claims),
    ("profile_import", profile_import),
    ("profiles_toml", profiles_toml),
    ("vault_record", vault_record),
    ("browser_command", browser_command),
    ("device_authorization", device_authorization),
    ("par_answer", par_answer),
    ("pasted_answer", pasted_answer),
    ("broker_frame", broker_frame),
    ("bus_greeting", bus_greeting),
];

/// A fixed "now", so that a crash reproduces whenever it is replayed.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default()
}

/// A browser's request as the loopback listener reads it (request head, target, query), and,
/// when it is no request, the bytes as a bare query string.
pub fn callback_query(data: &[u8]) {
    use crate::loopback;
    let head = &data[..data.len().min(loopback::MAX_REQUEST_HEAD)];
    if let Some(Ok(request)) = loopback::parse_request(head) {
        let (state, _) = loopback::parse_query(request.query.as_deref().unwrap_or(""));
        if let Some(state) = state {
            assert!(loopback::constant_time_eq(
                state.as_bytes(),
                state.as_bytes()
            ));
        }
    }
    if let Ok(target) = std::str::from_utf8(data) {
        if let Some((_, query)) = loopback::split_target(target) {
            assert!(!query.is_some_and(|q| q.contains('#')));
        }
    }
    if let Ok(query) = std::str::from_utf8(data) {
        let (state, params) = crate::loopback::parse_query(query);
        let _ = format!("{params:?}");
        if let Some(state) = state {
            assert!(!crate::loopback::constant_time_eq(
                state.as_bytes(),
                format!("{state}x").as_bytes()
            ));
        }
    }
}

/// A token endpoint's answer: a token response, and what is read from it (expiry, token type,
/// scopes), or an OAuth error response and the message made from it.
pub fn token_response(data: &[u8]) {
    use crate::flow;
    if let Ok(response) = serde_json::from_slice::<flow::TokenResponse>(data) {
        for now in [now(), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            if let Some(at) = flow::expires_at(&response, now) {
                assert!(at >= now);
            }
        }
        let _ = flow::token_type_name(&response);
        let _ = flow::granted_scopes(&response, &["openid".to_owned()]);
        let _ = format!("{response:?}");
    }
    if let Ok(error) = serde_json::from_slice::<BasicErrorResponse>(data) {
        let error = flow::TokenError::ServerResponse(error);
        let _ = flow::is_transient(&error);
        let _ = flow::token_unused(&error);
        let _ = flow::is_invalid_grant(&error);
        let message = flow::map_token_error("refresh", "https://as.example/token", error);
        let _ = crate::text::terminal_safe(&message.to_string());
    }
}

/// A provider's metadata document: OpenID Connect Discovery (then turned into what the flow
/// uses, endpoints held to the https rule), or RFC 8414 authorization-server metadata.
pub fn discovery(data: &[u8]) {
    use crate::discovery;
    if let Ok(metadata) = serde_json::from_slice::<discovery::OidcMetadata>(data) {
        let _ = metadata.issuer().as_str();
        if let Ok(info) = discovery::from_oidc(metadata) {
            let _ = info.check_pkce();
            let _ = info.check_schemes();
        }
    }
    let _ = serde_json::from_slice::<discovery::OAuthMetadata>(data);
}

/// A provider's key set, and each key as signature verification uses it.
pub fn jwks(data: &[u8]) {
    use CoreJwsSigningAlgorithm as Alg;
    let Ok(set) = serde_json::from_slice::<CoreJsonWebKeySet>(data) else {
        return;
    };
    let message = b"eyJhbGciOiJSUzI1NiJ9.e30";
    for key in set.keys() {
        let _ = (key.key_id(), key.key_use(), key.signing_alg());
        for (alg, signature_len) in [
            (Alg::RsaSsaPkcs1V15Sha256, 256),
            (Alg::RsaSsaPssSha256, 256),
            (Alg::EcdsaP256Sha256, 64),
            (Alg::EcdsaP384Sha384, 96),
            (Alg::EdDsa, 64),
            (Alg::HmacSha256, 32),
        ] {
            let signature = vec![0x5a; signature_len];
            assert!(key.verify_signature(&alg, message, &signature).is_err());
        }
    }
}

/// A token decoded for display (`pixie claims`, `pixie inspect`): header and payload without
/// any check, shown as terminal-safe JSON; and the parse that verification starts with.
pub fn jwt_claims(data: &[u8]) {
    let Ok(jwt) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = crate::claims::decode_jwt_unverified(jwt);
    assert_eq!(
        crate::claims::decode_unverified(jwt),
        decoded.as_ref().map(|(_, claims)| claims.clone())
    );
    if let Some((header, claims)) = decoded {
        for value in [header, claims] {
            assert!(value.is_object());
            // What is shown means what serde_json wrote. (Not `value` itself: serde_json's
            // default float parsing may land a huge number on a neighbouring f64.)
            let json = serde_json::to_string_pretty(&value).unwrap();
            let shown = crate::text::json_terminal_safe(&json);
            let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
            let written: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(back, written, "display changed the claims");
        }
    }
    let _ = jwt.parse::<CoreIdToken>();
}

/// A profile export (`pixie profile import`); what imports must export and import again unchanged.
pub fn profile_import(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profiles) = ProfileFile::parse_export(text, "fuzz.json") else {
        return;
    };
    for p in &profiles {
        assert_eq!(Profile::try_from(p.to_record()).ok().as_ref(), Some(p));
    }
    let export = serde_json::to_string_pretty(&ProfileFile::from_profiles(&profiles)).unwrap();
    let again = ProfileFile::parse_export(&export, "re-export").unwrap();
    assert_eq!(again, profiles);
}

/// The profile file (`profiles.toml`); what reads must write and read again unchanged.
pub fn profiles_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profiles) = ProfileFile::parse_toml(text) else {
        return;
    };
    let written = ProfileFile::to_toml(&profiles).unwrap();
    let again = ProfileFile::parse_toml(&written).unwrap();
    assert_eq!(again, profiles);
}

/// A session as the keychain holds it: the first line is the head entry (`1:{…}` inline, or
/// `1c:GENERATION:COUNT`), each further line the next chunk of that generation. The session is
/// read (and parsed) through the vault, written back, read again, then deleted.
pub fn vault_record(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let profile = ProfileName::new("fuzz").unwrap();
    let key = Vault::session_key(&profile);
    let store = Arc::new(MemoryStore::default());
    let mut lines = text.split('\n');
    let head = lines.next().unwrap_or_default();
    store.set(&key, head).unwrap();
    if let Some((generation, _)) = crate::vault::parse_manifest(head) {
        for (i, part) in lines.enumerate() {
            store
                .set(&Vault::chunk_key(&key, generation, i), part)
                .unwrap();
        }
    }
    let stored = store.keys();
    let old = Head::of(store.get(&key).unwrap().as_ref());
    let vault = Vault::with_chunk_size(store.clone(), 16);
    if let Ok((Some(session), pending)) = vault.session_for_update(&profile) {
        let now = now();
        let _ = (
            session.remaining(now),
            session.lifetime(),
            session.subject(),
        );
        let _ = session.is_fresh(now, std::time::Duration::from_secs(60));
        let _ = format!("{session:?}");
        if let Err(e) = vault.commit_session(pending, &session) {
            // Only a value past MAX_CHUNKS chunks is refused, and then nothing changes.
            assert!(matches!(e, crate::Error::Keychain(_)), "{e}");
            assert_eq!(store.keys(), stored);
            return;
        }
        let back = vault.session(&profile).unwrap().unwrap();
        // The vault gives back what it was given, compared as parsed from the JSON written
        // (serde_json's default float parsing may land a huge claim on a neighbouring f64).
        let written = serde_json::to_string(&session).unwrap();
        let expected: Session = serde_json::from_str(&written).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&expected).unwrap()
        );
        // The write replaced the chunks it read through: only strays it never knew of remain.
        let left = store.keys();
        if let Head::Chunked { generation, count } = &old {
            for i in 0..*count {
                let chunk = Vault::chunk_key(&key, generation, i);
                assert!(!stored.contains(&chunk) || !left.contains(&chunk));
            }
        }
    }
    vault.delete_session(&profile).unwrap();
    assert!(store.get(&key).unwrap().is_none());
}

/// `$BROWSER` (a `:`-separated list of commands) and the argv each would start with the URL.
pub fn browser_command(data: &[u8]) {
    const URL: &str = "https://id.example.com/authorize?response_type=code&client_id=pixie&state=s%20t&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fcallback";
    let Ok(list) = std::str::from_utf8(data) else {
        return;
    };
    for cmd in crate::browser::browser_list(list) {
        assert!(!cmd.trim().is_empty());
        if let Ok(argv) = crate::browser::command_argv(cmd, URL) {
            assert!(!argv.is_empty());
            assert!(argv.iter().any(|arg| arg.contains(URL)), "{argv:?}");
        }
    }
}

/// A device authorization answer (RFC 8628 §3.2): what is kept of it is bounded, whatever came.
pub fn device_authorization(data: &[u8]) {
    if let Ok(a) = crate::device::parse_authorization(data) {
        assert!(!a.shown.user_code.is_empty() && a.shown.user_code.chars().count() <= 64);
        assert!(!a.shown.user_code.chars().any(crate::text::is_unsafe));
        assert!(a.expires_in.as_secs() >= 1 && a.expires_in.as_secs() <= 30 * 60);
        assert!(a.interval.as_secs() >= 1 && a.interval.as_secs() <= 60);
        for uri in
            std::iter::once(&a.shown.verification_uri).chain(&a.shown.verification_uri_complete)
        {
            assert!(
                uri.starts_with("https://") || uri.starts_with("http://"),
                "{uri}"
            );
        }
    }
}

/// A pushed authorization answer (RFC 9126 §2.2): a `request_uri` is bounded and printable.
pub fn par_answer(data: &[u8]) {
    if let Ok(uri) = crate::par::parse_answer(data) {
        assert!(!uri.is_empty() && uri.len() <= 2048);
        assert!(!uri.chars().any(|c| c.is_control()));
    }
}

/// A pasted address (paste-back): only this sign-in's redirect URI with its state is taken.
pub fn pasted_answer(data: &[u8]) {
    const REDIRECT: &str = "http://127.0.0.1:4242/callback";
    const STATE: &str = "fuzz-state";
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if crate::loopback::check_pasted(text, REDIRECT, STATE).is_ok() {
        let url = url::Url::parse(text.trim()).expect("a taken paste is a URL");
        assert_eq!(url.path(), "/callback");
        assert!(url.query_pairs().any(|(k, v)| k == "state" && v == STATE));
    }
}

/// Bytes as they arrive on the broker's socket: frames split off one after another (no payload
/// over the cap), each read as a request and as an answer; what parses is framed again and
/// reads back the same. The whole input is also tried as one bare payload.
pub fn broker_frame(data: &[u8]) {
    use crate::broker::protocol::{self, MAX_FRAME};
    fn payload(bytes: &[u8]) {
        if let Ok(request) = protocol::decode_request(bytes) {
            if let Ok(framed) = protocol::encode(&request) {
                let (again, used) = protocol::split_frame(&framed)
                    .expect("a frame Pixie wrote splits")
                    .expect("whole");
                assert_eq!(used, framed.len());
                assert_eq!(
                    protocol::decode_request(again).expect("reads back"),
                    request
                );
            }
        }
        if let Ok(answer) = protocol::decode_answer(bytes) {
            let once = serde_json::to_string(&answer).expect("an answer serializes");
            let back = protocol::decode_answer(once.as_bytes()).expect("reads back");
            assert_eq!(serde_json::to_string(&back).expect("serializes"), once);
            if let protocol::Body::Error(e) = answer.body {
                let error = crate::Error::from(e.clone());
                assert_eq!(error.kind(), e.kind);
            }
        }
    }
    let mut rest = data;
    while let Ok(Some((bytes, used))) = protocol::split_frame(rest) {
        assert!(bytes.len() <= MAX_FRAME && used == bytes.len() + 4);
        payload(bytes);
        rest = &rest[used..];
    }
    payload(data);
}

/// The session bus's answers to Pixie's one-write greeting (`OK <guid>` and a message header),
/// as the keychain client reads them before handing the socket to zbus.
pub fn bus_greeting(data: &[u8]) {
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
    {
        if let Some(guid) = crate::vault::parse_ok(data) {
            assert_eq!(guid.len(), 32);
            assert!(guid.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        if let Some(header) = data.get(..16).and_then(|h| <&[u8; 16]>::try_from(h).ok()) {
            if let Some(rest) = crate::vault::message_rest(header) {
                assert!(rest <= 128 << 20, "past the protocol's cap: {rest}");
            }
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd")))]
    let _ = data;
}

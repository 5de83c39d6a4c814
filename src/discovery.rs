//! Finding a provider's endpoints: OpenID Connect Discovery (`openidconnect`'s metadata types;
//! the issuer checked, every endpoint held to the https rule before the JWKS is fetched),
//! falling back to RFC 8414 authorization-server metadata; or the endpoints a profile gives
//! explicitly. Every document is read through the capped client.

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, ProviderMetadata};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};
use crate::http::{Http, HttpError, METADATA_CAP};
use crate::profile::{Profile, Provider};

/// Metadata fields Pixie uses that `openidconnect`'s core set leaves out.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// RFC 9207: the provider puts `iss` in authorization responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// The endpoints of the optional protocols Pixie speaks.
    #[serde(flatten)]
    pub optional: OptionalMetadata,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

/// Metadata of the optional protocols: the device grant, PAR and browser logout.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OptionalMetadata {
    /// RFC 8628 §4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// RFC 9126 §5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 9126 §5: the provider refuses authorization requests that were not pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// OpenID Connect RP-Initiated Logout 1.0 §2.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
}

impl OptionalMetadata {
    /// The endpoints parsed; a malformed one fails discovery, like a malformed core endpoint.
    fn parse(&self, issuer: &str) -> Result<OptionalEndpoints> {
        let endpoint = |field: &str, v: &Option<String>| -> Result<Option<Url>> {
            v.as_deref()
                .map(|s| {
                    Url::parse(s).map_err(|e| Error::Discovery {
                        issuer: issuer.to_owned(),
                        reason: format!("bad {field}: {e}"),
                    })
                })
                .transpose()
        };
        Ok(OptionalEndpoints {
            device_authorization: endpoint(
                "device_authorization_endpoint",
                &self.device_authorization_endpoint,
            )?,
            par: endpoint(
                "pushed_authorization_request_endpoint",
                &self.pushed_authorization_request_endpoint,
            )?,
            require_par: self.require_pushed_authorization_requests.unwrap_or(false),
            end_session: endpoint("end_session_endpoint", &self.end_session_endpoint)?,
        })
    }
}

/// Where the optional protocols are served, when the provider offers them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptionalEndpoints {
    /// The device grant (RFC 8628).
    pub device_authorization: Option<Url>,
    /// Pushed authorization requests (RFC 9126).
    pub par: Option<Url>,
    /// Whether every authorization request must be pushed.
    pub require_par: bool,
    /// RP-initiated logout in the browser.
    pub end_session: Option<Url>,
}

pub(crate) type OidcMetadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// RFC 8414 metadata, for OAuth servers that have no OpenID configuration.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct OAuthMetadata {
    issuer: String,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    jwks_uri: Option<String>,
    #[serde(default)]
    scopes_supported: Vec<String>,
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
    #[serde(flatten)]
    optional: OptionalMetadata,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetadataSource {
    OpenidConfiguration,
    OauthAuthorizationServer,
    Profile,
}

/// Everything the flow needs to know about a provider.
#[derive(Clone, Debug)]
pub struct ProviderInfo {
    pub source: MetadataSource,
    /// The issuer identifier, exactly as the provider states it (compared with `iss`).
    pub issuer: Option<String>,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub revocation_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub jwks_uri: Option<Url>,
    pub jwks: Option<CoreJsonWebKeySet>,
    pub scopes_supported: Vec<String>,
    pub code_challenge_methods_supported: Option<Vec<String>>,
    pub iss_parameter_supported: bool,
    pub token_endpoint_auth_methods: Vec<String>,
    /// JWS algorithms the provider signs ID tokens with (empty: unknown, RS256 is assumed).
    pub id_token_signing_algs: Vec<String>,
    /// The device grant, PAR and browser logout, where offered.
    pub optional: OptionalEndpoints,
}

impl ProviderInfo {
    /// PKCE S256 is mandatory; a provider that advertises methods without it is refused.
    pub fn check_pkce(&self) -> Result<()> {
        match &self.code_challenge_methods_supported {
            Some(methods) if !methods.iter().any(|m| m == "S256") => Err(Error::ProviderError(
                format!(
                    "the provider does not support PKCE with S256 (it offers: {}); Pixie will not sign in without it",
                    methods.join(", ")
                ),
            )),
            _ => Ok(()),
        }
    }
}

impl ProviderInfo {
    /// Discovered endpoints get the same rule as configured ones: https, or http on loopback.
    pub(crate) fn check_schemes(self) -> Result<Self> {
        let check =
            |field: &str, u: &Url| crate::profile::parse_endpoint(field, u.as_str()).map(|_| ());
        check("authorization_endpoint", &self.authorization_endpoint)?;
        check("token_endpoint", &self.token_endpoint)?;
        for (field, u) in [
            ("revocation_endpoint", &self.revocation_endpoint),
            ("userinfo_endpoint", &self.userinfo_endpoint),
            ("jwks_uri", &self.jwks_uri),
            (
                "device_authorization_endpoint",
                &self.optional.device_authorization,
            ),
            ("pushed_authorization_request_endpoint", &self.optional.par),
            ("end_session_endpoint", &self.optional.end_session),
        ] {
            if let Some(u) = u {
                check(field, u)?;
            }
        }
        Ok(self)
    }
}

/// The profile's endpoints: discovered from its issuer, or as written.
pub async fn resolve(http: &Http, profile: &Profile) -> Result<ProviderInfo> {
    match &profile.provider {
        Provider::Issuer { issuer } => discover(http, issuer).await,
        Provider::Endpoints {
            authorization,
            token,
            revocation,
            userinfo,
            device,
        } => Ok(ProviderInfo {
            source: MetadataSource::Profile,
            issuer: None,
            authorization_endpoint: authorization.clone(),
            token_endpoint: token.clone(),
            revocation_endpoint: revocation.clone(),
            userinfo_endpoint: userinfo.clone(),
            jwks_uri: None,
            jwks: None,
            scopes_supported: Vec::new(),
            code_challenge_methods_supported: None,
            iss_parameter_supported: false,
            token_endpoint_auth_methods: Vec::new(),
            id_token_signing_algs: Vec::new(),
            optional: OptionalEndpoints {
                device_authorization: device.clone(),
                ..OptionalEndpoints::default()
            },
        }),
    }
}

/// Discovers a provider from its issuer identifier (exactly as the provider spells it).
pub async fn discover(http: &Http, issuer_str: &str) -> Result<ProviderInfo> {
    let issuer = &crate::profile::parse_endpoint("issuer", issuer_str)?;
    let fail = |reason: String| Error::Discovery {
        issuer: issuer_str.to_owned(),
        reason,
    };
    // OIDC Discovery §4: the issuer without its trailing slash, then the well-known path.
    let url = Url::parse(&format!(
        "{}/.well-known/openid-configuration",
        issuer_str.trim_end_matches('/')
    ))
    .map_err(|e| fail(e.to_string()))?;
    let answer = get(http, &url, issuer_str).await?;
    let mut info = match answer.status().as_u16() {
        200..=299 => {
            let m: OidcMetadata = serde_json::from_slice(answer.body())
                .map_err(|e| fail(format!("the metadata is not valid ({})", json_error(&e))))?;
            if m.issuer().as_str() != issuer_str {
                return Err(fail(format!(
                    "the metadata names issuer `{}`, not `{issuer_str}`",
                    m.issuer().as_str()
                )));
            }
            from_oidc(m)?
        }
        404 => {
            tracing::debug!(issuer = %issuer_str, "no OpenID configuration; trying RFC 8414");
            discover_oauth(http, issuer, issuer_str).await?
        }
        status => return Err(fail(format!("{url} answered HTTP {status}"))),
    };
    // Every endpoint passes the https rule before anything is fetched from one.
    info = info
        .check_schemes()
        .map_err(|e| fail(format!("the metadata lists an insecure endpoint: {e}")))?;
    if let (Some(uri), MetadataSource::OpenidConfiguration) = (&info.jwks_uri, info.source) {
        info.jwks = Some(fetch_jwks(http, uri).await?);
    }
    Ok(info)
}

/// A GET of a metadata document or key set, its body capped at [`METADATA_CAP`].
async fn get(http: &Http, url: &Url, issuer: &str) -> Result<crate::http::Answer> {
    let request = http
        .request(reqwest::Method::GET, url.clone())
        .header("accept", "application/json");
    http.send(request, METADATA_CAP).await.map_err(|e| match e {
        HttpError::TooLarge { .. } | HttpError::Redirect { .. } => Error::Discovery {
            issuer: issuer.to_owned(),
            reason: format!("{url}: {e}"),
        },
        e => Error::ProviderUnreachable(format!("cannot reach {url}: {e}")),
    })
}

/// serde's message without the input it quotes (it can be anything the provider sent).
fn json_error(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

pub(crate) fn from_oidc(m: OidcMetadata) -> Result<ProviderInfo> {
    let issuer = m.issuer().to_string();
    let token = m.token_endpoint().ok_or_else(|| Error::Discovery {
        issuer: issuer.clone(),
        reason: "the provider has no token endpoint".into(),
    })?;
    let extra = m.additional_metadata();
    let revocation = extra
        .revocation_endpoint
        .as_deref()
        .map(Url::parse)
        .transpose()
        .map_err(|e| Error::Discovery {
            issuer: issuer.clone(),
            reason: format!("bad revocation_endpoint: {e}"),
        })?;
    Ok(ProviderInfo {
        source: MetadataSource::OpenidConfiguration,
        authorization_endpoint: m.authorization_endpoint().url().clone(),
        token_endpoint: token.url().clone(),
        revocation_endpoint: revocation,
        userinfo_endpoint: m.userinfo_endpoint().map(|u| u.url().clone()),
        jwks_uri: Some(m.jwks_uri().url().clone()),
        jwks: None,
        scopes_supported: m
            .scopes_supported()
            .map(|s| s.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
        code_challenge_methods_supported: extra.code_challenge_methods_supported.clone(),
        iss_parameter_supported: extra
            .authorization_response_iss_parameter_supported
            .unwrap_or(false),
        token_endpoint_auth_methods: m
            .token_endpoint_auth_methods_supported()
            .map(|v| wire_names(v))
            .unwrap_or_default(),
        id_token_signing_algs: wire_names(m.id_token_signing_alg_values_supported()),
        optional: extra.optional.parse(&issuer)?,
        issuer: Some(issuer),
    })
}

/// The names `openidconnect`'s typed values have in the metadata document (e.g. `RS256`).
fn wire_names<T: Serialize>(values: &[T]) -> Vec<String> {
    values
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// RFC 8414 §3: the well-known segment goes between the host and the issuer's path.
fn oauth_metadata_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = issuer.path().trim_end_matches('/');
    url.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    url
}

async fn discover_oauth(http: &Http, issuer: &Url, issuer_str: &str) -> Result<ProviderInfo> {
    let fail = |reason: String| Error::Discovery {
        issuer: issuer_str.to_owned(),
        reason,
    };
    let url = oauth_metadata_url(issuer);
    let answer = get(http, &url, issuer_str).await?;
    if !answer.status().is_success() {
        return Err(fail(format!(
            "neither {issuer_str}/.well-known/openid-configuration nor {url} exists (HTTP {})",
            answer.status()
        )));
    }
    let m: OAuthMetadata = serde_json::from_slice(answer.body()).map_err(|e| {
        fail(format!(
            "the metadata at {url} is not valid JSON metadata ({})",
            json_error(&e)
        ))
    })?;
    if m.issuer != issuer_str {
        return Err(fail(format!(
            "the metadata names issuer `{}`, not `{issuer_str}`",
            m.issuer
        )));
    }
    let endpoint = |field: &str, v: Option<String>| -> Result<Option<Url>> {
        v.map(|s| Url::parse(&s).map_err(|e| fail(format!("bad {field}: {e}"))))
            .transpose()
    };
    Ok(ProviderInfo {
        source: MetadataSource::OauthAuthorizationServer,
        authorization_endpoint: endpoint("authorization_endpoint", m.authorization_endpoint)?
            .ok_or_else(|| fail("no authorization_endpoint".into()))?,
        token_endpoint: endpoint("token_endpoint", m.token_endpoint)?
            .ok_or_else(|| fail("no token_endpoint".into()))?,
        revocation_endpoint: endpoint("revocation_endpoint", m.revocation_endpoint)?,
        userinfo_endpoint: endpoint("userinfo_endpoint", m.userinfo_endpoint)?,
        jwks_uri: endpoint("jwks_uri", m.jwks_uri)?,
        jwks: None,
        scopes_supported: m.scopes_supported,
        code_challenge_methods_supported: m.code_challenge_methods_supported,
        iss_parameter_supported: m.authorization_response_iss_parameter_supported,
        token_endpoint_auth_methods: m.token_endpoint_auth_methods_supported,
        id_token_signing_algs: m.id_token_signing_alg_values_supported,
        optional: m.optional.parse(issuer_str)?,
        issuer: Some(m.issuer),
    })
}

/// Fetches a JWKS (at discovery, and when a token names a key the cached set doesn't have),
/// after checking its URL against the https rule.
pub async fn fetch_jwks(http: &Http, jwks_uri: &Url) -> Result<CoreJsonWebKeySet> {
    let uri = jwks_uri.as_str();
    crate::profile::parse_endpoint("jwks_uri", uri)?;
    let answer = get(http, jwks_uri, uri).await?;
    if !answer.status().is_success() {
        return Err(Error::Discovery {
            issuer: uri.to_owned(),
            reason: format!("the key set answered HTTP {}", answer.status()),
        });
    }
    serde_json::from_slice(answer.body()).map_err(|e| Error::Discovery {
        issuer: uri.to_owned(),
        reason: format!("the key set is not valid ({})", json_error(&e)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8414_url_inserts_well_known_before_the_path() {
        let u = |s: &str| oauth_metadata_url(&Url::parse(s).unwrap()).to_string();
        assert_eq!(
            u("https://as.example.com"),
            "https://as.example.com/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            u("https://as.example.com/tenant/1"),
            "https://as.example.com/.well-known/oauth-authorization-server/tenant/1"
        );
    }

    async fn serve(app: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    // A fake RFC 8414-only server (unit test; the integration tests use a real provider).
    #[tokio::test]
    async fn falls_back_to_rfc8414() {
        falls_back_to_rfc8414_with("").await;
    }

    #[tokio::test]
    async fn an_issuer_with_a_trailing_slash_is_kept_exactly() {
        falls_back_to_rfc8414_with("/").await;
    }

    async fn falls_back_to_rfc8414_with(suffix: &'static str) {
        use axum::routing::get;
        let base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
        let b = base.clone();
        let app = axum::Router::new().route(
            "/.well-known/oauth-authorization-server",
            get(move || {
                let issuer = b.get().unwrap().clone();
                async move {
                    axum::Json(serde_json::json!({
                        "issuer": format!("{issuer}{suffix}"),
                        "authorization_endpoint": format!("{issuer}/authorize"),
                        "token_endpoint": format!("{issuer}/token"),
                        "code_challenge_methods_supported": ["S256"],
                    }))
                }
            }),
        );
        let url = serve(app).await;
        base.set(url.clone()).unwrap();
        let info = discover(&Http::new().unwrap(), &format!("{url}{suffix}"))
            .await
            .unwrap();
        assert_eq!(
            info.issuer.as_deref(),
            Some(format!("{url}{suffix}").as_str())
        );
        assert_eq!(info.source, MetadataSource::OauthAuthorizationServer);
        assert_eq!(info.token_endpoint.as_str(), format!("{url}/token"));
        assert!(info.check_pkce().is_ok());
    }

    #[tokio::test]
    async fn unreachable_provider_is_reported_as_such() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let err = discover(&Http::new().unwrap(), &url).await.unwrap_err();
        assert!(matches!(err, Error::ProviderUnreachable(_)), "{err}");
    }

    #[test]
    fn pkce_without_s256_is_refused() {
        let mut info = ProviderInfo {
            source: MetadataSource::Profile,
            issuer: None,
            authorization_endpoint: Url::parse("https://a.example/auth").unwrap(),
            token_endpoint: Url::parse("https://a.example/token").unwrap(),
            revocation_endpoint: None,
            userinfo_endpoint: None,
            jwks_uri: None,
            jwks: None,
            scopes_supported: vec![],
            code_challenge_methods_supported: Some(vec!["plain".into()]),
            iss_parameter_supported: false,
            token_endpoint_auth_methods: vec![],
            id_token_signing_algs: vec![],
            optional: OptionalEndpoints::default(),
        };
        assert!(info.check_pkce().is_err());
        info.code_challenge_methods_supported = None;
        assert!(info.check_pkce().is_ok());
    }
}

//! The command line's shape (clap): commands, flags, their help, and the bounds on numbers.

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  local failure (port in use, browser would not start, I/O)
  2  usage error or invalid input
  3  sign-in required (not signed in, or the refresh token was refused)
  4  provider unreachable or answering with an error
  5  keychain unavailable (absent, locked, access refused)
  6  profile file unreadable or corrupt
  7  sign-in did not complete (denied, timed out, cancelled, answer or ID token rejected)

Environment:
  PIXIE_HOME             where profiles.toml and locks live (default: platform config dir)
  PIXIE_KEYRING_SERVICE  keychain service name (default: pixie)
  PIXIE_LOG              Pixie's log level: error, warn, info, debug, trace (default: warn)
  PIXIE_AGENT_SOCKET     the token broker's socket (default: $XDG_RUNTIME_DIR/pixie/agent.sock)
  BROWSER                browser command(s), `:`-separated; `%s` is replaced by the URL";

/// A git username: one non-empty line (it is written into git's credential protocol).
pub(super) fn parse_username(s: &str) -> std::result::Result<String, String> {
    if s.is_empty() || s.contains(['\n', '\r', '\0']) {
        return Err("a username is one non-empty line".into());
    }
    Ok(s.to_owned())
}

/// Bound on the seconds a person may give (`--timeout`, `--min-valid`): a day.
pub(super) const MAX_SECS: u64 = 86_400;

#[derive(Parser, Debug)]
#[command(
    name = "pixie",
    version,
    about = "Sign in to OAuth 2.0 / OpenID Connect providers (Authorization Code + PKCE) and hand out fresh access tokens",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Don't ask the token broker (`pixie agent` or the app): read the keychain and refresh
    /// in this process.
    #[arg(long, global = true)]
    pub no_agent: bool,
}

// Parsed once per process; the size difference is irrelevant.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
// Each subcommand's arguments are built only when it runs (or help and completions need them):
// `pixie token` does not pay for the other dozen commands' definitions at every start.
#[command(defer = true)]
pub enum Command {
    /// Manage provider profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Show what a provider's discovery document says (endpoints, scopes, PKCE support).
    Discover {
        /// The issuer URL, e.g. https://accounts.example.com
        issuer: String,
    },
    /// Sign in through the system browser (PKCE, loopback redirect).
    Login {
        name: String,
        /// Print the sign-in URL instead of opening a browser, and take the address the
        /// browser lands on when it is pasted back (the same as `--flow paste`).
        #[arg(long, conflicts_with = "flow")]
        no_browser: bool,
        /// How to sign in: `browser` (this machine's, loopback redirect), `device` (a code
        /// entered on any device, RFC 8628), `paste` (a browser elsewhere; paste back the
        /// address it lands on), or `auto`: the profile's sign-in flow if it sets one, else the
        /// browser in a desktop session, else the device grant where the provider offers it,
        /// else paste-back.
        #[arg(long, value_enum, default_value_t = FlowArg::Auto)]
        flow: FlowArg,
        /// Give up when the browser has not answered after this many seconds (at most a day).
        #[arg(long, value_name = "SECS", default_value_t = 300,
              value_parser = clap::value_parser!(u64).range(1..=MAX_SECS))]
        timeout: u64,
    },
    /// Print a fresh access token (refreshing it first when it is about to expire).
    Token {
        name: String,
        #[arg(long, value_enum, default_value_t = TokenFormat::Raw)]
        format: TokenFormat,
        /// Refresh unless the token stays valid for at least this many seconds (at most half
        /// the token's lifetime is asked for, so short-lived tokens are not refreshed each time).
        #[arg(long, value_name = "SECS", default_value_t = 60,
              value_parser = clap::value_parser!(u64).range(0..=MAX_SECS))]
        min_valid: u64,
    },
    /// Print the ID token's claims as JSON, with the verification result.
    Claims { name: String },
    /// Show whether profiles are signed in and when their tokens expire.
    Status {
        name: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a kubeconfig whose user runs `pixie token NAME --format exec-credential`.
    Kubeconfig {
        name: String,
        /// The Kubernetes API server, e.g. https://k8s.example.com:6443.
        #[arg(long, value_name = "URL")]
        server: String,
        /// A PEM file of CA certificates for the API server (embedded in the kubeconfig).
        #[arg(long, value_name = "FILE")]
        ca_file: Option<std::path::PathBuf>,
        /// The cluster entry's name (default: the profile's).
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        /// The user entry's name (default: the profile's).
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// The context's name (default: the profile's); it is the current context.
        #[arg(long, value_name = "NAME")]
        context: Option<String>,
    },
    /// A git credential helper: `get` answers a fresh access token as the password, `erase`
    /// (after a 401) makes the next `get` refresh, `store` does nothing.
    GitCredential {
        /// The profile whose access token is the password.
        #[arg(long, value_name = "NAME")]
        profile: String,
        /// The username to answer (GitLab wants `oauth2`; most servers take anything).
        #[arg(long, value_name = "USER", default_value = "oauth2",
              value_parser = parse_username)]
        username: String,
        /// What git asks: get, store or erase (others are ignored, as git asks of helpers).
        operation: String,
    },
    /// Serve tokens to this user's tools over a local socket (the token broker), in the
    /// foreground until interrupted. `token`, `status` and `claims` ask it while it runs.
    Agent,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Sign out: revoke the refresh token at the provider, then delete it from the keychain.
    Logout {
        name: String,
        /// Only delete the local tokens; don't ask the provider to revoke them.
        #[arg(long)]
        no_revoke: bool,
        /// Also end the provider's session in the browser (OpenID Connect RP-Initiated
        /// Logout), as the profile's `browser_logout` setting does.
        #[arg(long)]
        browser: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TokenFormat {
    /// The bare access token.
    Raw,
    /// `Authorization: Bearer …`, ready for `curl -H`.
    Header,
    /// Token, type, expiry and scopes as JSON.
    Json,
    /// A Kubernetes `ExecCredential` for kubectl's exec plugins (client.authentication.k8s.io/v1,
    /// or v1beta1 when `KUBERNETES_EXEC_INFO` asks for it).
    ExecCredential,
}

#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum ProfileCommand {
    /// Add a profile: from scratch, or from a provider preset (`pixie profile presets`).
    Add {
        /// A short name for the profile, used on the command line (letters, digits, - _ .).
        name: String,
        #[command(flatten)]
        preset: PresetArgs,
        #[command(flatten)]
        fields: ProfileFields,
        /// Read a client secret (confidential clients) from stdin into the keychain.
        #[arg(long)]
        client_secret_stdin: bool,
    },
    /// Change fields of a profile.
    Edit {
        name: String,
        #[command(flatten)]
        fields: ProfileFields,
        /// Read a new client secret from stdin into the keychain.
        #[arg(long, conflicts_with = "no_client_secret")]
        client_secret_stdin: bool,
        /// Delete the profile's client secret (it becomes a public client).
        #[arg(long)]
        no_client_secret: bool,
        /// Add scopes (space-separated; may be repeated).
        #[arg(long, value_name = "SCOPES")]
        add_scope: Vec<String>,
        /// Remove scopes (space-separated; may be repeated).
        #[arg(long, value_name = "SCOPES")]
        remove_scope: Vec<String>,
        /// Remove an extra authorization parameter.
        #[arg(long, value_name = "KEY")]
        unset_param: Vec<String>,
    },
    /// List profiles.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one profile as JSON (it holds no secrets).
    Show { name: String },
    /// Remove a profile and its keychain entries (signs out first, revoking at the provider).
    Remove { name: String },
    /// Import profiles from a JSON export (`-` reads stdin).
    Import {
        file: String,
        /// Replace profiles that already exist instead of refusing.
        #[arg(long)]
        replace: bool,
        /// Keep the profiles' browser commands (they run on sign-in: only for files you trust).
        #[arg(long)]
        allow_browser_command: bool,
    },
    /// Export profiles as JSON (all, or the named ones). Secrets are never exported.
    Export { names: Vec<String> },
    /// List the provider presets: what each needs, and what to register at the provider.
    Presets {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `pixie profile add --preset`: a known provider, and the few inputs it needs. The profile
/// flags given besides override what the preset sets.
#[derive(Args, Debug, Default)]
pub struct PresetArgs {
    /// Start from a provider preset: entra, google, github, gitlab, okta, auth0, keycloak or
    /// cognito (`pixie profile presets` says what each needs).
    #[arg(long, value_name = "ID")]
    pub(super) preset: Option<String>,
    /// The Microsoft Entra tenant (`--preset entra`): common, organizations, consumers, a tenant
    /// ID or a domain.
    #[arg(long, value_name = "TENANT", requires = "preset")]
    pub(super) tenant: Option<String>,
    /// The provider's host name (`--preset okta`, `auth0`), e.g. dev-123456.okta.com.
    #[arg(long, value_name = "DOMAIN", requires = "preset")]
    pub(super) domain: Option<String>,
    /// The provider's URL: a Keycloak realm, a Cognito user pool's issuer, an Okta custom
    /// authorization server, a self-managed GitLab or GitHub Enterprise, an Entra national cloud.
    #[arg(long, value_name = "URL", requires = "preset")]
    pub(super) base_url: Option<String>,
}

#[derive(Args, Debug, Default)]
pub struct ProfileFields {
    /// OpenID Connect / RFC 8414 issuer; endpoints are discovered from it.
    #[arg(long, value_name = "URL", conflicts_with_all = ["auth_url", "token_url"])]
    pub(super) issuer: Option<String>,
    /// Authorization endpoint (plain OAuth 2.0 servers).
    #[arg(long, value_name = "URL")]
    pub(super) auth_url: Option<String>,
    /// Token endpoint (plain OAuth 2.0 servers).
    #[arg(long, value_name = "URL")]
    pub(super) token_url: Option<String>,
    /// Revocation endpoint (RFC 7009), for explicit endpoints.
    #[arg(long, value_name = "URL")]
    pub(super) revocation_url: Option<String>,
    /// Userinfo endpoint, for explicit endpoints.
    #[arg(long, value_name = "URL")]
    pub(super) userinfo_url: Option<String>,
    /// The client id registered at the provider (required when adding).
    #[arg(long, value_name = "ID")]
    pub(super) client_id: Option<String>,
    /// Scopes, space-separated; may be repeated (default with --issuer: "openid offline_access
    /// profile email"; with --preset: the preset's).
    #[arg(long, value_name = "SCOPES")]
    pub(super) scope: Vec<String>,
    /// Extra authorization parameter (audience, resource, prompt, login_hint, acr_values, …).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_param)]
    pub(super) param: Vec<(String, String)>,
    /// Loopback redirect URI, e.g. http://127.0.0.1:8400/callback (default: http://127.0.0.1/callback on a free port).
    #[arg(long, value_name = "URI")]
    pub(super) redirect_uri: Option<String>,
    /// Browser command for this profile (used when $BROWSER is not set).
    #[arg(long, value_name = "CMD")]
    pub(super) browser: Option<String>,
    /// How a confidential client sends its secret: client_secret_basic (default) or client_secret_post.
    #[arg(long, value_name = "METHOD")]
    pub(super) client_auth: Option<String>,
    /// Device authorization endpoint (RFC 8628), for explicit endpoints.
    #[arg(long, value_name = "URL")]
    pub(super) device_url: Option<String>,
    /// How `pixie login` signs in for this profile: auto (default), browser, device or paste.
    #[arg(long = "sign-in-flow", value_name = "FLOW")]
    pub(super) flow: Option<String>,
    /// A PEM file of CA certificates to trust for this provider (a company or private CA);
    /// "" removes it.
    #[arg(long, value_name = "FILE")]
    pub(super) ca_file: Option<std::path::PathBuf>,
    /// Refuse a sign-in as anyone but this subject (the ID token's `sub`); "" removes it.
    #[arg(long, value_name = "SUB")]
    pub(super) expect_sub: Option<String>,
    /// Refuse a sign-in as anyone but this email (the ID token's `email`), and offer it to the
    /// provider as `login_hint`; "" removes it.
    #[arg(long, value_name = "EMAIL")]
    pub(super) expect_email: Option<String>,
    /// Also sign out of the provider in the browser at `pixie logout` (RP-Initiated Logout):
    /// true or false.
    #[arg(long, value_name = "BOOL")]
    pub(super) browser_logout: Option<bool>,
}

pub(super) fn parse_param(s: &str) -> std::result::Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))?;
    if k.is_empty() {
        return Err(format!("empty parameter name in `{s}`"));
    }
    Ok((k.to_owned(), v.to_owned()))
}

/// `pixie login --flow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FlowArg {
    /// Pick from the surroundings: a desktop gets the browser, a remote shell the device
    /// grant (or paste-back).
    Auto,
    /// This machine's browser and a loopback redirect.
    Browser,
    /// The device authorization grant: a code to enter on any device.
    Device,
    /// A browser elsewhere: paste back the address it lands on.
    Paste,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap checks a definition only as far as a run builds it; with deferred subcommands a
    /// mistake in one would show only when that command runs. This builds them all.
    #[test]
    fn every_command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_reach_deferred_subcommands() {
        for args in [
            &["pixie", "--no-agent", "token", "w"][..],
            &["pixie", "token", "w", "--no-agent"],
            &["pixie", "profile", "list", "--no-agent"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert!(cli.no_agent, "{args:?}");
        }
    }
}

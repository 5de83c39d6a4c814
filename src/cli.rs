//! The `pixie` command line: argument definitions (clap) and their translation into engine calls.
//! Results go to stdout; everything meant for a person goes to stderr.

use std::io::{BufRead, IsTerminal, Read};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use pixie::engine::{
    BrowserChoice, LoginEvent, LoginOptions, Revocation, SecretChange, SessionState, TokenWarning,
};
use pixie::profile::{ProfileFile, ProfileRecord};
use pixie::secret::SecretString;
use pixie::text::{json_terminal_safe as terminal_safe_json, terminal_safe};
use pixie::{Engine, Error, ErrorKind, Profile, Result};

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
  BROWSER                browser command(s), `:`-separated; `%s` is replaced by the URL";

/// Bound on the seconds a person may give (`--timeout`, `--min-valid`): a day.
const MAX_SECS: u64 = 86_400;

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
}

// Parsed once per process; the size difference is irrelevant.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
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
        /// Print the sign-in URL instead of opening a browser.
        #[arg(long)]
        no_browser: bool,
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
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// Add a profile.
    Add {
        /// A short name for the profile, used on the command line (letters, digits, - _ .).
        name: String,
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
}

#[derive(Args, Debug, Default)]
pub struct ProfileFields {
    /// OpenID Connect / RFC 8414 issuer; endpoints are discovered from it.
    #[arg(long, value_name = "URL", conflicts_with_all = ["auth_url", "token_url"])]
    issuer: Option<String>,
    /// Authorization endpoint (plain OAuth 2.0 servers).
    #[arg(long, value_name = "URL")]
    auth_url: Option<String>,
    /// Token endpoint (plain OAuth 2.0 servers).
    #[arg(long, value_name = "URL")]
    token_url: Option<String>,
    /// Revocation endpoint (RFC 7009), for explicit endpoints.
    #[arg(long, value_name = "URL")]
    revocation_url: Option<String>,
    /// Userinfo endpoint, for explicit endpoints.
    #[arg(long, value_name = "URL")]
    userinfo_url: Option<String>,
    /// The client id registered at the provider (required when adding).
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// Scopes, space-separated; may be repeated (default with --issuer: "openid offline_access").
    #[arg(long, value_name = "SCOPES")]
    scope: Vec<String>,
    /// Extra authorization parameter (audience, resource, prompt, login_hint, acr_values, …).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_param)]
    param: Vec<(String, String)>,
    /// Loopback redirect URI, e.g. http://127.0.0.1:8400/callback (default: http://127.0.0.1/callback on a free port).
    #[arg(long, value_name = "URI")]
    redirect_uri: Option<String>,
    /// Browser command for this profile (used when $BROWSER is not set).
    #[arg(long, value_name = "CMD")]
    browser: Option<String>,
    /// How a confidential client sends its secret: client_secret_basic (default) or client_secret_post.
    #[arg(long, value_name = "METHOD")]
    client_auth: Option<String>,
}

fn parse_param(s: &str) -> std::result::Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))?;
    if k.is_empty() {
        return Err(format!("empty parameter name in `{s}`"));
    }
    Ok((k.to_owned(), v.to_owned()))
}

pub fn exit_code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::Local => 1,
        ErrorKind::Invalid => 2,
        ErrorKind::SignInRequired => 3,
        ErrorKind::Provider => 4,
        ErrorKind::Keychain => 5,
        ErrorKind::ProfileFile => 6,
        ErrorKind::SignInIncomplete => 7,
    }
}

fn read_secret_stdin() -> Result<SecretString> {
    if std::io::stdin().is_terminal() {
        eprintln!("Client secret (input is not hidden; end with Enter):");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::InvalidProfile(format!("cannot read the client secret: {e}")))?;
    let secret = line.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        return Err(Error::InvalidProfile(
            "the client secret on stdin is empty".into(),
        ));
    }
    Ok(SecretString::from(secret))
}

fn json_out<T: serde::Serialize>(v: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| Error::Internal(format!("cannot write JSON: {e}")))?;
    // Claims and reasons come from the provider: escape what would drive the terminal.
    println!("{}", terminal_safe_json(&s));
    Ok(())
}

/// A provider's token or token type as printed bare (or into `curl -H "$(…)"`): only visible
/// ASCII, as RFC 6750's `b64token` and RFC 7230's `token` allow, so it can neither drive the
/// terminal nor add a header line.
fn bare<'a>(value: &'a str, what: &str) -> Result<&'a str> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(value)
    } else {
        Err(Error::ProviderError(format!(
            "the provider's {what} contains characters a bearer token cannot have; it is not printed (`--format json` shows it escaped)"
        )))
    }
}

/// Text that came from outside (a provider, a file), made safe to print.
fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    terminal_safe(s)
}

fn human_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    let (neg, s) = (s < 0, s.abs());
    let text = if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86400 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{:02}h", s / 86400, (s % 86400) / 3600)
    };
    if neg {
        format!("{text} ago")
    } else {
        format!("in {text}")
    }
}

fn split_scopes(list: &[String]) -> Vec<String> {
    list.iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect()
}

/// Applies command-line fields to a profile record (used by add and edit).
fn apply_fields(r: &mut ProfileRecord, f: ProfileFields) {
    if let Some(issuer) = f.issuer {
        r.issuer = Some(issuer);
        r.authorization_endpoint = None;
        r.token_endpoint = None;
        r.revocation_endpoint = None;
        r.userinfo_endpoint = None;
    }
    if f.auth_url.is_some() || f.token_url.is_some() {
        r.issuer = None;
    }
    let set = |slot: &mut Option<String>, v: Option<String>| {
        if let Some(v) = v {
            *slot = Some(v);
        }
    };
    set(&mut r.authorization_endpoint, f.auth_url);
    set(&mut r.token_endpoint, f.token_url);
    set(&mut r.revocation_endpoint, f.revocation_url);
    set(&mut r.userinfo_endpoint, f.userinfo_url);
    if let Some(id) = f.client_id {
        r.client_id = id;
    }
    if !f.scope.is_empty() {
        r.scopes = split_scopes(&f.scope);
    }
    r.params.extend(f.param);
    set(&mut r.redirect_uri, f.redirect_uri);
    set(&mut r.browser, f.browser);
    set(&mut r.client_auth, f.client_auth);
}

pub async fn run(cli: Cli) -> Result<()> {
    if let Command::Completions { shell } = cli.command {
        use clap::CommandFactory;
        clap_complete::generate(shell, &mut Cli::command(), "pixie", &mut std::io::stdout());
        return Ok(());
    }
    let engine = Engine::from_env()?;
    match cli.command {
        Command::Completions { .. } => Ok(()),
        Command::Profile(cmd) => profile_command(&engine, cmd).await,
        Command::Discover { issuer } => {
            let info = engine.discover(issuer.trim()).await?;
            json_out(&serde_json::json!({
                "source": info.source,
                "issuer": info.issuer,
                "authorization_endpoint": info.authorization_endpoint,
                "token_endpoint": info.token_endpoint,
                "revocation_endpoint": info.revocation_endpoint,
                "userinfo_endpoint": info.userinfo_endpoint,
                "jwks_uri": info.jwks_uri,
                "scopes_supported": info.scopes_supported,
                "code_challenge_methods_supported": info.code_challenge_methods_supported,
                "authorization_response_iss_parameter_supported": info.iss_parameter_supported,
            }))
        }
        Command::Login {
            name,
            no_browser,
            timeout,
        } => login(&engine, &name, no_browser, timeout).await,
        Command::Token {
            name,
            format,
            min_valid,
        } => {
            let t = engine.token(&name, Duration::from_secs(min_valid)).await?;
            if let Some(w) = &t.warning {
                token_warning(&name, w, t.expires_at);
            }
            match format {
                TokenFormat::Raw => println!("{}", bare(t.access_token.secret(), "access token")?),
                TokenFormat::Header => println!(
                    "Authorization: {} {}",
                    bare(&t.token_type, "token type")?,
                    bare(t.access_token.secret(), "access token")?
                ),
                TokenFormat::Json => json_out(&serde_json::json!({
                    "access_token": t.access_token.secret(),
                    "token_type": t.token_type,
                    "expires_at": t.expires_at,
                    "expires_in": t.expires_at.map(|e| (e - chrono::Utc::now()).num_seconds().max(0)),
                    "scopes": t.scopes,
                }))?,
            }
            Ok(())
        }
        Command::Claims { name } => match engine.claims(&name).await? {
            Some(view) => json_out(&view),
            None => Err(Error::InvalidProfile(format!(
                "`{name}` is signed in but has no ID token (plain OAuth 2.0, or the `openid` scope was not asked for)"
            ))),
        },
        Command::Status { name, json } => status(&engine, name, json).await,
        Command::Logout { name, no_revoke } => {
            let outcome = engine.logout(&name, !no_revoke).await?;
            say_revocation(&name, &outcome);
            Ok(())
        }
    }
}

/// The token endpoint on another host than the sign-in page: worth a second look.
fn split_endpoints_warning(p: &Profile) {
    if let Some((auth, token)) = p.split_endpoints() {
        eprintln!(
            "Warning: `{}` signs in at {} but sends the code and refresh tokens to {}; make sure both belong to your provider.",
            p.name,
            safe(&auth),
            safe(&token)
        );
    }
}

/// What sign-out (or removal) did at the provider, for a person.
fn say_revocation(name: &str, outcome: &Revocation) {
    match outcome {
        Revocation::Revoked => {
            eprintln!("Signed out of `{name}`; the provider revoked the refresh token.")
        }
        Revocation::Skipped => {
            eprintln!("Signed out of `{name}` locally (not revoked at the provider).")
        }
        Revocation::NotSupported => eprintln!(
            "Signed out of `{name}` locally; the provider has no revocation endpoint."
        ),
        Revocation::NothingToRevoke => {
            eprintln!("`{name}` was not signed in (nothing to revoke).")
        }
        Revocation::Unreadable => eprintln!(
            "The session stored for `{name}` was unreadable; it was deleted (not revoked at the provider)."
        ),
        Revocation::Failed(why) => eprintln!(
            "Signed out of `{name}` locally, but the provider did not confirm revocation ({}); the refresh token may stay valid there until it expires.",
            safe(why)
        ),
    }
}

/// What a person must know about a token that was handed out anyway.
fn token_warning(name: &str, w: &TokenWarning, expires_at: Option<chrono::DateTime<chrono::Utc>>) {
    let until = expires_at
        .map(|e| format!("expires {}", human_duration(e - chrono::Utc::now())))
        .unwrap_or_else(|| "has no stated expiry".into());
    match w {
        TokenWarning::RefreshBlocked { reason } => eprintln!(
            "Warning: sign-in required for `{name}` soon: {}. This access token {until}; then run `pixie login {name}`.",
            safe(reason)
        ),
        TokenWarning::NotStored {
            reason,
            refresh_token_lost: true,
        } => eprintln!(
            "Warning: the keychain would not store the refreshed tokens for `{name}` ({}). The provider has retired the stored refresh token and the new one is lost when this command ends: this access token {until}; then run `pixie login {name}`.",
            safe(reason)
        ),
        TokenWarning::NotStored { reason, .. } => eprintln!(
            "Warning: the keychain would not store the new access token for `{name}` ({}); the stored refresh token still works, so the next call refreshes again.",
            safe(reason)
        ),
    }
}

async fn login(engine: &Engine, name: &str, no_browser: bool, timeout: u64) -> Result<()> {
    let cancel = tokio_util::sync::CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Cancelling… (Ctrl-C again quits at once)");
            on_ctrl_c.cancel();
        }
        // Tokens may be in flight: the first Ctrl-C lets Pixie revoke them, a second one quits.
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
    let timeout_text = human_duration(chrono::Duration::seconds(timeout as i64));
    let events = std::sync::Arc::new(move |e: &LoginEvent| {
        match e {
        LoginEvent::BrowserOpened { .. } => eprintln!(
            "Continue in your browser. Waiting for it to return (Ctrl-C cancels; gives up {timeout_text})…"
        ),
        LoginEvent::OpenManually { url, reason } => {
            if let Some(r) = reason {
                eprintln!("Could not open a browser ({}).", safe(r));
            }
            eprintln!("Open this URL in a browser to sign in:\n\n  {url}\n\nWaiting (Ctrl-C cancels; gives up {timeout_text})…");
        }
        LoginEvent::CallbackReceived => eprintln!("The provider answered; finishing sign-in…"),
    }
    });
    let outcome = engine
        .login(
            name,
            LoginOptions {
                browser: if no_browser {
                    BrowserChoice::None
                } else {
                    BrowserChoice::System
                },
                timeout: Duration::from_secs(timeout),
                cancel,
                events: Some(events),
            },
        )
        .await?;
    let who = outcome
        .subject
        .as_deref()
        .map(|s| format!(" as {}", safe(s)))
        .unwrap_or_default();
    let lifetime = outcome
        .expires_at
        .map(|e| {
            format!(
                "; the access token expires {}",
                human_duration(e - chrono::Utc::now())
            )
        })
        .unwrap_or_default();
    eprintln!("Signed in to `{name}`{who}{lifetime}.");
    if !outcome.has_refresh_token {
        eprintln!("Note: the provider issued no refresh token, so you will have to sign in again when the access token expires (ask for the `offline_access` scope).");
    }
    if let Some(problem) = &outcome.id_token_problem {
        eprintln!(
            "Warning: the ID token could not be verified: {}. Its claims are shown as unverified.",
            safe(problem)
        );
    }
    Ok(())
}

async fn status(engine: &Engine, name: Option<String>, json: bool) -> Result<()> {
    let all = match name {
        Some(n) => vec![engine.status(&n).await?],
        None => engine.statuses().await?,
    };
    if json {
        return json_out(&all);
    }
    if all.is_empty() {
        eprintln!("No profiles yet. Add one with `pixie profile add`.");
    }
    let now = chrono::Utc::now();
    for s in all {
        let state = match s.state {
            SessionState::SignedOut => "signed out",
            SessionState::SignedIn => "signed in",
            SessionState::RefreshDue => "signed in (refresh due)",
            SessionState::SignInRequired => "sign-in required",
        };
        let mut line = format!("{:<20} {state}", s.profile);
        if let Some(sub) = &s.subject {
            line.push_str(&format!("  as {}", safe(sub)));
        }
        if let Some(e) = s.expires_at.filter(|_| s.state != SessionState::SignedOut) {
            line.push_str(&format!("  token expires {}", human_duration(e - now)));
        }
        if s.state != SessionState::SignedOut {
            line.push_str(if s.has_refresh_token {
                "  refresh token: yes"
            } else {
                "  refresh token: no"
            });
        }
        if let Some(r) = &s.reason {
            line.push_str(&format!("  ({})", safe(r)));
        }
        println!("{line}");
    }
    Ok(())
}

async fn profile_command(engine: &Engine, cmd: ProfileCommand) -> Result<()> {
    match cmd {
        ProfileCommand::Add {
            name,
            fields,
            client_secret_stdin,
        } => {
            let mut r = ProfileRecord {
                name,
                ..Default::default()
            };
            let default_scopes = fields.scope.is_empty() && fields.issuer.is_some();
            if fields.client_id.is_none() {
                return Err(Error::InvalidProfile("--client-id is required".into()));
            }
            apply_fields(&mut r, fields);
            if default_scopes {
                r.scopes = vec!["openid".into(), "offline_access".into()];
            }
            let profile = Profile::try_from(r)?;
            let secret = client_secret_stdin.then(read_secret_stdin).transpose()?;
            let name = profile.name.clone();
            let split = profile.split_endpoints().is_some().then(|| profile.clone());
            engine.add_profile(profile, secret).await?;
            eprintln!("Added profile `{name}`. Sign in with `pixie login {name}`.");
            if let Some(p) = split {
                split_endpoints_warning(&p);
            }
            Ok(())
        }
        ProfileCommand::Edit {
            name,
            fields,
            client_secret_stdin,
            no_client_secret,
            add_scope,
            remove_scope,
            unset_param,
        } => {
            let mut r = engine.profiles().get(&name)?.to_record();
            apply_fields(&mut r, fields);
            for s in split_scopes(&add_scope) {
                if !r.scopes.contains(&s) {
                    r.scopes.push(s);
                }
            }
            let remove = split_scopes(&remove_scope);
            r.scopes = split_scopes(&r.scopes)
                .into_iter()
                .filter(|s| !remove.contains(s))
                .collect();
            for k in unset_param {
                r.params.remove(&k);
            }
            let profile = Profile::try_from(r)?;
            let secret = if client_secret_stdin {
                SecretChange::Set(read_secret_stdin()?)
            } else if no_client_secret {
                SecretChange::Remove
            } else {
                SecretChange::Keep
            };
            let split = profile.split_endpoints().is_some().then(|| profile.clone());
            let dropped = engine.update_profile(profile, secret).await?;
            eprintln!("Updated profile `{name}`.");
            if let Some(p) = split {
                split_endpoints_warning(&p);
            }
            if dropped {
                eprintln!(
                    "Its client secret was deleted because the provider or client id changed; set the new one with `pixie profile edit {name} --client-secret-stdin`."
                );
            }
            Ok(())
        }
        ProfileCommand::List { json } => {
            let profiles = engine.profiles().list()?;
            if json {
                return json_out(&ProfileFile::from_profiles(&profiles).profiles);
            }
            if profiles.is_empty() {
                eprintln!("No profiles yet. Add one with `pixie profile add`.");
            }
            for p in profiles {
                let provider = match &p.provider {
                    pixie::profile::Provider::Issuer { issuer } => issuer.to_string(),
                    pixie::profile::Provider::Endpoints { token, .. } => token.to_string(),
                };
                // The file may have come from an import: its text is shown, not obeyed.
                println!(
                    "{:<20} {}  client {}",
                    p.name,
                    safe(&provider),
                    safe(&p.client_id)
                );
            }
            Ok(())
        }
        ProfileCommand::Show { name } => json_out(&engine.profiles().get(&name)?.to_record()),
        ProfileCommand::Remove { name } => {
            let revocation = engine.remove_profile(&name).await?;
            if revocation != Revocation::NothingToRevoke {
                say_revocation(&name, &revocation);
            }
            eprintln!("Removed profile `{name}` and its keychain entries.");
            Ok(())
        }
        ProfileCommand::Import {
            file,
            replace,
            allow_browser_command,
        } => {
            let text = if file == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| Error::InvalidProfile(format!("cannot read stdin: {e}")))?;
                s
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| Error::InvalidProfile(format!("cannot read {file}: {e}")))?
            };
            let incoming = ProfileFile::parse_export(&text, &file)?;
            let report = engine
                .import_profiles(incoming, replace, allow_browser_command)
                .await?;
            eprintln!("Imported {} profile(s).", report.imported);
            for name in &report.browser_dropped {
                eprintln!(
                    "`{name}`: its browser command was not imported (it would run on sign-in); use --allow-browser-command to keep it."
                );
            }
            for (name, before, after) in &report.endpoints_changed {
                eprintln!(
                    "`{name}` now points elsewhere:\n  was  {}\n  now  {}",
                    safe(before),
                    safe(after)
                );
            }
            for name in &report.split_endpoints {
                if let Ok(p) = engine.profiles().get(name) {
                    split_endpoints_warning(&p);
                }
            }
            for name in &report.secret_needed {
                eprintln!(
                    "`{name}` needs its client secret: `pixie profile edit {name} --client-secret-stdin`."
                );
            }
            Ok(())
        }
        ProfileCommand::Export { names } => {
            let all = engine.profiles().list()?;
            for n in &names {
                if !all.iter().any(|p| p.name.as_str() == n) {
                    return Err(Error::UnknownProfile(n.clone()));
                }
            }
            let chosen: Vec<Profile> = all
                .into_iter()
                .filter(|p| names.is_empty() || names.iter().any(|n| n == p.name.as_str()))
                .collect();
            json_out(&ProfileFile::from_profiles(&chosen))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_visible_ascii_tokens_are_printed_bare() {
        assert!(super::bare("eyJ.abc-_~+/=", "t").is_ok());
        for bad in ["", "a b", "a\r\nX-Evil: 1", "a\u{1b}[2J", "café"] {
            assert!(super::bare(bad, "t").is_err(), "{bad:?}");
        }
    }
}

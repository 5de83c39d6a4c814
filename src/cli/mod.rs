//! The `pixie` command line: argument definitions (clap) and their translation into engine calls.
//! Results go to stdout; everything meant for a person goes to stderr. One file per command
//! group; `output` holds what they print with.

/// `println!` for results on stdout. A reader that went away (`pixie profile presets --json |
/// head`) ends the process quietly with the status a SIGPIPE death gives, as for other Unix
/// tools, instead of a panic: Rust ignores SIGPIPE, and `unsafe` (to restore it) is forbidden.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::output::write_line(format_args!($($arg)*))
    };
}

mod agent;
mod args;
mod exec_credential;
mod git;
mod kube;
mod login;
mod output;
mod profile;
mod status;
mod token;

pub use args::Cli;
pub use output::fail_with;

use args::Command;
use output::json_out;
use pixie::{Engine, Error, Result};

/// Runs `work` on a single-threaded async runtime started for it. Only the commands that wait
/// on the network, the keychain or a person start one: a token from a running broker needs
/// none, and the runtime would cost more to start than that whole exchange takes.
pub(crate) fn block_on<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start: {e}")))?;
    let result = runtime.block_on(work);
    // Don't wait for stray blocking tasks (e.g. a browser reaper) at exit.
    runtime.shutdown_background();
    result
}

pub fn run(cli: Cli) -> Result<()> {
    // Only the commands that need it open the engine (completions work anywhere).
    let engine = Engine::from_env;
    let source = agent::Source::new(cli.no_agent);
    match cli.command {
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "pixie", &mut std::io::stdout());
            Ok(())
        }
        Command::Profile(cmd) => {
            block_on(async { profile::profile_command(&engine()?, cmd).await })
        }
        Command::Discover { issuer } => block_on(async {
            let info = engine()?.discover(issuer.trim()).await?;
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
        }),
        Command::Login {
            name,
            no_browser,
            flow,
            timeout,
        } => {
            let flow = if no_browser {
                args::FlowArg::Paste
            } else {
                flow
            };
            block_on(async { login::login(&engine()?, &name, flow, timeout).await })
        }
        Command::Token {
            name,
            format,
            min_valid,
        } => token::token(&source, &name, format, min_valid),
        Command::Claims { name } => match source.claims(&name)? {
            Some(view) => json_out(&view),
            None => Err(Error::invalid(format!(
                "`{name}` is signed in but has no ID token (plain OAuth 2.0, or the `openid` \
                 scope was not asked for)"
            ))),
        },
        Command::Kubeconfig {
            name,
            server,
            ca_file,
            cluster,
            user,
            context,
        } => block_on(async {
            kube::kubeconfig(
                &engine()?,
                kube::KubeconfigArgs {
                    profile: &name,
                    server: &server,
                    ca_file: ca_file.as_deref(),
                    cluster: cluster.as_deref(),
                    user: user.as_deref(),
                    context: context.as_deref(),
                },
            )
        }),
        Command::GitCredential {
            profile,
            username,
            operation,
        } => git::git_credential(&source, &profile, &username, &operation),
        Command::Status { name, json } => status::status(&source, name, json),
        Command::Agent => block_on(agent::serve()),
        Command::Logout {
            name,
            no_revoke,
            browser,
        } => block_on(async { login::logout(&engine()?, &name, !no_revoke, browser).await }),
    }
}

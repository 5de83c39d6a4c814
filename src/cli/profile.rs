//! `pixie profile …`: add, edit, list, show, remove, import, export, presets.

use std::io::{BufRead, IsTerminal, Read};

use pixie::engine::{Revocation, SecretChange};
use pixie::profile::presets::{self, Preset, PresetInput};
use pixie::profile::{ProfileFile, ProfileRecord};
use pixie::SecretString;
use pixie::{Engine, Error, Profile, Result};

use super::args::{PresetArgs, ProfileCommand, ProfileFields};
use super::output::{json_out, safe, say_revocation, split_endpoints_warning};

fn read_secret_stdin() -> Result<SecretString> {
    if std::io::stdin().is_terminal() {
        eprintln!("Client secret (input is not hidden; end with Enter):");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::invalid(format!("cannot read the client secret: {e}")))?;
    let secret = line.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        return Err(Error::invalid("the client secret on stdin is empty"));
    }
    Ok(SecretString::from(secret))
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
        r.device_authorization_endpoint = None;
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
    set(&mut r.device_authorization_endpoint, f.device_url);
    set(&mut r.flow, f.flow);
    // "" clears an optional setting; a relative CA path is taken from where the command runs.
    let clearable = |slot: &mut Option<String>, v: Option<String>| {
        if let Some(v) = v {
            *slot = Some(v).filter(|v| !v.trim().is_empty());
        }
    };
    clearable(
        &mut r.ca_file,
        f.ca_file.map(|p| match p.as_os_str().is_empty() {
            true => String::new(),
            false => std::path::absolute(&p).unwrap_or(p).display().to_string(),
        }),
    );
    clearable(&mut r.expect_sub, f.expect_sub);
    clearable(&mut r.expect_email, f.expect_email);
    if let Some(b) = f.browser_logout {
        r.browser_logout = b;
    }
}

/// The record a preset makes of its inputs, or an empty one without a preset.
fn preset_record(args: PresetArgs) -> Result<(ProfileRecord, Option<&'static Preset>)> {
    let Some(id) = args.preset else {
        return Ok((ProfileRecord::default(), None));
    };
    let preset = presets::find(&id)?;
    let input = PresetInput {
        tenant: args.tenant,
        domain: args.domain,
        base_url: args.base_url,
    };
    Ok((preset.record(&input)?, Some(preset)))
}

/// `pixie profile presets`: each preset, what to pass and what to register.
fn list_presets(json: bool) -> Result<()> {
    if json {
        return json_out(&presets::all());
    }
    for p in presets::all() {
        outln!("{:<9} {}", p.id, p.name);
        outln!("          pass:     {}", p.usage);
        outln!(
            "          register: {}; redirect URI: {}",
            p.client_type,
            p.register_redirect_uri
        );
        if p.needs_client_secret {
            outln!("          secret:   --client-secret-stdin (kept in the keychain)");
        }
        for note in p.notes {
            outln!("          - {note}");
        }
    }
    Ok(())
}

pub(super) async fn profile_command(engine: &Engine, cmd: ProfileCommand) -> Result<()> {
    match cmd {
        ProfileCommand::Add {
            name,
            preset,
            fields,
            client_secret_stdin,
        } => {
            let (mut r, preset) = preset_record(preset)?;
            r.name = name;
            let default_scopes =
                fields.scope.is_empty() && fields.issuer.is_some() && preset.is_none();
            if fields.client_id.is_none() {
                return Err(Error::invalid_field(
                    pixie::profile::ProfileField::ClientId,
                    "--client-id is required",
                ));
            }
            apply_fields(&mut r, fields);
            if default_scopes {
                r.scopes = Profile::DEFAULT_SCOPES
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
            }
            let profile = Profile::try_from(r)?;
            let secret = client_secret_stdin.then(read_secret_stdin).transpose()?;
            let name = profile.name.clone();
            let split = profile.split_endpoints().is_some().then(|| profile.clone());
            let redirect = profile.redirect.to_string();
            engine.add_profile(profile, secret).await?;
            eprintln!("Added profile `{name}`. Sign in with `pixie login {name}`.");
            if let Some(p) = preset {
                eprintln!(
                    "At {}, register: {}, redirect URI {redirect}.",
                    p.name, p.client_type
                );
                if p.needs_client_secret && !client_secret_stdin {
                    eprintln!(
                        "{} wants the client secret: set it with `pixie profile edit {name} \
                         --client-secret-stdin`.",
                        p.name
                    );
                }
            }
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
                    "Its client secret was deleted because the provider or client id changed; \
                     set the new one with `pixie profile edit {name} --client-secret-stdin`."
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
                outln!(
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
                    .map_err(|e| Error::invalid(format!("cannot read stdin: {e}")))?;
                s
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| Error::invalid(format!("cannot read {file}: {e}")))?
            };
            let incoming = ProfileFile::parse_export(&text, &file)?;
            let report = engine
                .import_profiles(incoming, replace, allow_browser_command)
                .await?;
            eprintln!("Imported {} profile(s).", report.imported);
            for name in &report.browser_dropped {
                eprintln!(
                    "`{name}`: its browser command was not imported (it would run on sign-in); \
                     use --allow-browser-command to keep it."
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
                    "`{name}` needs its client secret: `pixie profile edit {name} \
                     --client-secret-stdin`."
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
        ProfileCommand::Presets { json } => list_presets(json),
    }
}

//! `nself db schema sync`: keep nself/schema.dbml and a dbdiagram.io diagram in step.
//!
//! What to do is decided from three texts' hashes: the local file, the diagram's content and the
//! content of the last sync (kept in `.nself/dbdiagram.json` with the diagram's id). A side that
//! changed since the last sync is never overwritten without `--force`; the DBML is checked with
//! our compiler before a push (errors stop it); empty content is never pushed or pulled.

use super::context::{self, Global};
use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::dbdiagram::{self, ApiError, Client, Decision};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum Action {
    /// Push or pull, whichever side alone changed since the last sync (the default).
    Sync,
    /// Send the local file to the diagram.
    Push,
    /// Write the diagram's content into the local file.
    Pull,
    /// Say what `sync` would do; change nothing.
    Status,
}

#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    #[arg(value_enum, default_value_t = Action::Sync)]
    pub action: Action,
    /// The workspace API token (default: DBDIAGRAM_TOKEN from the environment or .env). Never
    /// printed.
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The diagram, by id or by name (default: the one synced last). A push to a name that no
    /// diagram has creates it.
    #[arg(long, value_name = "ID|NAME")]
    pub diagram: Option<String>,
    /// The DBML file (default: nself/schema.dbml).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Overwrite the other side even though it changed since the last sync.
    #[arg(long)]
    pub force: bool,
    /// The API (default: DBDIAGRAM_API_URL, else https://api.dbdiagram.io/v1).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize, Default, Debug)]
struct State {
    diagram_id: String,
    diagram_name: String,
    api_url: String,
    /// SHA-256 of the content both sides held after the last sync.
    synced_sha256: String,
}

fn state_path(project: &Path) -> PathBuf {
    project.join(".nself").join("dbdiagram.json")
}

fn read_state(project: &Path) -> Option<State> {
    let bytes = crate::fsx::read_regular(&state_path(project)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_state(project: &Path, state: &State) -> std::io::Result<()> {
    let dir = project.join(".nself");
    crate::fsx::create_dir_ignored(&dir)?;
    let text = serde_json::to_string_pretty(state).map_err(std::io::Error::other)? + "\n";
    crate::fsx::replace_contents(&state_path(project), text.as_bytes())
}

pub fn sync(global: &Global, args: SyncArgs) -> i32 {
    let config = match context::load(global) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let project = config.project_dir.clone();
    let token = match args
        .token
        .clone()
        .or_else(|| config.var("DBDIAGRAM_TOKEN").map(String::from))
    {
        Some(t) if !t.trim().is_empty() => t.trim().to_string(),
        _ => {
            errln!("error: no dbdiagram token: pass --token or set DBDIAGRAM_TOKEN (in the environment or .env); workspace owners create one under \"API Tokens\"");
            return EXIT_USAGE;
        }
    };
    let api = args
        .api_url
        .clone()
        .or_else(|| config.var("DBDIAGRAM_API_URL").map(String::from))
        .unwrap_or_else(|| dbdiagram::DEFAULT_API_URL.to_string());
    let file = args.file.clone().unwrap_or_else(|| config.schema_file());
    let label = file
        .strip_prefix(&project)
        .unwrap_or(&file)
        .display()
        .to_string();
    let state = read_state(&project).filter(|s| s.api_url == api);
    let client = Client::new(&api, &token);
    match run(&client, &args, &project, &file, &label, state, &api) {
        Ok(code) => code,
        Err(message) => {
            errln!("error: {message}");
            EXIT_FAILURE
        }
    }
}

/// The local file's text; a missing file is empty.
fn local_text(file: &Path, label: &str) -> Result<String, String> {
    match crate::fsx::read_regular(file) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| format!("{label} is not UTF-8")),
        Err(crate::fsx::OpenError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(String::new())
        }
        Err(e) => Err(format!("cannot read {label}: {e}")),
    }
}

/// The diagram to sync with: `--diagram` (an id, else a name), else the last synced one.
fn find(
    client: &Client,
    wanted: Option<&str>,
    state: Option<&State>,
) -> Result<Option<dbdiagram::Summary>, String> {
    let Some(wanted) = wanted.or(state.map(|s| s.diagram_id.as_str())) else {
        return Ok(None);
    };
    let all = client.list().map_err(|e| e.to_string())?;
    if let Some(d) = all.iter().find(|d| d.id == wanted) {
        return Ok(Some(d.clone()));
    }
    let named: Vec<_> = all.iter().filter(|d| d.name == wanted).collect();
    match named.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(format!(
            "{} diagrams are named `{wanted}`: pass --diagram with one of their ids ({})",
            many.len(),
            many.iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    client: &Client,
    args: &SyncArgs,
    project: &Path,
    file: &Path,
    label: &str,
    state: Option<State>,
    api: &str,
) -> Result<i32, String> {
    let local = local_text(file, label)?;
    let target = find(client, args.diagram.as_deref(), state.as_ref())?;
    let remote = match &target {
        Some(t) => Some(
            client
                .get(&t.id)
                .map_err(|e| format!("diagram {}: {e}", t.id))?,
        ),
        None => None,
    };
    // The last sync counts only for the diagram it was with.
    let base = state
        .as_ref()
        .filter(|s| remote.as_ref().is_some_and(|r| r.id == s.diagram_id))
        .map(|s| s.synced_sha256.clone());
    let local_hash = dbdiagram::sha256(&local);
    let Some(remote) = remote else {
        // No diagram yet: only a push can make one.
        // The last synced diagram's name when it is gone, else the project folder's.
        let name = args
            .diagram
            .clone()
            .or_else(|| state.as_ref().map(|s| s.diagram_name.clone()))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| default_name(project));
        return match args.action {
            Action::Status => {
                outln!("Diagram: none named `{name}` yet (push creates it)");
                outln!("Action:  push");
                Ok(EXIT_OK)
            }
            Action::Pull => Err(format!("no diagram `{name}` to pull from")),
            Action::Push | Action::Sync => {
                check_before_push(&local, file, label)?;
                let created = client.create(&name, &local).map_err(|e| match e {
                    ApiError::RateLimited(_) => format!("{e}; nothing was created"),
                    ApiError::Network(_) => format!("{e}; the diagram may or may not have been created: run `nself db schema sync status --diagram {name}`"),
                    other => other.to_string(),
                })?;
                save(project, &created.id, &name, api, &local_hash)?;
                outln!(
                    "Pushed {label} to a new diagram `{name}` (id {})",
                    created.id
                );
                Ok(EXIT_OK)
            }
        };
    };
    let remote_hash = dbdiagram::sha256(&remote.content);
    let decision = dbdiagram::decide(&local_hash, &remote_hash, base.as_deref());
    let what = match decision {
        Decision::UpToDate => "up to date",
        Decision::Push => "the local file changed since the last sync",
        Decision::Pull => "the diagram changed since the last sync",
        Decision::Conflict => "both changed since the last sync",
        Decision::Unrelated => "never synced, and the two differ",
    };
    match args.action {
        Action::Status => {
            outln!("Diagram: {} (id {})", remote.name, remote.id);
            outln!("Local:   {label}");
            outln!("State:   {what}");
            let action = match decision {
                Decision::UpToDate => "nothing to do",
                Decision::Push => "push",
                Decision::Pull => "pull",
                Decision::Conflict | Decision::Unrelated => {
                    "none without a choice: `sync push --force` or `sync pull --force`"
                }
            };
            outln!("Action:  {action}");
            Ok(EXIT_OK)
        }
        _ if decision == Decision::UpToDate => {
            save(project, &remote.id, &remote.name, api, &local_hash)?;
            outln!("{label} and diagram `{}` are in step", remote.name);
            Ok(EXIT_OK)
        }
        Action::Sync => match decision {
            Decision::Push => push(client, &remote, &local, file, label, project, api),
            Decision::Pull => pull(&remote, file, label, project, api),
            _ => {
                errln!(
                    "error: {what}: nothing changed. Choose: `nself db schema sync push --force` (the diagram gets {label}) or `nself db schema sync pull --force` ({label} gets the diagram)"
                );
                Ok(EXIT_FAILURE)
            }
        },
        Action::Push => {
            if decision != Decision::Push && !args.force {
                errln!("error: the diagram `{}` changed since the last sync ({what}); pushing would overwrite it. Pull first, or pass --force", remote.name);
                return Ok(EXIT_FAILURE);
            }
            push(client, &remote, &local, file, label, project, api)
        }
        Action::Pull => {
            if decision != Decision::Pull && !args.force {
                errln!("error: {label} changed since the last sync ({what}); pulling would overwrite it. Push first, or pass --force");
                return Ok(EXIT_FAILURE);
            }
            pull(&remote, file, label, project, api)
        }
    }
}

fn default_name(project: &Path) -> String {
    project
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "schema".into())
}

fn save(project: &Path, id: &str, name: &str, api: &str, hash: &str) -> Result<(), String> {
    write_state(
        project,
        &State {
            diagram_id: id.to_string(),
            diagram_name: name.to_string(),
            api_url: api.to_string(),
            synced_sha256: hash.to_string(),
        },
    )
    .map_err(|e| format!("cannot record the sync in .nself/dbdiagram.json: {e}"))
}

/// Empty content or DBML with errors is never pushed.
fn check_before_push(local: &str, file: &Path, label: &str) -> Result<(), String> {
    if local.trim().is_empty() {
        return Err(format!("{label} is empty (or missing): nothing to push"));
    }
    let project = crate::ir::load_project_bytes(file, label.to_string(), local.as_bytes());
    if project.has_errors() {
        let mut err = crate::out::stderr();
        let _ = crate::diag::render_human(
            &project.sources,
            &project.diagnostics[..],
            super::stderr_color(),
            &mut err,
        );
        let (e, _) = project.counts();
        return Err(format!(
            "{label} has {e} error(s): not pushed (`nself db schema check {label}` shows them)"
        ));
    }
    Ok(())
}

fn push(
    client: &Client,
    remote: &dbdiagram::Diagram,
    local: &str,
    file: &Path,
    label: &str,
    project: &Path,
    api: &str,
) -> Result<i32, String> {
    check_before_push(local, file, label)?;
    let mut tries = 0;
    loop {
        match client.replace(&remote.id, &remote.name, local) {
            Ok(()) => break,
            // Refused before it was applied: wait as told, make sure the diagram is still what
            // we decided on, and only then send again.
            Err(ApiError::RateLimited(wait)) if tries < 3 && wait <= dbdiagram::MAX_WAIT => {
                tries += 1;
                errln!(
                    "dbdiagram's rate limit: waiting {} s",
                    wait.as_secs().max(1)
                );
                std::thread::sleep(wait);
                let now = client.get(&remote.id).map_err(|e| e.to_string())?;
                if now.content != remote.content {
                    return Err(format!("the diagram `{}` changed while waiting: nothing was pushed; run the sync again", remote.name));
                }
            }
            Err(e @ ApiError::Network(_)) => {
                return Err(format!("{e}; the push may or may not have reached dbdiagram (not retried): run `nself db schema sync status`"));
            }
            Err(e) => return Err(format!("{e}; nothing was pushed")),
        }
    }
    save(
        project,
        &remote.id,
        &remote.name,
        api,
        &dbdiagram::sha256(local),
    )?;
    outln!("Pushed {label} to diagram `{}`", remote.name);
    Ok(EXIT_OK)
}

fn pull(
    remote: &dbdiagram::Diagram,
    file: &Path,
    label: &str,
    project: &Path,
    api: &str,
) -> Result<i32, String> {
    if remote.content.trim().is_empty() {
        return Err(format!(
            "the diagram `{}` is empty: {label} was left as it was",
            remote.name
        ));
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    crate::fsx::replace_contents(file, remote.content.as_bytes())
        .map_err(|e| format!("cannot write {label}: {e} (it is unchanged)"))?;
    save(
        project,
        &remote.id,
        &remote.name,
        api,
        &dbdiagram::sha256(&remote.content),
    )?;
    outln!("Pulled diagram `{}` into {label}", remote.name);
    let checked = crate::ir::load_project_bytes(file, label.to_string(), remote.content.as_bytes());
    let (e, w) = checked.counts();
    if e + w > 0 {
        errln!("note: {label} now has {e} error(s), {w} warning(s): `nself db schema check {label}` shows them");
    }
    Ok(EXIT_OK)
}

//! What mock inserted, recorded in the project's local state: `.nself/mock.json`.
//!
//! For each database (keyed by the server's system identifier, the database's oid and name,
//! so a recreated database is another key), the runs that filled it: the inserting
//! transaction's id (the `xmin` of every row it inserted), the seed, the counts, and the state
//! of the tables' sequences before the run. Nothing is recorded in the database itself: mock
//! adds no table, no comment and no setting, so a schema diff or a dump never sees it. The
//! record is written before the run commits, so a crash after the commit cannot lose it; a run
//! that did not commit leaves a record whose rows do not exist, which `--clear` finds empty.

use super::run::SeqState;
use postgres::GenericClient;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub databases: BTreeMap<String, Vec<Run>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Run {
    /// The inserting transaction's id, as `xmin` prints it.
    pub transaction: String,
    pub seed: u64,
    /// Rows inserted per table (`schema.table`).
    pub rows: BTreeMap<String, u64>,
    /// The sequences of the filled tables before the run.
    pub sequences: Vec<SeqState>,
}

/// `.nself/mock.json` of the project.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("mock.json")
}

/// The record, or an empty one when there is none yet.
pub fn load(path: &Path) -> Result<State, String> {
    match crate::fsx::read_regular(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: {e}; remove the file to start afresh", path.display())),
        Err(crate::fsx::OpenError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(State::default())
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes the record whole (a new file renamed over the old one).
pub fn save(path: &Path, state: &State) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::fsx::create_dir_ignored(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
    let text = serde_json::to_string_pretty(state).map_err(|e| e.to_string())? + "\n";
    let write = (|| {
        let mut f = crate::fsx::create_new(&tmp, 0o644)?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    write.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

/// The key of the connected database in the record.
pub fn database_key(client: &mut impl GenericClient) -> Result<String, postgres::Error> {
    let row = client.query_one(
        "SELECT (SELECT system_identifier::text FROM pg_catalog.pg_control_system()), \
                d.oid::bigint, d.datname::text \
         FROM pg_catalog.pg_database d WHERE d.datname = current_database()",
        &[],
    )?;
    let system: Option<String> = row.get(0);
    let oid: i64 = row.get(1);
    let name: String = row.get(2);
    Ok(format!("{}/{oid}/{name}", system.unwrap_or_default()))
}

//! Applying, rolling back and reconciling migrations: the plan (what is applied, pending,
//! modified, missing, dirty), `up`, `down`, `repair`, and dropping the managed schemas' objects
//! for `fresh`.
//!
//! Each statement is sent on its own through the extended protocol (which refuses more than one
//! statement per message), so the first failure stops everything and is reported at its file
//! line, and the server's error position is mapped to a column. Inside a transaction the runner
//! opened, a [`TxGuard`] proves after every statement that the transaction is still the same. A transactional migration runs as `BEGIN; statements; INSERT tracking row;
//! COMMIT`; anything failing rolls all of it back. A `-- nself:no-transaction` migration is
//! recorded dirty first, runs statement by statement, and is marked clean at the end.

use super::file::{Migration, Step};
use super::script;
use super::tracking::{self, Applied, TableName, Tracking};
use super::{MigrateError, StatementError};
use postgres::{Client, GenericClient};
use std::collections::BTreeMap;
use std::time::Instant;

/// How a runner talks to the database.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub table: TableName,
    /// `lock_timeout` for the session (`5s`, `500ms`): also bounds waiting for another runner.
    pub lock_timeout: Option<String>,
    /// `statement_timeout` for the session.
    pub statement_timeout: Option<String>,
}

/// What a runner reports as it goes.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// Another runner holds the lock; waiting for it.
    Waiting,
    Applying(&'a Migration),
    Applied(&'a Migration, i64),
    RollingBack(&'a Migration),
    RolledBack(&'a Migration, i64),
    /// A row from an older nself got the checksum of its file.
    Adopted(&'a Migration),
}

/// The state of one version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Status {
    Applied,
    Pending,
    /// Applied, but the file changed since.
    Modified,
    /// Applied, but the file is gone.
    Missing,
    /// Marked dirty: a migration outside a transaction failed or was interrupted.
    Failed,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Applied => "Applied",
            Status::Pending => "Pending",
            Status::Modified => "Modified",
            Status::Missing => "Missing",
            Status::Failed => "Failed (dirty)",
        }
    }
}

/// One version in the plan.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub version: u64,
    pub name: String,
    /// The version as written in the file name, else zero-padded to three digits.
    pub version_text: String,
    pub status: Status,
    pub file: Option<&'a Migration>,
    pub applied: Option<Applied>,
    /// Pending, but older than the newest applied version.
    pub out_of_order: bool,
}

/// Every file and every tracking row, matched by version. Pure.
pub fn plan<'a>(files: &'a [Migration], rows: &[Applied]) -> Vec<Entry<'a>> {
    let mut by_version: BTreeMap<u64, (Option<&'a Migration>, Option<&Applied>)> = BTreeMap::new();
    for m in files {
        by_version.entry(m.version).or_default().0 = Some(m);
    }
    for r in rows {
        by_version.entry(r.version).or_default().1 = Some(r);
    }
    let newest_applied = rows.iter().map(|r| r.version).max();
    by_version
        .into_iter()
        .map(|(version, (file, row))| {
            let status = match (file, row) {
                (_, Some(r)) if !r.success => Status::Failed,
                (None, Some(_)) => Status::Missing,
                (Some(f), Some(r)) => match &r.checksum {
                    Some(c) if *c != f.checksum => Status::Modified,
                    _ => Status::Applied,
                },
                _ => Status::Pending,
            };
            Entry {
                version,
                name: file
                    .map(|f| f.name.clone())
                    .or_else(|| row.map(|r| r.name.clone()))
                    .unwrap_or_default(),
                version_text: file
                    .map(|f| f.version_text.clone())
                    .unwrap_or_else(|| format!("{version:03}")),
                status,
                file,
                applied: row.cloned(),
                out_of_order: status == Status::Pending
                    && newest_applied.is_some_and(|n| n > version),
            }
        })
        .collect()
}

/// The server's message for a failed call (without the driver's "db error:" prefix).
pub fn server_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => d.message().to_string(),
        None => {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text.push_str(": ");
                text.push_str(&c.to_string());
                cause = c.source();
            }
            text
        }
    }
}

/// Locates a failed statement's error in its file.
pub fn locate(file: &str, text: &str, step: &Step, e: &postgres::Error) -> StatementError {
    let db = e.as_db_error();
    let verbatim = text
        .get(step.offset..)
        .is_some_and(|t| t.starts_with(&step.sql));
    let (line, column) = match db.and_then(|d| d.position()) {
        Some(postgres::error::ErrorPosition::Original(p)) if verbatim => {
            let at = step.offset + script::char_offset(&step.sql, *p as usize);
            let line = script::line_of(text, at);
            let line_start = text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
            (line, Some(text[line_start..at].chars().count() + 1))
        }
        _ => (step.line, None),
    };
    StatementError {
        file: file.to_string(),
        line,
        column,
        source_line: text
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or("")
            .to_string(),
        message: server_message(e),
        code: db.map(|d| d.code().code().to_string()),
        detail: db.and_then(|d| d.detail().map(str::to_string)),
        hint: db.and_then(|d| d.hint().map(str::to_string)).or_else(|| {
            // 25001: CREATE INDEX CONCURRENTLY, VACUUM, ALTER TYPE … ADD VALUE on old servers.
            (db.map(|d| d.code().code()) == Some("25001")).then(|| {
                format!(
                    "this statement cannot run inside a transaction: put it in a migration of its \
                     own with a `-- {}` line",
                    super::file::NO_TRANSACTION
                )
            })
        }),
    }
}

/// Why a section stopped.
#[derive(Debug)]
pub enum StepError {
    /// The server rejected a statement.
    Failed(Box<StatementError>),
    /// A statement ended the transaction the runner opened (it committed or rolled back on
    /// its own): what ran before it may be committed.
    Escaped(Box<StatementError>),
}

impl StepError {
    /// The runner's error for it: `what` names the migration or seed; `dirty` says whether a
    /// failed statement leaves the migration dirty (outside a transaction); `recorded` whether
    /// an escaped migration was recorded dirty in the tracking table.
    pub fn into_error(self, what: &str, dirty: bool, recorded: bool) -> MigrateError {
        match self {
            StepError::Failed(error) => MigrateError::Statement {
                what: what.to_string(),
                error,
                dirty,
            },
            StepError::Escaped(error) => MigrateError::Escaped {
                what: what.to_string(),
                error,
                recorded_dirty: recorded,
            },
        }
    }

    pub fn statement(&self) -> &StatementError {
        match self {
            StepError::Failed(e) | StepError::Escaped(e) => e,
        }
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Failed(e) => e.fmt(f),
            StepError::Escaped(e) => write!(
                f,
                "{e}\nthis statement ended the transaction nself opened (it committed or rolled \
                 back on its own)"
            ),
        }
    }
}

/// Proof that the transaction the runner opened is still the one open: its transaction id,
/// taken (which assigns one) before the first statement of the section that is not a leading
/// `SET TRANSACTION` (which must come before any query), and compared with
/// `txid_current_if_assigned()` after every statement. A statement that commits or rolls
/// back leaves no id assigned (or another one), so it cannot go unnoticed.
#[derive(Debug, Default)]
pub struct TxGuard {
    xid: Option<i64>,
}

impl TxGuard {
    pub fn new() -> TxGuard {
        TxGuard { xid: None }
    }

    fn take(&mut self, client: &mut impl GenericClient) -> Result<(), postgres::Error> {
        if self.xid.is_none() {
            let id: i64 = client.query_one("SELECT txid_current()", &[])?.get(0);
            self.xid = Some(id);
        }
        Ok(())
    }

    /// Whether the transaction is still the one taken.
    fn holds(&self, client: &mut impl GenericClient) -> Result<bool, postgres::Error> {
        let Some(xid) = self.xid else {
            return Ok(true);
        };
        let now: Option<i64> = client
            .query_one("SELECT txid_current_if_assigned()", &[])?
            .get(0);
        Ok(now == Some(xid))
    }
}

/// `SET TRANSACTION …` (the runner's replacement for a file's `BEGIN` with modes): it must
/// run before any query of the transaction, so before the guard takes its id. One statement
/// (the extended protocol refuses more) that starts so cannot end a transaction.
fn sets_transaction_modes(sql: &str) -> bool {
    let mut w = sql.split_ascii_whitespace();
    w.next().is_some_and(|x| x.eq_ignore_ascii_case("SET"))
        && w.next()
            .is_some_and(|x| x.eq_ignore_ascii_case("TRANSACTION"))
}

/// Sends one statement through the extended protocol (Parse/Bind/Execute with the unnamed
/// statement), which the server refuses when the text holds more than one statement: what
/// runs is exactly the statement the splitter found. Rows are read and dropped one by one.
pub fn send(client: &mut impl GenericClient, sql: &str) -> Result<(), postgres::Error> {
    use postgres::fallible_iterator::FallibleIterator;
    let none: [(&(dyn postgres::types::ToSql + Sync), postgres::types::Type); 0] = [];
    let mut rows = client.query_typed_raw(sql, none)?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Sends a section's statements one by one; the first failure stops. With a `guard` (inside a
/// transaction the runner opened), every statement is checked not to have ended it.
pub fn run_steps(
    client: &mut impl GenericClient,
    file: &str,
    text: &str,
    steps: &[Step],
    mut guard: Option<&mut TxGuard>,
) -> Result<(), StepError> {
    let own =
        |step: &Step, e: postgres::Error| StepError::Failed(Box::new(locate(file, text, step, &e)));
    for step in steps {
        if let Some(g) = guard.as_deref_mut() {
            if g.xid.is_none() && !sets_transaction_modes(&step.sql) {
                g.take(client).map_err(|e| own(step, e))?;
            }
        }
        send(client, &step.sql).map_err(|e| own(step, e))?;
        if let Some(g) = guard.as_deref() {
            let holds = g.holds(client).map_err(|e| own(step, e))?;
            if !holds {
                let mut error = locate_step(file, text, step);
                error.message = "this statement ended the transaction nself opened".into();
                return Err(StepError::Escaped(Box::new(error)));
            }
        }
    }
    Ok(())
}

/// A step's place in its file, without a server error.
fn locate_step(file: &str, text: &str, step: &Step) -> StatementError {
    StatementError {
        file: file.to_string(),
        line: step.line,
        column: None,
        source_line: text
            .lines()
            .nth(step.line.saturating_sub(1))
            .unwrap_or("")
            .to_string(),
        message: String::new(),
        code: None,
        detail: None,
        hint: None,
    }
}

fn ms_since(start: Instant) -> i64 {
    i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// Options of `migrate up`.
#[derive(Clone, Copy, Debug, Default)]
pub struct UpOptions {
    /// Apply at most this many.
    pub limit: Option<usize>,
    pub allow_out_of_order: bool,
}

/// One change `repair` makes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Repair {
    /// Record the file's current checksum (a modified file, or a row from an older nself).
    AcceptChecksum {
        version: String,
        name: String,
        old: Option<String>,
        new: String,
    },
    /// Mark a dirty migration as applied (after it was fixed by hand).
    ClearDirty { version: String, name: String },
    /// Record a pending file as applied without running it.
    MarkApplied { version: String, name: String },
    /// Forget an applied version so that it runs again.
    MarkPending { version: String, name: String },
}

impl std::fmt::Display for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Repair::AcceptChecksum { version, name, old: Some(_), .. } => write!(
                f,
                "{version}_{name}: accept the file as it is now (its checksum changed since it was applied)"
            ),
            Repair::AcceptChecksum { version, name, old: None, .. } => write!(
                f,
                "{version}_{name}: record the file's checksum (the row predates checksums)"
            ),
            Repair::ClearDirty { version, name } => write!(
                f,
                "{version}_{name}: clear the dirty mark and record it as applied"
            ),
            Repair::MarkApplied { version, name } => write!(
                f,
                "{version}_{name}: mark as applied without running it"
            ),
            Repair::MarkPending { version, name } => write!(
                f,
                "{version}_{name}: mark as pending (its tracking row is removed; nothing is rolled back)"
            ),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

/// A connection holding the migration lock, with the tracking table ready.
pub struct Runner<'c> {
    client: &'c mut Client,
    pub tracking: Tracking,
}

impl<'c> Runner<'c> {
    /// Applies the session settings, takes the lock (waiting for another runner if needed),
    /// and creates or upgrades the tracking table.
    pub fn start(
        client: &'c mut Client,
        settings: &Settings,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Runner<'c>, MigrateError> {
        apply_settings(client, settings)?;
        tracking::lock(client, &mut || progress(Progress::Waiting))?;
        let tracking = Tracking::ensure(client, &settings.table)?;
        Ok(Runner { client, tracking })
    }

    pub fn rows(&mut self) -> Result<Vec<Applied>, MigrateError> {
        self.tracking.rows(self.client)
    }

    /// Releases the lock (closing the connection would too).
    pub fn finish(self) -> Result<(), MigrateError> {
        tracking::unlock(self.client)
    }

    /// Applies pending migrations in version order. Refuses, before running anything, when an
    /// applied file changed, a migration is dirty, or a pending one is older than the newest
    /// applied one (unless allowed).
    pub fn up<'m>(
        &mut self,
        files: &'m [Migration],
        options: UpOptions,
        progress: &mut dyn FnMut(Progress<'m>),
    ) -> Result<Vec<&'m Migration>, MigrateError> {
        let rows = self.rows()?;
        let entries = plan(files, &rows);
        blockers(&entries, options.allow_out_of_order, "applying migrations")?;
        // Rows from an older nself have no checksum: adopt the file's.
        for e in &entries {
            if let (Some(f), Some(a)) = (e.file, &e.applied) {
                if a.checksum.is_none() && a.success {
                    self.tracking
                        .update(self.client, &a.raw_version, &f.checksum, None, true)?;
                    progress(Progress::Adopted(f));
                }
            }
        }
        let pending: Vec<&'m Migration> = entries
            .iter()
            .filter(|e| e.status == Status::Pending)
            .filter_map(|e| e.file)
            .take(options.limit.unwrap_or(usize::MAX))
            .collect();
        for m in &pending {
            progress(Progress::Applying(m));
            let ms = self.execute(m, Direction::Up)?;
            progress(Progress::Applied(m, ms));
        }
        Ok(pending)
    }

    /// Runs one section of a migration with its tracking change: `BEGIN; statements; insert
    /// (up) or delete (down) the row; COMMIT`, or, outside a transaction, marked dirty first.
    fn execute(&mut self, m: &Migration, direction: Direction) -> Result<i64, MigrateError> {
        let up = direction == Direction::Up;
        let (steps, what) = if up {
            (&m.up.steps, format!("migration {}", m.id()))
        } else {
            let down = m.down.as_ref().ok_or_else(|| {
                MigrateError::Usage(format!("{} has no DOWN section", m.file_name))
            })?;
            (&down.steps, format!("rolling back migration {}", m.id()))
        };
        // The row as stored (an older table may keep `1` or `001`).
        let raw = if up {
            m.version_text.clone()
        } else {
            self.rows()?
                .into_iter()
                .find(|r| r.version == m.version)
                .map(|r| r.raw_version)
                .unwrap_or_else(|| m.version_text.clone())
        };
        let t = self.tracking.clone();
        let start = Instant::now();
        if m.no_transaction {
            if up {
                t.insert(self.client, &raw, &m.name, &m.checksum, None, false)?;
            } else {
                t.update(self.client, &raw, &m.checksum, None, false)?;
            }
            run_steps(self.client, &m.file_name, &m.text, steps, None)
                .map_err(|e| e.into_error(&what, true, true))?;
            let ms = ms_since(start);
            if up {
                t.update(self.client, &raw, &m.checksum, Some(ms), true)?;
            } else {
                t.delete(self.client, &raw)?;
            }
            return Ok(ms);
        }
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| MigrateError::db("starting a transaction", &e))?;
        let mut guard = TxGuard::new();
        if let Err(e) = run_steps(&mut tx, &m.file_name, &m.text, steps, Some(&mut guard)) {
            if let StepError::Escaped(_) = e {
                // Something of the migration may be committed: record it dirty (outside the
                // ended transaction) so that nothing runs on top of it until someone looked.
                drop(tx);
                let recorded = if up {
                    t.insert(self.client, &raw, &m.name, &m.checksum, None, false)
                } else {
                    t.update(self.client, &raw, &m.checksum, None, false)
                };
                return Err(e.into_error(&what, false, recorded.is_ok()));
            }
            return Err(e.into_error(&what, false, false));
        }
        if !guard
            .holds(&mut tx)
            .map_err(|e| MigrateError::db("checking the transaction", &e))?
        {
            return Err(MigrateError::Tracking {
                message: format!("{what}: the transaction ended before its tracking row"),
            });
        }
        let ms = ms_since(start);
        if up {
            t.insert(&mut tx, &raw, &m.name, &m.checksum, Some(ms), true)?;
        } else {
            t.delete(&mut tx, &raw)?;
        }
        tx.commit()
            .map_err(|e| MigrateError::db(&format!("committing {what}"), &e))?;
        Ok(ms)
    }

    /// Applies every pending migration and its tracking row in ONE transaction (`db update`),
    /// then runs `verify` inside that same transaction before committing: if any migration or
    /// the verification fails, nothing is kept. Refuses, before running anything, the same
    /// states `up` refuses, and any pending `-- nself:no-transaction` migration (it cannot run
    /// inside a transaction). `pending` receives the list before anything runs; `after_each`
    /// runs in the transaction after each migration (the CLI uses it to make enum values added
    /// by one migration usable by the next).
    pub fn up_atomic<'m>(
        &mut self,
        files: &'m [Migration],
        pending_seen: &mut dyn FnMut(&[&'m Migration]),
        progress: &mut dyn FnMut(Progress<'m>),
        after_each: &mut dyn FnMut(&mut postgres::Transaction<'_>) -> Result<(), MigrateError>,
        verify: &mut dyn FnMut(&mut postgres::Transaction<'_>) -> Result<(), MigrateError>,
    ) -> Result<Vec<&'m Migration>, MigrateError> {
        let rows = self.rows()?;
        let pending = update_plan(files, &rows, pending_seen)?;
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| MigrateError::db("starting the update transaction", &e))?;
        let mut guard = TxGuard::new();
        for m in &pending {
            progress(Progress::Applying(m));
            let start = Instant::now();
            run_steps(
                &mut tx,
                &m.file_name,
                &m.text,
                &m.up.steps,
                Some(&mut guard),
            )
            .map_err(|e| e.into_error(&format!("migration {}", m.id()), false, false))?;
            after_each(&mut tx)?;
            let ms = ms_since(start);
            self.tracking.insert(
                &mut tx,
                &m.version_text,
                &m.name,
                &m.checksum,
                Some(ms),
                true,
            )?;
            progress(Progress::Applied(m, ms));
        }
        verify(&mut tx)?;
        if !guard
            .holds(&mut tx)
            .map_err(|e| MigrateError::db("checking the update transaction", &e))?
        {
            return Err(MigrateError::Tracking {
                message: "the update's transaction ended before it was committed; it is not committed by nself".into(),
            });
        }
        tx.commit()
            .map_err(|e| MigrateError::db("committing the update", &e))?;
        Ok(pending)
    }

    /// Rolls back the `count` newest applied migrations, newest first. Checks all of them
    /// (file present, unchanged, with a DOWN section) before running any.
    pub fn down<'m>(
        &mut self,
        files: &'m [Migration],
        count: usize,
        progress: &mut dyn FnMut(Progress<'m>),
    ) -> Result<Vec<&'m Migration>, MigrateError> {
        let rows = self.rows()?;
        let entries = plan(files, &rows);
        let dirty: Vec<String> = entries
            .iter()
            .filter(|e| e.status == Status::Failed)
            .map(|e| {
                format!(
                    "{}_{} is marked dirty (failed or interrupted)",
                    e.version_text, e.name
                )
            })
            .collect();
        if !dirty.is_empty() {
            return Err(MigrateError::Blocked {
                reasons: dirty,
                next: "Fix the database by hand, then run `nself db migrate repair` before rolling back.".into(),
            });
        }
        let targets: Vec<&Entry> = entries
            .iter()
            .rev()
            .filter(|e| e.applied.is_some())
            .take(count)
            .collect();
        let mut reasons = Vec::new();
        let mut chosen = Vec::new();
        for e in &targets {
            let id = format!("{}_{}", e.version_text, e.name);
            match (e.status, e.file) {
                (Status::Missing, _) | (_, None) => reasons.push(format!(
                    "{id} is applied but its file is missing, so there is no DOWN section to run"
                )),
                (Status::Modified, _) => reasons.push(format!(
                    "{id}.sql changed since it was applied; run `nself db migrate repair` to accept it first"
                )),
                (_, Some(f)) if f.down.is_none() => reasons.push(format!(
                    "{} has no DOWN section (or an empty one), so it cannot be rolled back; add \
                     one after a `-- DOWN` line, or write a new migration that undoes it",
                    f.file_name
                )),
                (_, Some(f)) => chosen.push(f),
            }
        }
        if !reasons.is_empty() {
            return Err(MigrateError::Blocked {
                reasons,
                next: "Nothing was rolled back.".into(),
            });
        }
        for m in &chosen {
            progress(Progress::RollingBack(m));
            let ms = self.execute(m, Direction::Down)?;
            progress(Progress::RolledBack(m, ms));
        }
        Ok(chosen)
    }

    /// What `repair` would change. With no marks: accept every changed checksum (and record
    /// missing ones) and clear every dirty mark. With marks: only those.
    pub fn repair_plan(
        &mut self,
        files: &[Migration],
        mark_applied: &[u64],
        mark_pending: &[u64],
    ) -> Result<Vec<Repair>, MigrateError> {
        let rows = self.rows()?;
        let entries = plan(files, &rows);
        let find = |v: u64| entries.iter().find(|e| e.version == v);
        let mut out = Vec::new();
        for &v in mark_applied {
            match find(v) {
                Some(e) if e.status == Status::Pending => out.push(Repair::MarkApplied {
                    version: e.version_text.clone(),
                    name: e.name.clone(),
                }),
                Some(e) => {
                    return Err(MigrateError::Usage(format!(
                        "--mark-applied {v}: {}_{} is {}, not pending",
                        e.version_text,
                        e.name,
                        e.status.label()
                    )))
                }
                None => {
                    return Err(MigrateError::Usage(format!(
                        "--mark-applied {v}: no migration file has version {v}"
                    )))
                }
            }
        }
        for &v in mark_pending {
            match find(v) {
                Some(e) if e.applied.is_some() => out.push(Repair::MarkPending {
                    version: e.version_text.clone(),
                    name: e.name.clone(),
                }),
                _ => {
                    return Err(MigrateError::Usage(format!(
                        "--mark-pending {v}: version {v} is not recorded as applied"
                    )))
                }
            }
        }
        if !mark_applied.is_empty() || !mark_pending.is_empty() {
            return Ok(out);
        }
        for e in &entries {
            let (Some(f), Some(a)) = (e.file, &e.applied) else {
                continue;
            };
            if !a.success {
                out.push(Repair::ClearDirty {
                    version: e.version_text.clone(),
                    name: e.name.clone(),
                });
            } else if a.checksum.as_deref() != Some(f.checksum.as_str()) {
                out.push(Repair::AcceptChecksum {
                    version: e.version_text.clone(),
                    name: e.name.clone(),
                    old: a.checksum.clone(),
                    new: f.checksum.clone(),
                });
            }
        }
        Ok(out)
    }

    /// Carries out a repair plan in one transaction.
    pub fn repair(&mut self, files: &[Migration], plan_: &[Repair]) -> Result<(), MigrateError> {
        let rows = self.rows()?;
        let raw = |version: &str| -> String {
            let v = version.parse::<u64>().ok();
            rows.iter()
                .find(|r| Some(r.version) == v)
                .map(|r| r.raw_version.clone())
                .unwrap_or_else(|| version.to_string())
        };
        let file = |version: &str| {
            let v = version.parse::<u64>().ok();
            files.iter().find(|f| Some(f.version) == v)
        };
        let tracking = self.tracking.clone();
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| MigrateError::db("starting a transaction", &e))?;
        for r in plan_ {
            match r {
                Repair::AcceptChecksum { version, new, .. } => {
                    tracking.update(&mut tx, &raw(version), new, None, true)?
                }
                Repair::ClearDirty { version, .. } => {
                    let sum = file(version)
                        .map(|f| f.checksum.clone())
                        .unwrap_or_default();
                    tracking.update(&mut tx, &raw(version), &sum, None, true)?
                }
                Repair::MarkApplied { version, name } => {
                    let sum = file(version)
                        .map(|f| f.checksum.clone())
                        .unwrap_or_default();
                    tracking.insert(&mut tx, version, name, &sum, None, true)?
                }
                Repair::MarkPending { version, .. } => tracking.delete(&mut tx, &raw(version))?,
            }
        }
        tx.commit()
            .map_err(|e| MigrateError::db("committing the repair", &e))
    }

    /// Drops every object in `schemas` (and the tracking table) in one transaction.
    pub fn drop_all(&mut self, schemas: &[String]) -> Result<usize, MigrateError> {
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| MigrateError::db("starting a transaction", &e))?;
        let n = drop_objects(&mut tx, schemas)?;
        tx.batch_execute(&format!(
            "DROP TABLE IF EXISTS {}",
            self.tracking.table.sql()
        ))
        .map_err(|e| MigrateError::db("dropping the tracking table", &e))?;
        tx.commit()
            .map_err(|e| MigrateError::db("committing the drop", &e))?;
        self.tracking = Tracking::ensure(self.client, &self.tracking.table)?;
        Ok(n)
    }
}

/// The pending migrations of `db update` (also shown to `pending_seen`), or why it is refused
/// before it changes anything: the refusals of `up`, and a pending `-- nself:no-transaction`
/// migration (it cannot run inside the update's one transaction). `db update` asks this before
/// it makes its backup, and [`Runner::up_atomic`] again under the lock.
pub fn update_plan<'m>(
    files: &'m [Migration],
    rows: &[Applied],
    pending_seen: &mut dyn FnMut(&[&'m Migration]),
) -> Result<Vec<&'m Migration>, MigrateError> {
    let entries = plan(files, rows);
    blockers(&entries, false, "updating the database")?;
    let pending: Vec<&'m Migration> = entries
        .iter()
        .filter(|e| e.status == Status::Pending)
        .filter_map(|e| e.file)
        .collect();
    pending_seen(&pending);
    let outside: Vec<String> = pending
        .iter()
        .filter(|m| m.no_transaction)
        .map(|m| m.file_name.clone())
        .collect();
    if !outside.is_empty() {
        return Err(MigrateError::Blocked {
            reasons: outside
                .iter()
                .map(|f| format!("{f} is marked `-- nself:no-transaction`: it cannot run inside the single transaction of `db update`"))
                .collect(),
            next: "Nothing was done. Apply the migrations up to and including it with `nself db migrate up N` (each in its own transaction, the marked one outside any), then run `nself db update` again.".into(),
        });
    }
    Ok(pending)
}

/// The refusals shared by `up` (and `db update` later): dirty, modified, out of order.
pub fn blockers(
    entries: &[Entry],
    allow_out_of_order: bool,
    doing: &str,
) -> Result<(), MigrateError> {
    let mut reasons = Vec::new();
    for e in entries {
        let id = format!("{}_{}", e.version_text, e.name);
        match e.status {
            Status::Failed => reasons.push(format!(
                "{id} is marked dirty: it ran outside a transaction and failed or was interrupted"
            )),
            Status::Modified => reasons.push(format!(
                "{id}.sql changed since it was applied (checksum {} recorded, {} now)",
                short(e.applied.as_ref().and_then(|a| a.checksum.as_deref())),
                short(e.file.map(|f| f.checksum.as_str()))
            )),
            Status::Pending if e.out_of_order && !allow_out_of_order => {
                let newest = entries
                    .iter()
                    .filter(|x| x.applied.is_some())
                    .map(|x| format!("{}_{}", x.version_text, x.name))
                    .next_back()
                    .unwrap_or_default();
                reasons.push(format!(
                    "{id}.sql is pending but older than the newest applied migration {newest}"
                ))
            }
            _ => {}
        }
    }
    if reasons.is_empty() {
        return Ok(());
    }
    let dirty = entries.iter().any(|e| e.status == Status::Failed);
    let modified = entries.iter().any(|e| e.status == Status::Modified);
    let mut next = vec![format!("Nothing was done while {doing}.")];
    if dirty {
        next.push("For a dirty migration: fix the database by hand, then run `nself db migrate repair` (or `nself db migrate repair --mark-pending V` to run it again).".into());
    }
    if modified {
        next.push("For a changed file: restore it, or run `nself db migrate repair` to accept the new contents (the changes are not applied; write a new migration for them).".into());
    }
    if entries.iter().any(|e| e.out_of_order) && !allow_out_of_order {
        next.push("For an out-of-order file: renumber it after the newest applied migration, or pass --allow-out-of-order to apply it anyway.".into());
    }
    Err(MigrateError::Blocked {
        reasons,
        next: next.join("\n"),
    })
}

fn short(sum: Option<&str>) -> String {
    sum.map(|s| s.chars().take(12).collect())
        .unwrap_or_else(|| "none".into())
}

/// Applies `lock_timeout` and `statement_timeout` to the session (values are bound).
pub fn apply_settings(client: &mut Client, settings: &Settings) -> Result<(), MigrateError> {
    for (name, value) in [
        ("lock_timeout", &settings.lock_timeout),
        ("statement_timeout", &settings.statement_timeout),
    ] {
        if let Some(v) = value {
            client
                .execute("SELECT set_config($1, $2, false)", &[&name, v])
                .map_err(|e| {
                    MigrateError::Usage(format!("{name} {v:?}: {}", server_message(&e)))
                })?;
        }
    }
    Ok(())
}

/// Drops every object in `schemas` that belongs to no extension: views, tables, sequences,
/// routines, types, domains, then extensions installed there. The schemas themselves stay (with
/// their owners and grants). Returns how many objects were dropped.
pub fn drop_objects(
    client: &mut impl GenericClient,
    schemas: &[String],
) -> Result<usize, MigrateError> {
    let (objects, sql) = drop_script(client, schemas)?;
    if !sql.is_empty() {
        client
            .batch_execute(&sql)
            .map_err(|e| MigrateError::db("dropping the managed schemas' objects", &e))?;
    }
    Ok(objects.len())
}

/// What [`drop_objects`] would drop, without dropping it: each object as `KIND name`, and the
/// `DROP … CASCADE;` script (`db restore --clean` runs it in the restore's own transaction).
pub fn drop_script(
    client: &mut impl GenericClient,
    schemas: &[String],
) -> Result<(Vec<String>, String), MigrateError> {
    let rows = client
        .query(
            "WITH ext AS (SELECT objid, classid FROM pg_depend WHERE deptype = 'e') \
             SELECT kind, nsp, name, args FROM ( \
               SELECT 1 AS ord, CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' \
                      WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind, \
                      n.nspname::text AS nsp, c.relname::text AS name, NULL::text AS args \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') \
                  AND NOT c.relispartition \
                  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.objid = c.oid AND ext.classid = 'pg_class'::regclass) \
               UNION ALL \
               SELECT 2, 'ROUTINE', n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid) \
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                WHERE n.nspname = ANY($1) \
                  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.objid = p.oid AND ext.classid = 'pg_proc'::regclass) \
               UNION ALL \
               SELECT 3, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, n.nspname::text, t.typname::text, NULL \
                 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
                WHERE n.nspname = ANY($1) AND t.typtype IN ('e', 'd', 'r', 'c') \
                  AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c') \
                  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.objid = t.oid AND ext.classid = 'pg_type'::regclass) \
               UNION ALL \
               SELECT 4, 'EXTENSION', NULL, e.extname::text, NULL \
                 FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
                WHERE n.nspname = ANY($1) \
             ) objects ORDER BY ord, nsp, name",
            &[&schemas],
        )
        .map_err(|e| MigrateError::db("listing the objects to drop", &e))?;
    let mut sql = String::new();
    let mut objects = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind: String = r.get(0);
        let nsp: Option<String> = r.get(1);
        let name: String = r.get(2);
        let args: Option<String> = r.get(3);
        let target = match &nsp {
            Some(n) => crate::sql::QualifiedName::new(n.as_str(), name.as_str()).to_string(),
            None => crate::sql::quote_ident(&name).into_owned(),
        };
        // Identity arguments come from the server's catalog, already in SQL syntax.
        let args = args.map(|a| format!("({a})")).unwrap_or_default();
        sql.push_str(&format!("DROP {kind} IF EXISTS {target}{args} CASCADE;\n"));
        objects.push(format!("{kind} {target}{args}"));
    }
    Ok((objects, sql))
}

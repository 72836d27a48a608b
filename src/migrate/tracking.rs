//! The tracking table (`public.schema_migrations` by default) and the runners' advisory lock.
//!
//! The table is created on first use and an older nself table (only `version` and
//! `applied_at`) is upgraded in place with `ADD COLUMN IF NOT EXISTS`, never dropped. Reading
//! never creates or changes anything, so `migrate status` is read-only. Versions are read as
//! text and written through a cast to whatever type the `version` column has, so an old table
//! with a text version column keeps working.

use super::MigrateError;
use crate::sql::{quote_ident, QualifiedName};
use postgres::types::ToSql;
use postgres::GenericClient;

/// The session advisory lock every runner takes (`pg_advisory_lock`): "nself_mg" in ASCII.
/// Advisory locks are per database, so runners on different databases never wait for each
/// other.
pub const LOCK_KEY: i64 = 0x6e73_656c_665f_6d67;

/// Where the tracking table lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableName {
    pub schema: String,
    pub name: String,
}

impl Default for TableName {
    fn default() -> Self {
        TableName {
            schema: "public".into(),
            name: "schema_migrations".into(),
        }
    }
}

impl TableName {
    pub fn sql(&self) -> String {
        QualifiedName::new(self.schema.as_str(), self.name.as_str()).to_string()
    }
}

/// The tracking table as found in the database.
#[derive(Clone, Debug)]
pub struct Tracking {
    pub table: TableName,
    /// The `version` column's type as `format_type` prints it (`bigint`, or `character
    /// varying(255)` in an old table).
    version_type: String,
    columns: Vec<String>,
}

/// One row of the tracking table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    pub version: u64,
    /// The `version` value as stored, for updates and deletes.
    #[serde(skip)]
    pub raw_version: String,
    pub name: String,
    /// `None` in rows from an older nself, which kept no checksum.
    pub checksum: Option<String>,
    /// `YYYY-MM-DD HH:MI` in the server's time zone.
    pub applied_at: String,
    /// The time in Unix seconds (`None` without an `applied_at` column): JSON shows it as RFC
    /// 3339 in UTC, like every time nself prints as JSON.
    pub applied_unix: Option<i64>,
    pub execution_ms: Option<i64>,
    /// `false` while a migration outside a transaction is running or after it failed.
    pub success: bool,
}

const COLUMNS: [(&str, &str); 6] = [
    ("version", "bigint PRIMARY KEY"),
    ("name", "text NOT NULL DEFAULT ''"),
    ("checksum", "text"),
    ("applied_at", "timestamptz NOT NULL DEFAULT now()"),
    ("execution_ms", "bigint"),
    ("success", "boolean NOT NULL DEFAULT true"),
];

fn db(doing: &str) -> impl Fn(postgres::Error) -> MigrateError + '_ {
    move |e| MigrateError::db(doing, &e)
}

impl Tracking {
    /// The table if it exists; never creates or changes anything.
    pub fn inspect(
        client: &mut impl GenericClient,
        table: &TableName,
    ) -> Result<Option<Tracking>, MigrateError> {
        let rows = client
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) \
                   FROM pg_attribute a \
                   JOIN pg_class c ON c.oid = a.attrelid \
                   JOIN pg_namespace n ON n.oid = c.relnamespace \
                  WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') \
                    AND a.attnum > 0 AND NOT a.attisdropped \
                  ORDER BY a.attnum",
                &[&table.schema, &table.name],
            )
            .map_err(db("reading the tracking table's columns"))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let columns: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let version_type = rows
            .iter()
            .find(|r| r.get::<_, String>(0) == "version")
            .map(|r| r.get::<_, String>(1))
            .ok_or_else(|| MigrateError::Tracking {
                message: format!(
                    "{} exists but has no `version` column; it is not a migrations table nself \
                     can use (rename it, or set NSELF_MIGRATIONS_TABLE to another name)",
                    table.sql()
                ),
            })?;
        Ok(Some(Tracking {
            table: table.clone(),
            version_type,
            columns,
        }))
    }

    /// The table, created on first use or upgraded in place from an older nself table.
    pub fn ensure(
        client: &mut impl GenericClient,
        table: &TableName,
    ) -> Result<Tracking, MigrateError> {
        let doing = "creating the tracking table";
        if table.schema != "public" {
            client
                .batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {}",
                    quote_ident(&table.schema)
                ))
                .map_err(db(doing))?;
        }
        match Tracking::inspect(client, table)? {
            None => {
                let cols: Vec<String> = COLUMNS
                    .iter()
                    .map(|(n, t)| format!("{} {t}", quote_ident(n)))
                    .collect();
                client
                    .batch_execute(&format!(
                        "CREATE TABLE IF NOT EXISTS {} ({})",
                        table.sql(),
                        cols.join(", ")
                    ))
                    .map_err(db(doing))?;
            }
            Some(t) => {
                let missing: Vec<String> = COLUMNS
                    .iter()
                    .filter(|(n, _)| !t.columns.iter().any(|c| c == n))
                    .map(|(n, ty)| {
                        format!(
                            "ADD COLUMN IF NOT EXISTS {} {}",
                            quote_ident(n),
                            ty.trim_end_matches(" PRIMARY KEY")
                        )
                    })
                    .collect();
                if missing.is_empty() {
                    return Ok(t);
                }
                client
                    .batch_execute(&format!(
                        "ALTER TABLE {} {}",
                        table.sql(),
                        missing.join(", ")
                    ))
                    .map_err(db("upgrading the tracking table from an older nself"))?;
            }
        }
        Tracking::inspect(client, table)?.ok_or_else(|| MigrateError::Tracking {
            message: format!("{} vanished right after it was created", table.sql()),
        })
    }

    fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }

    /// A column in a SELECT list, or NULL when an old table lacks it.
    fn col(&self, column: &str, otherwise: &str) -> String {
        if self.has(column) {
            quote_ident(column).into_owned()
        } else {
            otherwise.to_string()
        }
    }

    /// Every row, by version.
    pub fn rows(&self, client: &mut impl GenericClient) -> Result<Vec<Applied>, MigrateError> {
        let applied_at = if self.has("applied_at") {
            "to_char(applied_at, 'YYYY-MM-DD HH24:MI'), \
             floor(extract(epoch FROM applied_at))::bigint"
        } else {
            "'-', NULL::bigint"
        };
        let sql = format!(
            "SELECT version::text, coalesce({name}::text, ''), {checksum}::text, {applied_at}, \
                    {ms}::bigint, coalesce({success}::boolean, true) \
               FROM {table}",
            name = self.col("name", "NULL"),
            checksum = self.col("checksum", "NULL"),
            ms = self.col("execution_ms", "NULL"),
            success = self.col("success", "NULL"),
            table = self.table.sql()
        );
        let rows = client
            .query(&sql, &[])
            .map_err(db("reading the tracking table"))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let raw: String = r.get(0);
            let digits: String = raw.chars().take_while(char::is_ascii_digit).collect();
            let version = digits.parse::<u64>().map_err(|_| MigrateError::Tracking {
                message: format!(
                    "{} has a row with version {raw:?}, which does not start with a number; \
                     fix or delete that row",
                    self.table.sql()
                ),
            })?;
            let mut name: String = r.get(1);
            if name.is_empty() {
                // Older tables sometimes stored `001_create_users` as the version.
                name = raw[digits.len()..].trim_start_matches('_').to_string();
            }
            out.push(Applied {
                version,
                raw_version: raw,
                name,
                checksum: r.get(2),
                applied_at: r.get(3),
                applied_unix: r.get(4),
                execution_ms: r.get(5),
                success: r.get(6),
            });
        }
        out.sort_by_key(|a| a.version);
        Ok(out)
    }

    /// Records a migration (inside the caller's transaction, when there is one).
    pub fn insert(
        &self,
        client: &mut impl GenericClient,
        version_text: &str,
        name: &str,
        checksum: &str,
        execution_ms: Option<i64>,
        success: bool,
    ) -> Result<(), MigrateError> {
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, applied_at, execution_ms, success) \
             VALUES (CAST($1::text AS {}), $2, $3, now(), $4, $5)",
            self.table.sql(),
            self.version_type
        );
        let params: [&(dyn ToSql + Sync); 5] =
            [&version_text, &name, &checksum, &execution_ms, &success];
        client
            .execute(&sql, &params)
            .map_err(db("recording the migration in the tracking table"))?;
        Ok(())
    }

    /// Updates a row's checksum, success flag and (when given) execution time.
    pub fn update(
        &self,
        client: &mut impl GenericClient,
        raw_version: &str,
        checksum: &str,
        execution_ms: Option<i64>,
        success: bool,
    ) -> Result<(), MigrateError> {
        let sql = format!(
            "UPDATE {} SET checksum = $2, success = $3, \
                    execution_ms = coalesce($4, execution_ms) \
              WHERE version = CAST($1::text AS {})",
            self.table.sql(),
            self.version_type
        );
        client
            .execute(&sql, &[&raw_version, &checksum, &success, &execution_ms])
            .map_err(db("updating the tracking table"))?;
        Ok(())
    }

    pub fn delete(
        &self,
        client: &mut impl GenericClient,
        raw_version: &str,
    ) -> Result<(), MigrateError> {
        let sql = format!(
            "DELETE FROM {} WHERE version = CAST($1::text AS {})",
            self.table.sql(),
            self.version_type
        );
        client
            .execute(&sql, &[&raw_version])
            .map_err(db("removing the migration from the tracking table"))?;
        Ok(())
    }
}

/// Takes the runners' session lock, waiting for another runner if one holds it (bounded by
/// the session's `lock_timeout`, when set). `waiting` is called once before a wait.
///
/// The wait polls `pg_try_advisory_lock` (with a backoff from 5 ms up to 100 ms) instead of
/// blocking in `pg_advisory_lock`: a blocked query keeps a transaction and a snapshot open
/// for as long as it waits, and the lock holder's `CREATE INDEX CONCURRENTLY` waits for every
/// such transaction to end, which the server reports as a deadlock. Between polls this session
/// has no transaction at all.
pub fn lock(client: &mut postgres::Client, waiting: &mut dyn FnMut()) -> Result<(), MigrateError> {
    if try_lock(client)? {
        return Ok(());
    }
    waiting();
    // The session's lock_timeout in milliseconds (0: wait for ever), as the server reads it.
    let timeout_ms: i64 = client
        .query_one(
            "SELECT setting::bigint FROM pg_catalog.pg_settings WHERE name = 'lock_timeout'",
            &[],
        )
        .map_err(db("reading lock_timeout"))?
        .get(0);
    let deadline = (timeout_ms > 0).then(|| {
        std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms.unsigned_abs())
    });
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        if let Some(d) = deadline {
            let now = std::time::Instant::now();
            if now >= d {
                return Err(MigrateError::LockTimeout);
            }
            pause = pause.min(d - now);
        }
        std::thread::sleep(pause);
        if try_lock(client)? {
            return Ok(());
        }
        pause = (pause * 2).min(std::time::Duration::from_millis(100));
    }
}

fn try_lock(client: &mut postgres::Client) -> Result<bool, MigrateError> {
    Ok(client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
        .map_err(db("taking the migration lock"))?
        .get(0))
}

pub fn unlock(client: &mut postgres::Client) -> Result<(), MigrateError> {
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .map_err(db("releasing the migration lock"))?;
    Ok(())
}

//! Text out of the canonical form: PostgreSQL DDL as typed statements ([`sql`]) and DBML
//! ([`dbml`]). The diff engine reuses the statement types for migrations. Nothing here does
//! I/O or talks to a database.

pub mod dbml;
pub mod sql;

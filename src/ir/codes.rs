//! Stable diagnostic codes of the IR stage. E03xx: an element is malformed; E04xx: a name does
//! not resolve or is declared twice; E05xx: the schema is inconsistent; W06xx: PostgreSQL will
//! reject or surprise (warnings in `check`, errors in `import`); E06xx: SQL text that PostgreSQL
//! must never be sent (errors everywhere).

pub const UNKNOWN_ELEMENT: &str = "E0301";
pub const INVALID_NAME: &str = "E0302";
pub const UNEXPECTED_PART: &str = "E0303";
pub const MISSING_BODY: &str = "E0304";
pub const INVALID_CONTEXT: &str = "E0305";
pub const INVALID_COLUMN: &str = "E0306";
pub const INVALID_TYPE: &str = "E0307";
pub const UNKNOWN_SETTING: &str = "E0308";
pub const DUPLICATE_SETTING: &str = "E0309";
pub const INVALID_SETTING_VALUE: &str = "E0310";
pub const CONFLICTING_SETTINGS: &str = "E0311";
pub const EMPTY_ELEMENT: &str = "E0312";
pub const INVALID_INDEX: &str = "E0313";
pub const INVALID_REF: &str = "E0314";
pub const INVALID_ENUM_VALUE: &str = "E0315";
pub const REDEFINED: &str = "E0316";
pub const INVALID_CHECK: &str = "E0317";
pub const INVALID_USE: &str = "E0318";
pub const INVALID_RECORDS: &str = "E0319";
pub const INVALID_FIELD: &str = "E0320";

pub const DUPLICATE_NAME: &str = "E0401";
pub const UNKNOWN_TABLE: &str = "E0402";
pub const UNKNOWN_COLUMN: &str = "E0403";
pub const UNKNOWN_ENUM: &str = "E0404";
pub const UNKNOWN_PARTIAL: &str = "E0405";
pub const MISSING_FILE: &str = "E0406";
pub const NOT_IMPORTED: &str = "E0407";
pub const DUPLICATE_RECORDS: &str = "E0408";
pub const UNKNOWN_NAME: &str = "E0409";

pub const ARITY_MISMATCH: &str = "E0501";
pub const SAME_ENDPOINT: &str = "E0502";
pub const CIRCULAR_REF: &str = "E0503";
pub const TABLE_IN_TWO_GROUPS: &str = "E0504";
pub const BAD_DEFAULT: &str = "E0505";
pub const EMPTY_TABLE: &str = "E0506";

pub const PG_UNKNOWN_TYPE: &str = "W0601";
pub const PG_INCREMENT_TYPE: &str = "W0602";
pub const PG_TWO_PRIMARY_KEYS: &str = "W0603";
pub const PG_SET_NULL_NOT_NULL: &str = "W0604";
pub const PG_NAME_TOO_LONG: &str = "W0605";
pub const PG_REF_TYPE_MISMATCH: &str = "W0606";
pub const PG_DEFAULT_TYPE: &str = "W0607";
pub const PG_BAD_MODIFIER: &str = "W0608";
pub const PG_REQUIRED_CYCLE: &str = "W0609";

/// A backtick expression (default, check, index expression) that is not exactly one SQL
/// expression: it would reach the server as more than the expression it stands for.
pub const PG_NOT_ONE_EXPRESSION: &str = "E0610";

/// A backtick expression that is not one PostgreSQL expression but cannot reach past its place
/// (another dialect's syntax, a list, a query): the reference accepts it, so `check` warns;
/// every command that would send it refuses.
pub const PG_NOT_AN_EXPRESSION: &str = "W0611";

/// A default expression that refers to a column (`` `now` `` for `now()`): PostgreSQL refuses
/// column references in a DEFAULT.
pub const PG_DEFAULT_COLUMN_REF: &str = "W0612";

/// A foreign key to columns that are not the referenced table's primary key or a unique key:
/// PostgreSQL refuses it ("there is no unique constraint matching given keys").
pub const PG_REF_NOT_UNIQUE: &str = "W0613";

//! The checked schema: DBML projects (one file or several joined by `use`/`reuse`) are parsed,
//! lowered ([`lower`]) and checked ([`check`]) into a [`model::Schema`]. Reading files is the
//! only I/O here, in [`load_project`]; [`compile_str`] does the same from memory.

pub mod canonical;
pub mod check;
pub mod codes;
pub mod lower;
pub mod model;
pub mod pg;
pub mod pgnames;
pub mod pgtypes;

use crate::diag::{Diagnostic, Diagnostics, FileId, SourceMap, Span};
use crate::syntax::ast::{Expr, File, Item, Line, Use};
use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};

pub use model::Schema;

/// A compiled DBML project: its sources, the schema (even when there are errors, as far as it
/// could be built) and every diagnostic.
pub struct Project {
    pub sources: SourceMap,
    pub schema: Schema,
    /// The first [`crate::diag::KEEP`] diagnostics in report order; the rest are counted.
    pub diagnostics: Diagnostics,
}

impl Project {
    /// Errors and warnings, counting those not kept.
    pub fn counts(&self) -> (usize, usize) {
        (self.diagnostics.errors(), self.diagnostics.warnings())
    }
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }
}

/// Largest schema file read: about 20,000 tables of typical DBML (a 5,000-table schema is 4 MB).
/// Memory is proportional to input; this bound keeps the worst case near 2 GB.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// Largest total of a project's files, imports included.
pub const MAX_PROJECT_BYTES: usize = 64 << 20;

/// Source text for one file; invalid UTF-8 is replaced and reported at its first byte.
fn decode(bytes: &[u8]) -> (String, Option<usize>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(e) => (
            String::from_utf8_lossy(bytes).into_owned(),
            Some(e.valid_up_to()),
        ),
    }
}

struct Loaded {
    path: Option<PathBuf>,
    ast: File,
}

/// Reads `path` and every file it imports, then lowers and checks the project. Only a missing
/// or unreadable entry file is an `Err`; everything else is a diagnostic.
pub fn load_project(path: &Path) -> std::io::Result<Project> {
    let bytes = std::fs::read(path)?;
    let mut b = Builder::default();
    let entry = b.add(Some(path.to_path_buf()), path.display().to_string(), &bytes);
    b.follow_imports(entry);
    Ok(b.finish(entry))
}

/// Compiles `bytes` as if they were the file at `path`, which need not exist (standard input, an
/// editor's unsaved buffer): `name` is shown in messages and `use` imports are read relative to
/// `path`'s folder.
pub fn load_project_bytes(path: &Path, name: String, bytes: &[u8]) -> Project {
    load_project_over(path, name, bytes, &HashMap::default())
}

/// [`load_project_bytes`] where an imported file found in `buffers` (by canonical path) is
/// read from there instead of the disk: an editor's unsaved buffers.
pub fn load_project_over(
    path: &Path,
    name: String,
    bytes: &[u8],
    buffers: &HashMap<PathBuf, String>,
) -> Project {
    let mut b = Builder {
        buffers: Some(buffers),
        ..Builder::default()
    };
    let entry = b.add(Some(path.to_path_buf()), name, bytes);
    b.follow_imports(entry);
    b.finish(entry)
}

/// Compiles DBML held in memory (imports are not followed).
pub fn compile_str(name: &str, text: &str) -> Project {
    let mut b = Builder::default();
    let entry = b.add(None, name.to_string(), text.as_bytes());
    b.finish(entry)
}

#[derive(Default)]
struct Builder<'a> {
    /// Texts that stand for files on disk (by canonical path).
    buffers: Option<&'a HashMap<PathBuf, String>>,
    sources: SourceMap,
    files: Vec<Loaded>,
    by_path: HashMap<PathBuf, FileId>,
    diagnostics: Diagnostics,
    /// For each file and each of its `use` items: the imported file, if it could be read.
    imports: HashMap<(FileId, usize), FileId>,
    total_bytes: usize,
}

impl Builder<'_> {
    fn add(&mut self, path: Option<PathBuf>, name: String, bytes: &[u8]) -> FileId {
        self.total_bytes += bytes.len();
        if bytes.len() > MAX_FILE_BYTES || self.total_bytes > MAX_PROJECT_BYTES {
            // Not read further: its tree alone would take gigabytes.
            let id = self.sources.add(name, String::new());
            self.diagnostics.push(
                Diagnostic::error(
                    crate::syntax::codes::FILE_TOO_LARGE,
                    format!(
                        "this file is {:.1} MB; schema files are read up to {} MB each and {} MB in all",
                        bytes.len() as f64 / 1e6,
                        MAX_FILE_BYTES >> 20,
                        MAX_PROJECT_BYTES >> 20
                    ),
                    Span::new(id, 0, 0),
                )
                .with_help("split the schema into several files joined with `use`"),
            );
            self.files.push(Loaded {
                path,
                ast: File { items: Vec::new() },
            });
            return id;
        }
        let (text, bad) = decode(bytes);
        let id = self.sources.add(name, text);
        if let Some(at) = bad {
            self.diagnostics.push(Diagnostic::error(
                crate::syntax::codes::INVALID_UTF8,
                "the file is not valid UTF-8; invalid bytes were replaced",
                Span::new(id, at, at + 1),
            ));
        }
        let (ast, diags) = crate::syntax::parse(self.sources.text(id), id);
        self.diagnostics.append(diags);
        if let Some(p) = &path {
            let key = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            self.by_path.insert(key, id);
        }
        self.files.push(Loaded { path, ast });
        id
    }

    fn follow_imports(&mut self, start: FileId) {
        let mut todo = vec![start];
        while let Some(f) = todo.pop() {
            let Some(dir) = self.files[f.0 as usize]
                .path
                .as_ref()
                .map(|p| p.parent().map(Path::to_path_buf).unwrap_or_default())
            else {
                continue;
            };
            let uses: Vec<(usize, Box<Use>)> = self.files[f.0 as usize]
                .ast
                .items
                .iter()
                .enumerate()
                .filter_map(|(i, it)| match it {
                    Item::Use(u) => Some((i, u.clone())),
                    _ => None,
                })
                .collect();
            for (i, u) in uses {
                let Some(lit) = &u.path else {
                    self.diagnostics.push(Diagnostic::error(
                        codes::INVALID_USE,
                        "expected `from './file.dbml'`",
                        u.span,
                    ));
                    continue;
                };
                if u.from
                    .as_ref()
                    .is_none_or(|n| !n.text.eq_ignore_ascii_case("from"))
                {
                    self.diagnostics.push(Diagnostic::error(
                        codes::INVALID_USE,
                        "expected `from` before the path",
                        lit.span,
                    ));
                }
                let rel = crate::syntax::cook_string(lit);
                let mut p = dir.join(&rel);
                if p.extension().is_none() {
                    p.set_extension("dbml");
                }
                let key = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
                if let Some(&id) = self.by_path.get(&key) {
                    self.imports.insert((f, i), id);
                    continue;
                }
                let read = match self.buffers.and_then(|b| b.get(&key)) {
                    Some(text) => Ok(text.clone().into_bytes()),
                    None => std::fs::read(&p),
                };
                match read {
                    Ok(bytes) => {
                        let id = self.add(Some(p.clone()), p.display().to_string(), &bytes);
                        self.imports.insert((f, i), id);
                        todo.push(id);
                    }
                    Err(e) => self.diagnostics.push(
                        Diagnostic::error(
                            codes::MISSING_FILE,
                            format!("cannot import `{rel}`: {e}"),
                            lit.span,
                        )
                        .with_label("imported here"),
                    ),
                }
            }
        }
    }

    /// The lines a file makes visible to an importer: its own lines plus what it `reuse`s.
    fn exported<'a>(&'a self, f: FileId, seen: &mut Vec<FileId>, out: &mut Vec<&'a Line>) {
        if seen.contains(&f) {
            return;
        }
        seen.push(f);
        for (i, it) in self.files[f.0 as usize].ast.items.iter().enumerate() {
            match it {
                Item::Line(l) => out.push(l),
                Item::Use(u) if u.keyword.text.eq_ignore_ascii_case("reuse") => {
                    if let Some(&target) = self.imports.get(&(f, i)) {
                        let mut lines = Vec::new();
                        self.exported(target, seen, &mut lines);
                        out.extend(
                            select(&lines, u.specifiers.as_ref(), &mut Diagnostics::new())
                                .into_iter()
                                .map(|x| x.0),
                        );
                    }
                }
                Item::Use(_) => {}
            }
        }
    }

    fn finish(mut self, entry: FileId) -> Project {
        let mut diags = std::mem::take(&mut self.diagnostics);
        let mut lines: Vec<(&Line, Option<String>)> = Vec::new();
        for (i, it) in self.files[entry.0 as usize].ast.items.iter().enumerate() {
            match it {
                Item::Line(l) => lines.push((l, None)),
                Item::Use(u) => {
                    if let Some(&target) = self.imports.get(&(entry, i)) {
                        let mut exported = Vec::new();
                        self.exported(target, &mut vec![entry], &mut exported);
                        lines.extend(select(&exported, u.specifiers.as_ref(), &mut diags));
                    }
                }
            }
        }
        let lowered = lower_lines(&lines, &mut diags);
        // The trees are no longer needed: free them on another thread while checking goes on
        // (a 5,000-table tree takes as long to free as to check).
        let files = std::mem::take(&mut self.files);
        let freeing = std::thread::Builder::new()
            .name("nself-free".into())
            .spawn(move || drop(files));
        let schema = check::check(lowered, &mut diags);
        pg::check(&schema, &mut diags);
        diags.compact();
        if let Ok(handle) = freeing {
            let _ = handle.join();
        }
        Project {
            sources: self.sources,
            schema,
            diagnostics: diags,
        }
    }
}

/// Projects with at least this many top-level lines are lowered in two halves on two threads.
const PARALLEL_MIN_LINES: usize = 4096;

/// Lowers the project's lines in order (in two halves on two threads for large projects: the
/// lowerer keeps no state across lines, so the halves join by concatenation).
fn lower_lines(lines: &[(&Line, Option<String>)], diags: &mut Diagnostics) -> lower::Lowered {
    fn run(lines: &[(&Line, Option<String>)], diags: &mut Diagnostics) -> lower::Lowered {
        let mut lw = lower::Lowerer::new(diags);
        for (l, alias) in lines {
            let before = lw.out.tables.len();
            lw.file_line(l);
            if let (Some(a), true) = (alias, lw.out.tables.len() > before) {
                if let Some(t) = lw.out.tables.last_mut() {
                    t.table.alias = Some(a.clone());
                }
            }
        }
        lw.out
    }
    let parallel = lines.len() >= PARALLEL_MIN_LINES
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    if !parallel {
        return run(lines, diags);
    }
    let (first, second) = lines.split_at(lines.len() / 2);
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| {
            let mut d = Diagnostics::new();
            let out = run(first, &mut d);
            (out, d)
        });
        let mut d2 = Diagnostics::new();
        let out2 = run(second, &mut d2);
        let (mut out, d1) = match handle.join() {
            Ok(r) => r,
            // The other half panicked: lower it here instead, so the panic shows up as usual.
            Err(_) => {
                let mut d = Diagnostics::new();
                (run(first, &mut d), d)
            }
        };
        out.append(out2);
        diags.append(d1);
        diags.append(d2);
        out
    })
}

/// Picks from `lines` what a `use` specifier list names (all of them for `*`), with aliases.
fn select<'a>(
    lines: &[&'a Line],
    spec: Option<&crate::syntax::ast::Block>,
    diags: &mut Diagnostics,
) -> Vec<(&'a Line, Option<String>)> {
    let Some(block) = spec else {
        return lines.iter().map(|l| (*l, None)).collect();
    };
    let mut out = Vec::new();
    for sl in &block.lines {
        if sl.error {
            continue;
        }
        // `kind name [as alias]`, several per line separated by commas.
        let flat: Vec<&Expr> = sl
            .head
            .iter()
            .flat_map(|e| match e {
                Expr::Comma(items, _) => items.iter().collect::<Vec<_>>(),
                other => vec![other],
            })
            .collect();
        let mut it = flat.into_iter().peekable();
        while let Some(kind) = it.next() {
            let Some(kind_name) = kind.as_name() else {
                diags.push(Diagnostic::error(
                    codes::INVALID_USE,
                    "expected an element kind such as `table` or `enum`",
                    kind.span(),
                ));
                break;
            };
            let kind_lc = kind_name.text.to_ascii_lowercase();
            if !matches!(
                kind_lc.as_str(),
                "table" | "enum" | "tablegroup" | "tablepartial" | "schema" | "note"
            ) {
                diags.push(Diagnostic::error(
                    codes::INVALID_USE,
                    format!("cannot import a `{}`", kind_name.text),
                    kind_name.span,
                ));
                break;
            }
            let Some(name) = it.next() else {
                diags.push(Diagnostic::error(
                    codes::INVALID_USE,
                    "expected a name to import",
                    kind_name.span,
                ));
                break;
            };
            let Some(path) = name.as_path() else {
                diags.push(Diagnostic::error(
                    codes::INVALID_USE,
                    "expected a name to import",
                    name.span(),
                ));
                break;
            };
            let mut alias = None;
            if it
                .peek()
                .and_then(|e| e.as_name())
                .is_some_and(|n| n.text.eq_ignore_ascii_case("as"))
            {
                it.next();
                alias = it.next().and_then(|e| e.as_name()).map(|n| n.text.clone());
            }
            let want: Vec<&str> = path.iter().map(|n| n.text.as_str()).collect();
            let mut found = false;
            for l in lines {
                let Some(k) = l.keyword() else { continue };
                let k = k.text.to_ascii_lowercase();
                let Some(name_path) = l.head.get(1).and_then(Expr::as_path) else {
                    continue;
                };
                let have: Vec<&str> = name_path.iter().map(|n| n.text.as_str()).collect();
                let matches = if kind_lc == "schema" {
                    matches!(k.as_str(), "table" | "enum") && have.len() == 2 && have[0] == want[0]
                } else {
                    k == kind_lc
                        && (have == want
                            || (want.len() == 1
                                && have.len() == 2
                                && have[0] == model::DEFAULT_SCHEMA
                                && have[1] == want[0]))
                };
                if matches {
                    out.push((*l, alias.clone()));
                    found = true;
                    if k == "tablegroup" {
                        // Importing a group brings its tables along.
                        let members: Vec<Vec<&str>> = l
                            .block()
                            .map(|b| {
                                b.lines
                                    .iter()
                                    .filter_map(|m| m.head.first()?.as_path())
                                    .map(|p| p.iter().map(|n| n.text.as_str()).collect())
                                    .collect()
                            })
                            .unwrap_or_default();
                        for t in lines {
                            let is_table = t
                                .keyword()
                                .is_some_and(|k| k.text.eq_ignore_ascii_case("table"));
                            let tname: Option<Vec<&str>> = t
                                .head
                                .get(1)
                                .and_then(Expr::as_path)
                                .map(|p| p.iter().map(|n| n.text.as_str()).collect());
                            if is_table && tname.is_some_and(|n| members.contains(&n)) {
                                out.push((*t, None));
                            }
                        }
                    }
                }
            }
            if !found {
                diags.push(Diagnostic::error(
                    codes::NOT_IMPORTED,
                    format!("`{}` is not declared in the imported file", want.join(".")),
                    name.span(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where each ref puts its foreign key, as the reference's PostgreSQL output does
    /// (checked with `shared/tools/dbml-oracle.js --sql`).
    #[test]
    fn foreign_keys_sit_where_the_reference_puts_them() {
        let p = compile_str(
            "fk.dbml",
            "Table users { id int [pk] }\n\
             Table profiles {\n  id int [pk]\n  user_id int [ref: - users.id]\n  owner_id int [ref: > users.id]\n  fan_id int [ref: < users.id]\n}\n\
             Ref: users.id - profiles.id\n",
        );
        assert!(!p.has_errors(), "{:?}", p.diagnostics);
        let fks: Vec<(String, String)> = p
            .schema
            .refs
            .iter()
            .filter_map(|r| r.fk_sides())
            .map(|(from, to)| {
                (
                    format!("{}.{}", from.table.name, from.columns.join(",")),
                    format!("{}.{}", to.table.name, to.columns.join(",")),
                )
            })
            .collect();
        let want = [
            ("profiles.user_id", "users.id"),
            ("profiles.owner_id", "users.id"),
            ("users.id", "profiles.fan_id"),
            ("profiles.id", "users.id"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(fks, want);
    }
}

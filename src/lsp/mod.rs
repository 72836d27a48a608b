//! `nself lsp`: the DBML language server, over standard input and output.
//!
//! Built on `lsp-server` (the message loop rust-analyzer and ruff use) and `lsp-types`. Checking
//! runs on a thread of its own: the main loop answers requests from the newest text at once,
//! while the checker works through the documents that changed (only the newest version of
//! each) and publishes their diagnostics. The diagnostics are `schema check`'s own (the same
//! compile, codes, messages and help). A change to a file re-checks every open document whose
//! project imports it.
//!
//! Navigation (definition, references, rename, hover, symbols) reads `index`, built from the
//! syntax trees of the document's project; formatting is `crate::fmt`; code actions apply the
//! suggestions the diagnostics carry.
//!
//! Nothing a client sends can stop the server but `exit` or the end of its input: a malformed
//! message is skipped, a request with bad parameters is answered with an error, and a handler
//! that fails is answered with an internal error.

pub mod index;
pub mod pos;

use crate::diag::{FileId, Severity};
use crossbeam_channel::{Receiver, Sender};
use index::{Index, Kind};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types as lt;
use pos::Lines;
use rustc_hash::FxHashMap as HashMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Largest message accepted; a longer one is read past and dropped.
const MAX_MESSAGE: usize = crate::ir::MAX_PROJECT_BYTES + (1 << 20);

/// Runs the server on standard input and output until `exit` or the end of input.
pub fn run_stdio() -> Result<(), String> {
    let (conn, threads) = stdio();
    let result = serve(&conn);
    drop(conn);
    for t in threads {
        let _ = t.join();
    }
    result
}

/// The transport: a reader that frames messages from stdin (skipping malformed ones, bounded
/// in memory) and a writer to stdout.
fn stdio() -> (Connection, Vec<std::thread::JoinHandle<()>>) {
    let (to_main, from_reader) = crossbeam_channel::bounded::<Message>(16);
    let (to_writer, from_main) = crossbeam_channel::unbounded::<Message>();
    let reader = std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        loop {
            match read_message(&mut input) {
                Ok(Some(Ok(msg))) => {
                    let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
                    if to_main.send(msg).is_err() || exit {
                        break;
                    }
                }
                Ok(Some(Err(why))) => errln!("nself lsp: ignored a message: {why}"),
                Ok(None) | Err(_) => break,
            }
        }
    });
    let writer = std::thread::spawn(move || {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for msg in from_main {
            if msg.write(&mut out).and_then(|_| out.flush()).is_err() {
                break;
            }
        }
    });
    (
        Connection {
            sender: to_writer,
            receiver: from_reader,
        },
        vec![reader, writer],
    )
}

/// One framed message: `Ok(None)` at the end of input, `Some(Err)` for a message that was read
/// past but could not be used.
fn read_message(r: &mut impl BufRead) -> std::io::Result<Option<Result<Message, String>>> {
    let mut length: Option<usize> = None;
    let mut bad_header = None;
    loop {
        let mut line = Vec::new();
        let n = r.by_ref().take(4096).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(None);
        }
        if !line.ends_with(b"\n") {
            bad_header = Some("header line too long".to_string());
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                match value.trim().parse::<usize>() {
                    Ok(n) => length = Some(n),
                    Err(_) => bad_header = Some(format!("bad Content-Length {:?}", value.trim())),
                }
            }
        }
    }
    let Some(length) = length else {
        return Ok(Some(Err(
            bad_header.unwrap_or_else(|| "no Content-Length".into())
        )));
    };
    if length > MAX_MESSAGE {
        let skipped = std::io::copy(&mut r.by_ref().take(length as u64), &mut std::io::sink())?;
        if (skipped as usize) < length {
            return Ok(None);
        }
        return Ok(Some(Err(format!("message of {length} bytes is too large"))));
    }
    let mut body = vec![0; length];
    if r.read_exact(&mut body).is_err() {
        return Ok(None);
    }
    Ok(Some(
        serde_json::from_slice::<Message>(&body).map_err(|e| format!("malformed message: {e}")),
    ))
}

pub fn capabilities() -> lt::ServerCapabilities {
    lt::ServerCapabilities {
        position_encoding: Some(lt::PositionEncodingKind::UTF16),
        text_document_sync: Some(lt::TextDocumentSyncCapability::Options(
            lt::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lt::TextDocumentSyncKind::INCREMENTAL),
                save: Some(lt::TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        definition_provider: Some(lt::OneOf::Left(true)),
        references_provider: Some(lt::OneOf::Left(true)),
        hover_provider: Some(lt::HoverProviderCapability::Simple(true)),
        document_symbol_provider: Some(lt::OneOf::Left(true)),
        workspace_symbol_provider: Some(lt::OneOf::Left(true)),
        document_formatting_provider: Some(lt::OneOf::Left(true)),
        rename_provider: Some(lt::OneOf::Right(lt::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        code_action_provider: Some(lt::CodeActionProviderCapability::Simple(true)),
        completion_provider: Some(lt::CompletionOptions {
            trigger_characters: Some(vec![".".into(), "[".into(), " ".into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Serves one client on `conn` until `exit` (or the connection closes).
pub fn serve(conn: &Connection) -> Result<(), String> {
    let caps = serde_json::to_value(capabilities()).map_err(|e| e.to_string())?;
    let init = serde_json::json!({
        "capabilities": caps,
        "serverInfo": { "name": "nself", "version": env!("CARGO_PKG_VERSION") },
    });
    let (id, _params) = conn.initialize_start().map_err(|e| e.to_string())?;
    conn.initialize_finish(id, init)
        .map_err(|e| e.to_string())?;

    let (jobs, job_rx) = crossbeam_channel::unbounded::<Job>();
    let projects: Projects = Arc::default();
    let checker = {
        let sender = conn.sender.clone();
        let projects = Arc::clone(&projects);
        std::thread::spawn(move || check_loop(job_rx, sender, projects))
    };
    let mut server = Server {
        docs: HashMap::default(),
        jobs,
        projects,
        sender: conn.sender.clone(),
        shutdown: false,
    };
    for msg in &conn.receiver {
        match msg {
            Message::Request(req) => {
                if req.method == "shutdown" {
                    server.shutdown = true;
                    server.respond(Response::new_ok(req.id, ()));
                    continue;
                }
                if server.shutdown {
                    server.respond(Response::new_err(
                        req.id,
                        ErrorCode::InvalidRequest as i32,
                        "the server is shutting down".into(),
                    ));
                    continue;
                }
                let id = req.id.clone();
                let answer =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.request(req)));
                let response = match answer {
                    Ok(r) => r,
                    Err(_) => Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        "internal error (a bug in nself; please report it)".into(),
                    ),
                };
                server.respond(response);
            }
            Message::Notification(n) => {
                if n.method == "exit" {
                    break;
                }
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    server.notification(n)
                }));
            }
            Message::Response(_) => {}
        }
    }
    drop(server);
    let _ = checker.join();
    Ok(())
}

/// For each open document: the files of its last checked project.
type Projects = Arc<Mutex<HashMap<String, Vec<PathBuf>>>>;

/// The open documents' texts by canonical path: what imports read instead of the disk.
type Buffers = Arc<HashMap<PathBuf, String>>;

enum Job {
    Check(Doc, Buffers),
    Close(lt::Uri),
}

#[derive(Clone)]
struct Doc {
    uri: lt::Uri,
    version: i32,
    text: String,
}

struct Server {
    docs: HashMap<String, Doc>,
    jobs: Sender<Job>,
    projects: Projects,
    sender: Sender<Message>,
    shutdown: bool,
}

/// Works through check jobs, newest version of each document only.
fn check_loop(jobs: Receiver<Job>, sender: Sender<Message>, projects: Projects) {
    while let Ok(first) = jobs.recv() {
        let mut batch: Vec<Job> = vec![first];
        batch.extend(jobs.try_iter());
        let mut latest: Vec<Job> = Vec::new();
        for job in batch.into_iter().rev() {
            let uri = match &job {
                Job::Check(d, _) => &d.uri,
                Job::Close(u) => u,
            };
            let seen = latest.iter().any(|j| match j {
                Job::Check(d, _) => d.uri == *uri,
                Job::Close(u) => u == uri,
            });
            if !seen {
                latest.push(job);
            }
        }
        for job in latest.into_iter().rev() {
            match job {
                Job::Check(doc, buffers) => {
                    let project = compile(&doc.uri, &doc.text, &buffers);
                    let diagnostics = diagnostics(&project);
                    let files = project
                        .sources
                        .ids()
                        .map(|id| PathBuf::from(&project.sources.get(id).name))
                        .collect();
                    if let Ok(mut p) = projects.lock() {
                        p.insert(doc.uri.as_str().to_string(), files);
                    }
                    publish(&sender, doc.uri, Some(doc.version), diagnostics);
                }
                Job::Close(uri) => {
                    if let Ok(mut p) = projects.lock() {
                        p.remove(uri.as_str());
                    }
                    publish(&sender, uri, None, Vec::new());
                }
            }
        }
    }
}

fn publish(
    sender: &Sender<Message>,
    uri: lt::Uri,
    version: Option<i32>,
    diagnostics: Vec<lt::Diagnostic>,
) {
    let params = lt::PublishDiagnosticsParams {
        uri,
        diagnostics,
        version,
    };
    let _ = sender.send(Message::Notification(Notification::new(
        "textDocument/publishDiagnostics".into(),
        params,
    )));
}

/// The document compiled as `schema check` compiles it: a file's imports are read beside it.
fn compile(uri: &lt::Uri, text: &str, buffers: &HashMap<PathBuf, String>) -> crate::ir::Project {
    match pos::to_path(uri) {
        Some(path) => crate::ir::load_project_over(
            &path,
            path.display().to_string(),
            text.as_bytes(),
            buffers,
        ),
        None => crate::ir::compile_str(uri.as_str(), text),
    }
}

/// The entry file's diagnostics as LSP has them: message with its help, secondary labels as
/// related information.
fn diagnostics(project: &crate::ir::Project) -> Vec<lt::Diagnostic> {
    let entry = FileId(0);
    let text = &project.sources.get(entry).text;
    let lines = Lines::new(text);
    let mut out = Vec::new();
    for d in project.diagnostics.iter() {
        if d.primary.span.file != entry {
            continue;
        }
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let related: Vec<lt::DiagnosticRelatedInformation> = d
            .secondary
            .iter()
            .filter_map(|l| {
                let src = &project.sources.get(l.span.file);
                let uri = if l.span.file == entry {
                    None
                } else {
                    pos::from_path(Path::new(&src.name))
                };
                let l_lines = Lines::new(&src.text);
                let uri = match uri {
                    Some(u) => u,
                    None => pos::from_path(Path::new(&project.sources.get(entry).name))
                        .or_else(|| project.sources.get(entry).name.parse().ok())?,
                };
                Some(lt::DiagnosticRelatedInformation {
                    location: lt::Location::new(
                        uri,
                        l_lines.range(l.span.start as usize, l.span.end as usize),
                    ),
                    message: l.message.clone(),
                })
            })
            .collect();
        out.push(lt::Diagnostic {
            range: lines.range(d.primary.span.start as usize, d.primary.span.end as usize),
            severity: Some(match d.severity {
                Severity::Error => lt::DiagnosticSeverity::ERROR,
                Severity::Warning => lt::DiagnosticSeverity::WARNING,
            }),
            code: Some(lt::NumberOrString::String(d.code.to_string())),
            source: Some("nself".into()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..Default::default()
        });
    }
    out
}

/// A document's project with every file's syntax tree and the index over them.
struct Analysis {
    project: crate::ir::Project,
    index: Index,
}

impl Analysis {
    fn new(uri: &lt::Uri, text: &str, buffers: &HashMap<PathBuf, String>) -> Analysis {
        let project = compile(uri, text, buffers);
        let trees: Vec<_> = project
            .sources
            .ids()
            .map(|id| crate::syntax::parse(&project.sources.get(id).text, id).0)
            .collect();
        let index = index::index(&trees.iter().collect::<Vec<_>>());
        Analysis { project, index }
    }

    fn text(&self, file: FileId) -> &str {
        &self.project.sources.get(file).text
    }

    fn uri(&self, file: FileId, entry: &lt::Uri) -> Option<lt::Uri> {
        if file == FileId(0) {
            return Some(entry.clone());
        }
        pos::from_path(Path::new(&self.project.sources.get(file).name))
    }

    fn location(&self, span: crate::diag::Span, entry: &lt::Uri) -> Option<lt::Location> {
        let lines = Lines::new(self.text(span.file));
        Some(lt::Location::new(
            self.uri(span.file, entry)?,
            lines.range(span.start as usize, span.end as usize),
        ))
    }
}

fn params<P: serde::de::DeserializeOwned>(req: &Request) -> Result<P, Response> {
    serde_json::from_value(req.params.clone()).map_err(|e| {
        Response::new_err(
            req.id.clone(),
            ErrorCode::InvalidParams as i32,
            format!("invalid parameters for {}: {e}", req.method),
        )
    })
}

fn failed(id: RequestId, message: impl Into<String>) -> Response {
    Response::new_err(id, ErrorCode::RequestFailed as i32, message.into())
}

impl Server {
    fn respond(&self, r: Response) {
        let _ = self.sender.send(Message::Response(r));
    }

    fn doc(&self, uri: &lt::Uri) -> Option<&Doc> {
        self.docs.get(uri.as_str())
    }

    /// The open documents that are files, by canonical path.
    fn buffers(&self) -> HashMap<PathBuf, String> {
        self.docs
            .values()
            .filter_map(|d| {
                let path = pos::to_path(&d.uri)?;
                let key = std::fs::canonicalize(&path).unwrap_or(path);
                Some((key, d.text.clone()))
            })
            .collect()
    }

    fn check(&self, uri: &lt::Uri) {
        let buffers: Buffers = Arc::new(self.buffers());
        if let Some(d) = self.doc(uri) {
            let _ = self.jobs.send(Job::Check(d.clone(), Arc::clone(&buffers)));
        }
        // Open documents whose project holds this file are checked again too.
        let Some(path) = pos::to_path(uri) else {
            return;
        };
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        let importers: Vec<String> = match self.projects.lock() {
            Ok(p) => p
                .iter()
                .filter(|(u, files)| {
                    u.as_str() != uri.as_str()
                        && files
                            .iter()
                            .skip(1)
                            .any(|f| std::fs::canonicalize(f).unwrap_or(f.clone()) == path)
                })
                .map(|(u, _)| u.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        for u in importers {
            if let Some(d) = self.docs.get(&u) {
                let _ = self.jobs.send(Job::Check(d.clone(), Arc::clone(&buffers)));
            }
        }
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(p) = serde_json::from_value::<lt::DidOpenTextDocumentParams>(n.params)
                else {
                    return;
                };
                let doc = Doc {
                    uri: p.text_document.uri.clone(),
                    version: p.text_document.version,
                    text: p.text_document.text,
                };
                self.docs.insert(doc.uri.as_str().to_string(), doc);
                self.check(&p.text_document.uri);
            }
            "textDocument/didChange" => {
                let Ok(p) = serde_json::from_value::<lt::DidChangeTextDocumentParams>(n.params)
                else {
                    return;
                };
                let Some(doc) = self.docs.get_mut(p.text_document.uri.as_str()) else {
                    return;
                };
                for change in p.content_changes {
                    match change.range {
                        None => doc.text = change.text,
                        Some(range) => {
                            let lines = Lines::new(&doc.text);
                            let start = lines.offset(range.start);
                            let end = lines.offset(range.end).max(start);
                            doc.text.replace_range(start..end, &change.text);
                        }
                    }
                }
                doc.version = p.text_document.version;
                self.check(&p.text_document.uri);
            }
            "textDocument/didSave" => {
                if let Ok(p) = serde_json::from_value::<lt::DidSaveTextDocumentParams>(n.params) {
                    self.check(&p.text_document.uri);
                }
            }
            "textDocument/didClose" => {
                if let Ok(p) = serde_json::from_value::<lt::DidCloseTextDocumentParams>(n.params) {
                    self.docs.remove(p.text_document.uri.as_str());
                    let _ = self.jobs.send(Job::Close(p.text_document.uri));
                }
            }
            _ => {}
        }
    }

    fn request(&mut self, req: Request) -> Response {
        macro_rules! with {
            ($ty:ty, $f:ident) => {
                match params::<$ty>(&req) {
                    Ok(p) => self.$f(req.id.clone(), p),
                    Err(r) => r,
                }
            };
        }
        match req.method.as_str() {
            "textDocument/definition" => with!(lt::GotoDefinitionParams, definition),
            "textDocument/references" => with!(lt::ReferenceParams, references),
            "textDocument/hover" => with!(lt::HoverParams, hover),
            "textDocument/prepareRename" => with!(lt::TextDocumentPositionParams, prepare_rename),
            "textDocument/rename" => with!(lt::RenameParams, rename),
            "textDocument/documentSymbol" => with!(lt::DocumentSymbolParams, document_symbols),
            "workspace/symbol" => with!(lt::WorkspaceSymbolParams, workspace_symbols),
            "textDocument/formatting" => with!(lt::DocumentFormattingParams, formatting),
            "textDocument/codeAction" => with!(lt::CodeActionParams, code_actions),
            "textDocument/completion" => with!(lt::CompletionParams, completion),
            _ => Response::new_err(
                req.id,
                ErrorCode::MethodNotFound as i32,
                format!("unknown request {}", req.method),
            ),
        }
    }

    /// The analysis of an open document and the byte offset of `pos` in it.
    fn at(&self, uri: &lt::Uri, pos: lt::Position) -> Option<(Analysis, usize)> {
        let doc = self.doc(uri)?;
        let offset = Lines::new(&doc.text).offset(pos);
        Some((Analysis::new(uri, &doc.text, &self.buffers()), offset))
    }

    fn definition(&mut self, id: RequestId, p: lt::GotoDefinitionParams) -> Response {
        let tdp = p.text_document_position_params;
        let uri = tdp.text_document.uri;
        let answer = self.at(&uri, tdp.position).and_then(|(a, offset)| {
            let occ = a.index.at(FileId(0), offset)?;
            let def = a.index.of(&occ.key).find(|o| o.def)?;
            a.location(def.span, &uri)
        });
        Response::new_ok(id, answer.map(lt::GotoDefinitionResponse::Scalar))
    }

    fn references(&mut self, id: RequestId, p: lt::ReferenceParams) -> Response {
        let tdp = p.text_document_position;
        let uri = tdp.text_document.uri;
        let answer = self.at(&uri, tdp.position).map(|(a, offset)| {
            let Some(occ) = a.index.at(FileId(0), offset) else {
                return Vec::new();
            };
            a.index
                .of(&occ.key)
                .filter(|o| p.context.include_declaration || !o.def)
                .filter_map(|o| a.location(o.span, &uri))
                .collect::<Vec<_>>()
        });
        Response::new_ok(id, answer)
    }

    fn hover(&mut self, id: RequestId, p: lt::HoverParams) -> Response {
        let tdp = p.text_document_position_params;
        let uri = tdp.text_document.uri;
        let answer = self.at(&uri, tdp.position).and_then(|(a, offset)| {
            let lines = Lines::new(a.text(FileId(0)));
            let Some(occ) = a.index.at(FileId(0), offset) else {
                return diagnostic_hover(&a.project, offset, &lines);
            };
            let range = lines.range(occ.span.start as usize, occ.span.end as usize);
            let el = a.index.element(&occ.key)?;
            let src = a.text(el.span.file);
            let body = src.get(el.span.start as usize..el.span.end as usize)?;
            let mut shown: Vec<&str> = body.lines().take(40).collect();
            if body.lines().count() > 40 {
                shown.push("  …");
            }
            let uses = a.index.of(&occ.key).filter(|o| !o.def).count();
            let what = match el.kind {
                Kind::Table => "table",
                Kind::Column => "column",
                Kind::Enum => "enum",
                Kind::Value => "enum value",
                Kind::Partial => "table partial",
                Kind::Group => "table group",
            };
            let value = format!(
                "```dbml\n{}\n```\n{what} `{}`, used {uses} time(s)",
                shown.join("\n"),
                el.key.split_once(' ').map_or(el.key.as_str(), |(_, k)| k)
            );
            Some(lt::Hover {
                contents: lt::HoverContents::Markup(lt::MarkupContent {
                    kind: lt::MarkupKind::Markdown,
                    value,
                }),
                range: Some(range),
            })
        });
        Response::new_ok(id, answer)
    }

    fn prepare_rename(&mut self, id: RequestId, p: lt::TextDocumentPositionParams) -> Response {
        let uri = p.text_document.uri;
        let answer = self.at(&uri, p.position).and_then(|(a, offset)| {
            let occ = a.index.at(FileId(0), offset)?;
            a.index.of(&occ.key).find(|o| o.def)?;
            let lines = Lines::new(a.text(FileId(0)));
            Some(lt::PrepareRenameResponse::Range(
                lines.range(occ.span.start as usize, occ.span.end as usize),
            ))
        });
        Response::new_ok(id, answer)
    }

    fn rename(&mut self, id: RequestId, p: lt::RenameParams) -> Response {
        let tdp = p.text_document_position;
        let uri = tdp.text_document.uri;
        let Some((a, offset)) = self.at(&uri, tdp.position) else {
            return failed(id, "the document is not open");
        };
        let Some(occ) = a.index.at(FileId(0), offset) else {
            return failed(id, "nothing to rename here");
        };
        if a.index.of(&occ.key).all(|o| !o.def) {
            return failed(id, format!("`{}` is not declared in this project", occ.key));
        }
        let new = p.new_name.trim();
        if new.is_empty() || new.contains(['\n', '\r']) {
            return failed(id, "the new name is empty or has a line break");
        }
        // The same symbol with its last name part changed.
        let (kind_word, path) = occ.key.split_once(' ').unwrap_or(("", &occ.key));
        let new_path = match path.rsplit_once('.') {
            Some((owner, _)) if occ.kind != Kind::Partial && occ.kind != Kind::Group => {
                format!("{owner}.{new}")
            }
            _ => new.to_string(),
        };
        let new_key = format!("{kind_word} {new_path}");
        if new_key != occ.key && a.index.of(&new_key).any(|o| o.def) {
            return failed(
                id,
                format!("cannot rename: {kind_word} `{new_path}` already exists"),
            );
        }
        let text = crate::emit::dbml::name(new);
        let mut changes: HashMap<String, (lt::Uri, Vec<lt::TextEdit>)> = HashMap::default();
        for o in a.index.of(&occ.key).filter(|o| !o.alias) {
            let Some(loc) = a.location(o.span, &uri) else {
                continue;
            };
            changes
                .entry(loc.uri.as_str().to_string())
                .or_insert_with(|| (loc.uri.clone(), Vec::new()))
                .1
                .push(lt::TextEdit::new(loc.range, text.clone()));
        }
        let edit = lt::WorkspaceEdit {
            changes: Some(changes.into_values().collect()),
            ..Default::default()
        };
        Response::new_ok(id, edit)
    }

    fn document_symbols(&mut self, id: RequestId, p: lt::DocumentSymbolParams) -> Response {
        let uri = p.text_document.uri;
        let Some(doc) = self.doc(&uri) else {
            return Response::new_ok(id, ());
        };
        let (tree, _) = crate::syntax::parse(&doc.text, FileId(0));
        let ix = index::index(&[&tree]);
        let lines = Lines::new(&doc.text);
        let symbols: Vec<lt::DocumentSymbol> =
            ix.elements.iter().map(|e| symbol(e, &lines)).collect();
        Response::new_ok(id, lt::DocumentSymbolResponse::Nested(symbols))
    }

    fn workspace_symbols(&mut self, id: RequestId, p: lt::WorkspaceSymbolParams) -> Response {
        let query = p.query.to_lowercase();
        let mut out = Vec::new();
        for doc in self.docs.values() {
            let (tree, _) = crate::syntax::parse(&doc.text, FileId(0));
            let ix = index::index(&[&tree]);
            let lines = Lines::new(&doc.text);
            for e in &ix.elements {
                if e.name.to_lowercase().contains(&query) {
                    #[allow(deprecated)]
                    out.push(lt::SymbolInformation {
                        name: e.name.clone(),
                        kind: symbol_kind(e.kind),
                        tags: None,
                        deprecated: None,
                        location: lt::Location::new(
                            doc.uri.clone(),
                            lines.range(e.span.start as usize, e.span.end as usize),
                        ),
                        container_name: None,
                    });
                }
            }
        }
        Response::new_ok(id, lt::WorkspaceSymbolResponse::Flat(out))
    }

    fn formatting(&mut self, id: RequestId, p: lt::DocumentFormattingParams) -> Response {
        let Some(doc) = self.doc(&p.text_document.uri) else {
            return Response::new_ok(id, ());
        };
        match crate::fmt::format(&doc.text) {
            Ok(out) if out == doc.text => Response::new_ok(id, Vec::<lt::TextEdit>::new()),
            Ok(out) => {
                let lines = Lines::new(&doc.text);
                let range = lt::Range::new(lt::Position::new(0, 0), lines.end());
                Response::new_ok(id, vec![lt::TextEdit::new(range, out)])
            }
            // Like `schema fmt`: a file with syntax errors is not formatted; the diagnostics
            // already show why.
            Err(crate::fmt::Error::Syntax(_)) => Response::new_ok(id, ()),
            Err(crate::fmt::Error::Unstable(why)) => failed(id, format!("not formatted: {why}")),
        }
    }

    fn code_actions(&mut self, id: RequestId, p: lt::CodeActionParams) -> Response {
        let uri = p.text_document.uri;
        let Some(doc) = self.doc(&uri) else {
            return Response::new_ok(id, ());
        };
        let project = compile(&uri, &doc.text, &self.buffers());
        let lines = Lines::new(&doc.text);
        let want = (lines.offset(p.range.start), lines.offset(p.range.end));
        let mut actions = Vec::new();
        for d in project.diagnostics.iter() {
            let Some(s) = &d.suggestion else { continue };
            if s.span.file != FileId(0) {
                continue;
            }
            let (start, end) = (d.primary.span.start as usize, d.primary.span.end as usize);
            if end < want.0 || start > want.1 {
                continue;
            }
            let range = lines.range(s.span.start as usize, s.span.end as usize);
            let edit = lt::WorkspaceEdit {
                changes: Some(
                    [(
                        uri.clone(),
                        vec![lt::TextEdit::new(range, s.replacement.clone())],
                    )]
                    .into_iter()
                    .collect(),
                ),
                ..Default::default()
            };
            actions.push(lt::CodeActionOrCommand::CodeAction(lt::CodeAction {
                title: format!("Replace with `{}` ({})", s.replacement, d.code),
                kind: Some(lt::CodeActionKind::QUICKFIX),
                edit: Some(edit),
                is_preferred: Some(true),
                ..Default::default()
            }));
        }
        Response::new_ok(id, actions)
    }

    fn completion(&mut self, id: RequestId, p: lt::CompletionParams) -> Response {
        let tdp = p.text_document_position;
        let Some(doc) = self.doc(&tdp.text_document.uri) else {
            return Response::new_ok(id, ());
        };
        let offset = Lines::new(&doc.text).offset(tdp.position);
        let before = &doc.text[..offset];
        let line = before.rsplit('\n').next().unwrap_or("");
        let word_start = line
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let prefix = &line[..word_start];
        let (tree, _) = crate::syntax::parse(&doc.text, FileId(0));
        let ix = index::index(&[&tree]);
        let mut items = Vec::new();
        let mut push = |label: &str, kind: lt::CompletionItemKind, detail: &str| {
            items.push(lt::CompletionItem {
                label: label.to_string(),
                kind: Some(kind),
                detail: Some(detail.to_string()),
                ..Default::default()
            })
        };
        let in_list = prefix
            .rfind('[')
            .is_some_and(|i| !prefix[i..].contains(']'));
        if let Some(owner) = prefix.strip_suffix('.') {
            // `users.` → its columns; `status.` → its values.
            let owner = owner
                .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                .next()
                .unwrap_or("");
            let owner = if owner.contains('.') {
                owner.to_string()
            } else {
                format!("public.{owner}")
            };
            for e in &ix.elements {
                if e.key == index::key(Kind::Table, &owner)
                    || e.key == index::key(Kind::Enum, &owner)
                {
                    for c in &e.children {
                        push(&c.name, lt::CompletionItemKind::FIELD, &c.key);
                    }
                }
            }
        } else if in_list {
            // The column settings lowering knows; those that take a value come with `: `.
            for s in crate::ir::lower::COLUMN_SETTINGS {
                let label = match *s {
                    "default" | "note" | "check" => format!("{s}: "),
                    "ref" => "ref: > ".to_string(),
                    other => other.to_string(),
                };
                push(&label, lt::CompletionItemKind::PROPERTY, "column setting");
            }
            for s in [
                "delete: cascade",
                "update: cascade",
                "name: ",
                "type: ",
                "headercolor: ",
            ] {
                push(s, lt::CompletionItemKind::PROPERTY, "setting");
            }
        } else if prefix.trim().is_empty() {
            for k in [
                "Table",
                "TablePartial",
                "Enum",
                "Ref",
                "TableGroup",
                "Project",
                "Note",
                "Records",
                "indexes",
                "checks",
            ] {
                push(k, lt::CompletionItemKind::KEYWORD, "keyword");
            }
        } else {
            for t in crate::ir::pgtypes::builtin_names() {
                push(t, lt::CompletionItemKind::TYPE_PARAMETER, "PostgreSQL type");
            }
        }
        if !prefix.ends_with('.') {
            for e in &ix.elements {
                let kind = match e.kind {
                    Kind::Table => lt::CompletionItemKind::CLASS,
                    Kind::Enum => lt::CompletionItemKind::ENUM,
                    _ => continue,
                };
                push(&e.name, kind, e.key.as_str());
            }
        }
        Response::new_ok(id, lt::CompletionResponse::Array(items))
    }
}

/// Off any name, hovering a diagnostic's span shows its code, message, help and labels.
fn diagnostic_hover(
    project: &crate::ir::Project,
    offset: usize,
    lines: &Lines<'_>,
) -> Option<lt::Hover> {
    let d = project.diagnostics.iter().find(|d| {
        d.primary.span.file == FileId(0)
            && (d.primary.span.start as usize) <= offset
            && offset <= d.primary.span.end as usize
    })?;
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut value = format!("**{severity}[{}]**: {}", d.code, d.message);
    if !d.primary.message.is_empty() {
        value.push_str(&format!("\n\n{}", d.primary.message));
    }
    if let Some(help) = &d.help {
        value.push_str(&format!("\n\nhelp: {help}"));
    }
    Some(lt::Hover {
        contents: lt::HoverContents::Markup(lt::MarkupContent {
            kind: lt::MarkupKind::Markdown,
            value,
        }),
        range: Some(lines.range(d.primary.span.start as usize, d.primary.span.end as usize)),
    })
}

fn symbol_kind(k: Kind) -> lt::SymbolKind {
    match k {
        Kind::Table => lt::SymbolKind::CLASS,
        Kind::Column => lt::SymbolKind::FIELD,
        Kind::Enum => lt::SymbolKind::ENUM,
        Kind::Value => lt::SymbolKind::ENUM_MEMBER,
        Kind::Partial => lt::SymbolKind::INTERFACE,
        Kind::Group => lt::SymbolKind::NAMESPACE,
    }
}

fn symbol(e: &index::Element, lines: &Lines<'_>) -> lt::DocumentSymbol {
    #[allow(deprecated)]
    lt::DocumentSymbol {
        name: e.name.clone(),
        detail: e.key.split_once(' ').map(|(_, k)| k.to_string()),
        kind: symbol_kind(e.kind),
        tags: None,
        deprecated: None,
        range: lines.range(e.span.start as usize, e.span.end as usize),
        selection_range: lines.range(e.name_span.start as usize, e.name_span.end as usize),
        children: (!e.children.is_empty())
            .then(|| e.children.iter().map(|c| symbol(c, lines)).collect()),
    }
}

#[cfg(test)]
mod tests;

//! The server in process, over lsp-server's in-memory connection: every request, and what a
//! broken client may send.

use super::*;
use serde_json::{json, Value};
use std::time::Duration;

struct Client {
    conn: Connection,
    server: Option<std::thread::JoinHandle<Result<(), String>>>,
    next: i32,
}

impl Client {
    fn start() -> Client {
        let (server, conn) = Connection::memory();
        let handle = std::thread::spawn(move || serve(&server));
        let mut c = Client {
            conn,
            server: Some(handle),
            next: 1,
        };
        let caps = c.request("initialize", json!({ "capabilities": {} }));
        assert!(caps["capabilities"]["renameProvider"].is_object(), "{caps}");
        c.notify("initialized", json!({}));
        c
    }

    fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Message::Notification(Notification::new(
                method.into(),
                params,
            )))
            .unwrap();
    }

    /// The response to a new request (notifications in between are skipped).
    fn call(&mut self, method: &str, params: Value) -> Response {
        let id = self.next;
        self.next += 1;
        self.conn
            .sender
            .send(Message::Request(Request::new(
                id.into(),
                method.into(),
                params,
            )))
            .unwrap();
        loop {
            match self
                .conn
                .receiver
                .recv_timeout(Duration::from_secs(20))
                .unwrap()
            {
                Message::Response(r) if r.id == id.into() => return r,
                _ => {}
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params);
        assert!(r.error.is_none(), "{method}: {:?}", r.error);
        r.result.unwrap_or(Value::Null)
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&self, uri: &str) -> Vec<Value> {
        loop {
            if let Message::Notification(n) = self
                .conn
                .receiver
                .recv_timeout(Duration::from_secs(20))
                .unwrap()
            {
                if n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri {
                    return n.params["diagnostics"].as_array().unwrap().clone();
                }
            }
        }
    }

    fn open(&self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "dbml", "version": 1, "text": text } }),
        );
    }

    fn stop(mut self) {
        let r = self.call("shutdown", Value::Null);
        assert!(r.error.is_none());
        self.notify("exit", Value::Null);
        let result = self.server.take().unwrap().join().unwrap();
        assert_eq!(result, Ok(()));
    }
}

fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
}

const URI: &str = "untitled:schema.dbml";
const SCHEMA: &str = "Table users as U {\n  id int [pk]\n  name text\n}\n\nTable posts {\n  id int [pk]\n  author_id int [ref: > users.id]\n}\n\nRef: posts.id - U.id\n";

#[test]
fn diagnostics_are_schema_checks_own_and_follow_edits() {
    let c = Client::start();
    c.open(URI, "Table users {\n  id int [pk]\n  born datetime\n}\n");
    let d = c.diagnostics(URI);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["code"], "W0601");
    assert_eq!(d[0]["range"]["start"], json!({ "line": 2, "character": 7 }));
    assert!(d[0]["message"].as_str().unwrap().contains("help:"), "{d:?}");
    // An incremental edit: `datetime` → `timestamp`.
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": URI, "version": 2 }, "contentChanges": [
            { "range": { "start": { "line": 2, "character": 7 }, "end": { "line": 2, "character": 15 } }, "text": "timestamp" }
        ] }),
    );
    assert_eq!(c.diagnostics(URI), Vec::<Value>::new());
    c.stop();
}

#[test]
fn definition_references_hover_and_symbols() {
    let mut c = Client::start();
    c.open(URI, SCHEMA);
    // `users` in `ref: > users.id` (line 7) goes to the table's name on line 0.
    let def = c.request("textDocument/definition", at(URI, 7, 25));
    assert_eq!(
        def["range"]["start"],
        json!({ "line": 0, "character": 6 }),
        "{def}"
    );
    // `id` of users: its declaration, the inline ref and `U.id`.
    let mut refs = at(URI, 1, 3);
    refs["context"] = json!({ "includeDeclaration": true });
    let refs = c.request("textDocument/references", refs);
    let lines: Vec<u64> = refs
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [1, 7, 10], "{refs}");
    let hover = c.request("textDocument/hover", at(URI, 10, 16));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.contains("Table users as U {") && text.contains("name text"),
        "{text}"
    );
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": URI } }),
    );
    assert_eq!(symbols[0]["name"], "users");
    assert_eq!(symbols[0]["children"][1]["name"], "name");
    assert_eq!(symbols[1]["name"], "posts");
    let ws = c.request("workspace/symbol", json!({ "query": "POST" }));
    assert_eq!(ws.as_array().unwrap().len(), 1, "{ws}");
    c.stop();
}

#[test]
fn rename_changes_every_use_and_refuses_a_collision() {
    let mut c = Client::start();
    c.open(URI, SCHEMA);
    let mut p = at(URI, 0, 7);
    p["newName"] = json!("people");
    let edit = c.request("textDocument/rename", p);
    let edits = edit["changes"][URI].as_array().unwrap();
    // The declaration and `users.id`; the alias `U` keeps its name.
    assert_eq!(edits.len(), 2, "{edit}");
    assert!(edits.iter().all(|e| e["newText"] == "people"));
    let mut p = at(URI, 2, 3);
    p["newName"] = json!("id");
    let r = c.call("textDocument/rename", p);
    let err = r.error.expect("a collision is refused");
    assert!(err.message.contains("already exists"), "{}", err.message);
    let mut p = at(URI, 2, 3);
    p["newName"] = json!("full name");
    let edit = c.request("textDocument/rename", p);
    assert_eq!(edit["changes"][URI][0]["newText"], "\"full name\"");
    c.stop();
}

#[test]
fn formatting_code_actions_and_completion() {
    let mut c = Client::start();
    let text = "Table users{\nid int [pk]\n  born datetime\n}\n";
    c.open(URI, text);
    let edits = c.request("textDocument/formatting", json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }));
    assert_eq!(
        edits[0]["newText"],
        "Table users {\n  id   int [pk]\n  born datetime\n}\n"
    );
    // Hovering the type a warning is about explains the warning.
    let hover = c.request("textDocument/hover", at(URI, 2, 9));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(
        text.starts_with("**warning[W0601]**: PostgreSQL has no type `datetime`"),
        "{text}"
    );
    assert!(
        text.contains("help: the PostgreSQL type is `timestamp`"),
        "{text}"
    );
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": URI }, "range": { "start": { "line": 2, "character": 8 }, "end": { "line": 2, "character": 8 } }, "context": { "diagnostics": [] } }),
    );
    let first = &actions[0];
    assert_eq!(first["kind"], "quickfix", "{actions}");
    assert_eq!(first["edit"]["changes"][URI][0]["newText"], "timestamp");
    c.open("untitled:b.dbml", SCHEMA);
    let items = c.request("textDocument/completion", at("untitled:b.dbml", 10, 11));
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"id") && labels.contains(&"author_id"),
        "{labels:?}"
    );
    c.stop();
}

#[test]
fn bad_requests_get_errors_and_the_server_goes_on() {
    let mut c = Client::start();
    let r = c.call("textDocument/definition", json!({ "nonsense": true }));
    assert_eq!(r.error.unwrap().code, ErrorCode::InvalidParams as i32);
    let r = c.call("nself/unknown", json!({}));
    assert_eq!(r.error.unwrap().code, ErrorCode::MethodNotFound as i32);
    // A position far outside the document, a document never opened, a cancel, garbage edits.
    c.open(URI, SCHEMA);
    assert_eq!(
        c.request("textDocument/definition", at(URI, 9999, 9999)),
        Value::Null
    );
    assert_eq!(
        c.request("textDocument/hover", at("untitled:none", 0, 0)),
        Value::Null
    );
    c.notify("$/cancelRequest", json!({ "id": 99 }));
    c.notify("textDocument/didChange", json!({ "textDocument": { "uri": URI, "version": 3 }, "contentChanges": [
        { "range": { "start": { "line": 50, "character": 0 }, "end": { "line": 1, "character": 0 } }, "text": "😀" }
    ] }));
    c.notify("textDocument/didChange", json!({ "bogus": 1 }));
    assert!(c
        .request(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": URI } })
        )
        .is_array());
    c.stop();
}

#[test]
fn framing_skips_malformed_messages_and_bounds_memory() {
    let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
    let input = format!(
        "Content-Length: 5\r\n\r\n{{bad}}Content-Length: 99999999999\r\n\r\nContent-Length: {}\r\n\r\n{good}",
        good.len()
    );
    let mut r = std::io::BufReader::new(input.as_bytes());
    assert!(matches!(read_message(&mut r), Ok(Some(Err(_)))));
    // The huge length cannot be read past: the input ends.
    assert!(matches!(read_message(&mut r), Ok(None)));
    let input = format!(
        "X-Other: 1\r\n\r\nContent-Length: {}\r\n\r\n{good}",
        good.len()
    );
    let mut r = std::io::BufReader::new(input.as_bytes());
    assert!(matches!(read_message(&mut r), Ok(Some(Err(_)))));
    assert!(matches!(
        read_message(&mut r),
        Ok(Some(Ok(Message::Notification(_))))
    ));
    assert!(matches!(read_message(&mut r), Ok(None)));
}

#[test]
fn navigation_and_rename_cross_into_imported_files() {
    let dir = crate::local::testing::TempDir::new("nself-lsp").unwrap();
    let shared = dir.path().join("shared.dbml");
    std::fs::write(&shared, "Table accounts {\n  id int [pk]\n}\n").unwrap();
    let main = dir.path().join("main.dbml");
    let text = "use { table accounts } from './shared'\n\nTable orders {\n  id int [pk]\n  account_id int [ref: > accounts.id]\n}\n";
    std::fs::write(&main, text).unwrap();
    let main_uri = pos::from_path(&main).unwrap();
    let shared_uri = pos::from_path(&shared).unwrap();
    let mut c = Client::start();
    c.open(main_uri.as_str(), text);
    assert_eq!(c.diagnostics(main_uri.as_str()), Vec::<Value>::new());
    // `accounts` in the inline ref goes to shared.dbml.
    let def = c.request("textDocument/definition", at(main_uri.as_str(), 4, 26));
    assert_eq!(def["uri"], shared_uri.as_str(), "{def}");
    assert_eq!(def["range"]["start"], json!({ "line": 0, "character": 6 }));
    let mut p = at(main_uri.as_str(), 4, 26);
    p["newName"] = json!("customers");
    let edit = c.request("textDocument/rename", p);
    assert_eq!(
        edit["changes"][shared_uri.as_str()]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{edit}"
    );
    assert_eq!(
        edit["changes"][main_uri.as_str()].as_array().unwrap().len(),
        1,
        "{edit}"
    );
    c.stop();
}

#[test]
fn an_unsaved_imported_buffer_is_what_its_importers_see() {
    let dir = crate::local::testing::TempDir::new("nself-lsp").unwrap();
    let shared = dir.path().join("shared.dbml");
    let on_disk = "Table accounts {\n  id int [pk]\n}\n";
    std::fs::write(&shared, on_disk).unwrap();
    let main = dir.path().join("main.dbml");
    let text = "use { table accounts } from './shared'\n\nTable orders {\n  id int [pk]\n  account_id int [ref: > accounts.id]\n}\n";
    std::fs::write(&main, text).unwrap();
    let (main_uri, shared_uri) = (
        pos::from_path(&main).unwrap(),
        pos::from_path(&shared).unwrap(),
    );
    let c = Client::start();
    c.open(main_uri.as_str(), text);
    assert_eq!(c.diagnostics(main_uri.as_str()), Vec::<Value>::new());
    // The imported file is opened and its table renamed without saving: main.dbml is checked
    // again against the buffer, and its `use` and ref now name a table that does not exist.
    c.open(shared_uri.as_str(), on_disk);
    let _ = c.diagnostics(shared_uri.as_str());
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": shared_uri.as_str(), "version": 2 }, "contentChanges": [
            { "text": "Table customers {\n  id int [pk]\n}\n" }
        ] }),
    );
    let d = loop {
        let d = c.diagnostics(main_uri.as_str());
        if !d.is_empty() {
            break d;
        }
    };
    assert!(
        d.iter()
            .any(|d| d["message"].as_str().unwrap().contains("accounts")),
        "{d:?}"
    );
    assert_eq!(std::fs::read_to_string(&shared).unwrap(), on_disk);
    c.stop();
}

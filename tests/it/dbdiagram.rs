//! `nself db schema sync` against a local server that implements dbdiagram.io's documented API
//! (the real endpoint cannot be reached from here; it stays the default): list, get, create and
//! replace with `{name, content}`, the `dbdiagram-access-token` header (401 without it), 404,
//! and 429 with `RateLimit-*` headers.

use super::support::{Project, Run};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

const TOKEN: &str = "s3cret-workspace-token-4242";

#[derive(Default)]
struct State {
    /// (id, name, content)
    diagrams: Vec<(String, String, String)>,
    next_id: u32,
    /// Answer 429 to the next N requests with this method.
    limit: Option<(String, usize)>,
    log: Vec<String>,
}

struct Fake {
    url: String,
    state: Arc<Mutex<State>>,
}

impl Fake {
    fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Fake { url, state }
    }

    fn log(&self) -> Vec<String> {
        std::mem::take(&mut self.state.lock().unwrap().log)
    }

    fn content(&self, id: &str) -> String {
        let s = self.state.lock().unwrap();
        s.diagrams.iter().find(|d| d.0 == id).unwrap().2.clone()
    }

    fn set_content(&self, id: &str, text: &str) {
        let mut s = self.state.lock().unwrap();
        s.diagrams.iter_mut().find(|d| d.0 == id).unwrap().2 = text.to_string();
    }
}

fn serve(stream: std::net::TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let (mut length, mut token) = (0usize, String::new());
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((&h, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = v.trim().parse().unwrap_or(0),
            "dbdiagram-access-token" => token = v.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let (status, extra, reply) = answer(state, &method, &path, &token, &body);
    let reply = reply.to_string();
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nRateLimit-Limit: 60\r\n{extra}\r\n{reply}",
        reply.len()
    );
}

fn answer(
    state: &Mutex<State>,
    method: &str,
    path: &str,
    token: &str,
    body: &[u8],
) -> (u16, String, serde_json::Value) {
    use serde_json::json;
    let mut s = state.lock().unwrap();
    s.log.push(format!("{method} {path}"));
    if token != TOKEN {
        return (401, String::new(), json!({ "message": "Unauthorized" }));
    }
    if let Some((m, n)) = s.limit.as_mut() {
        if m == method && *n > 0 {
            *n -= 1;
            return (
                429,
                "RateLimit-Remaining: 0\r\nRateLimit-Reset: 1\r\n".into(),
                json!({ "message": "Too Many Requests" }),
            );
        }
    }
    let input: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let id = path.strip_prefix("/v1/diagrams/").map(String::from);
    match (method, path, id) {
        ("GET", "/v1/diagrams", _) => {
            let list: Vec<_> = s
                .diagrams
                .iter()
                .map(|d| json!({ "id": d.0, "name": d.1 }))
                .collect();
            (200, String::new(), json!({ "diagrams": list }))
        }
        ("POST", "/v1/diagrams", _) => {
            s.next_id += 1;
            let id = format!("d{}", s.next_id);
            let (name, content) = (
                input["name"].as_str().unwrap_or("").to_string(),
                input["content"].as_str().unwrap_or("").to_string(),
            );
            s.diagrams.push((id.clone(), name.clone(), content.clone()));
            (
                200,
                String::new(),
                json!({ "id": id, "name": name, "content": content }),
            )
        }
        (m, _, Some(id)) => match s.diagrams.iter_mut().find(|d| d.0 == id) {
            None => (404, String::new(), json!({ "message": "Not Found" })),
            Some(d) if m == "GET" => (
                200,
                String::new(),
                json!({ "id": d.0, "name": d.1, "content": d.2 }),
            ),
            Some(d) if m == "PUT" => {
                d.1 = input["name"].as_str().unwrap_or(&d.1).to_string();
                d.2 = input["content"].as_str().unwrap_or("").to_string();
                (
                    200,
                    String::new(),
                    json!({ "id": d.0, "name": d.1, "content": d.2 }),
                )
            }
            Some(_) => (
                405,
                String::new(),
                json!({ "message": "Method Not Allowed" }),
            ),
        },
        _ => (404, String::new(), json!({ "message": "Not Found" })),
    }
}

const V1: &str = "Table users {\n  id int [pk]\n}\n";
const V2: &str = "Table users {\n  id   int [pk]\n  name text\n}\n";
const V3: &str = "Table users {\n  id    int [pk]\n  email text\n}\n";

fn sync(p: &Project, fake: &Fake, args: &[&str]) -> Run {
    let mut all = vec!["db", "schema", "sync"];
    all.extend_from_slice(args);
    let r = p.run(
        &all,
        &[("DBDIAGRAM_TOKEN", TOKEN), ("DBDIAGRAM_API_URL", &fake.url)],
    );
    assert!(
        !r.all().contains(TOKEN),
        "the token was printed:\n{}",
        r.all()
    );
    r
}

fn schema(p: &Project) -> String {
    std::fs::read_to_string(p.path().join("nself/schema.dbml")).unwrap()
}

#[test]
fn push_pull_and_conflicts_follow_the_last_synced_content() {
    let fake = Fake::start();
    let p = Project::new();
    p.write("nself/schema.dbml", V1);
    // The first push creates the diagram; the state names it, without the token.
    let r = sync(&p, &fake, &["--diagram", "shop"]);
    r.ok();
    assert!(
        r.stdout.contains("new diagram `shop` (id d1)"),
        "{}",
        r.stdout
    );
    assert_eq!(fake.content("d1"), V1);
    let state = std::fs::read_to_string(p.path().join(".nself/dbdiagram.json")).unwrap();
    assert!(
        state.contains("\"d1\"") && !state.contains(TOKEN),
        "{state}"
    );
    let r = sync(&p, &fake, &["status"]);
    r.ok();
    assert!(r.stdout.contains("up to date"), "{}", r.stdout);

    // Local change: pushed.
    p.write("nself/schema.dbml", V2);
    fake.log();
    sync(&p, &fake, &[]).ok();
    assert_eq!(fake.content("d1"), V2);
    assert!(fake.log().contains(&"PUT /v1/diagrams/d1".to_string()));

    // Remote change: pulled.
    fake.set_content("d1", V3);
    let r = sync(&p, &fake, &[]);
    r.ok();
    assert!(r.stdout.contains("Pulled diagram `shop`"), "{}", r.stdout);
    assert_eq!(schema(&p), V3);

    // Both changed: nothing moves without a choice.
    p.write("nself/schema.dbml", V1);
    fake.set_content("d1", V2);
    let r = sync(&p, &fake, &["status"]);
    assert!(r.stdout.contains("both changed"), "{}", r.stdout);
    sync(&p, &fake, &[]).fails(
        1,
        &[
            "both changed since the last sync",
            "push --force",
            "pull --force",
        ],
    );
    sync(&p, &fake, &["push"]).fails(1, &["changed since the last sync", "--force"]);
    sync(&p, &fake, &["pull"]).fails(1, &["changed since the last sync", "--force"]);
    assert_eq!(schema(&p), V1);
    assert_eq!(fake.content("d1"), V2);
    sync(&p, &fake, &["pull", "--force"]).ok();
    assert_eq!(schema(&p), V2);
    sync(&p, &fake, &["status"]).ok();
}

#[test]
fn nothing_broken_or_empty_is_pushed_or_pulled() {
    let fake = Fake::start();
    let p = Project::new();
    p.write(
        "nself/schema.dbml",
        "Table users {\n  id int [pk]\n  owner int [ref: > nobody.id]\n}\n",
    );
    sync(&p, &fake, &["push", "--diagram", "shop"]).fails(1, &["error(s): not pushed", "nobody"]);
    p.write("nself/schema.dbml", "  \n");
    sync(&p, &fake, &["push", "--diagram", "shop"]).fails(1, &["is empty"]);
    assert!(!fake
        .log()
        .iter()
        .any(|l| l.starts_with("POST") || l.starts_with("PUT")));

    p.write("nself/schema.dbml", V1);
    sync(&p, &fake, &["--diagram", "shop"]).ok();
    fake.set_content("d1", "");
    sync(&p, &fake, &["pull"]).fails(1, &["is empty"]);
    assert_eq!(schema(&p), V1);
    sync(&p, &fake, &["pull", "--diagram", "nope"]).fails(1, &["no diagram `nope`"]);
}

#[test]
fn tokens_rate_limits_and_missing_diagrams() {
    let fake = Fake::start();
    let p = Project::new();
    p.write("nself/schema.dbml", V1);
    let r = p.run(
        &["db", "schema", "sync", "status"],
        &[("DBDIAGRAM_API_URL", &fake.url)],
    );
    r.fails(2, &["no dbdiagram token", "DBDIAGRAM_TOKEN"]);
    let r = p.run(
        &[
            "db",
            "schema",
            "sync",
            "status",
            "--diagram",
            "x",
            "--token",
            "wrong-token-77",
        ],
        &[("DBDIAGRAM_API_URL", &fake.url)],
    );
    r.fails(1, &["refused the token (401)"]);
    assert!(!r.all().contains("wrong-token-77"), "{}", r.all());

    sync(&p, &fake, &["--diagram", "shop"]).ok();
    // A read over the quota waits and is asked again.
    fake.state.lock().unwrap().limit = Some(("GET".into(), 1));
    fake.log();
    sync(&p, &fake, &["status"]).ok();
    let log = fake.log();
    assert_eq!(
        log.iter().filter(|l| *l == "GET /v1/diagrams").count(),
        2,
        "{log:?}"
    );
    // A refused push waits, looks at the diagram again, and only then sends.
    p.write("nself/schema.dbml", V2);
    fake.state.lock().unwrap().limit = Some(("PUT".into(), 1));
    let r = sync(&p, &fake, &["push"]);
    r.ok();
    assert!(r.stderr.contains("rate limit: waiting"), "{}", r.stderr);
    let log = fake.log();
    let tail: Vec<&str> = log
        .iter()
        .map(String::as_str)
        .skip_while(|l| !l.starts_with("PUT"))
        .collect();
    assert_eq!(
        tail,
        [
            "PUT /v1/diagrams/d1",
            "GET /v1/diagrams/d1",
            "PUT /v1/diagrams/d1"
        ],
        "{log:?}"
    );
    assert_eq!(fake.content("d1"), V2);
}

#[test]
fn a_diagram_deleted_on_dbdiagram_is_made_again_under_its_name() {
    let fake = Fake::start();
    let p = Project::new();
    p.write("nself/schema.dbml", V1);
    sync(&p, &fake, &["--diagram", "shop"]).ok();
    fake.state.lock().unwrap().diagrams.clear();
    let r = sync(&p, &fake, &["status"]);
    r.ok();
    assert!(r.stdout.contains("none named `shop`"), "{}", r.stdout);
    let r = sync(&p, &fake, &[]);
    r.ok();
    assert!(
        r.stdout.contains("new diagram `shop` (id d2)"),
        "{}",
        r.stdout
    );
    assert_eq!(fake.content("d2"), V1);
}

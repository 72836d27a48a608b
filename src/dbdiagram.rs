//! dbdiagram.io's public API (v1): a small blocking client, and the pure decision of what a
//! sync does.
//!
//! The API (documented at docs.dbdiagram.io/api/v1, beta, paid plans): a per-workspace token in
//! the `dbdiagram-access-token` header; `GET /diagrams` lists, `GET /diagrams/{id}` gets,
//! `POST /diagrams` creates and `PUT /diagrams/{id}` replaces a diagram, with `{name, content}`
//! bodies; a request over its endpoint's quota is answered 429 with `RateLimit-*` headers.
//!
//! Only reads are retried after a 429 (after the advertised delay, a bounded number of times);
//! a write that was refused is handed back ([`ApiError::RateLimited`]) so that the caller can
//! look at the remote side again before writing: a push is never repeated blindly. The token
//! is sent in its header and appears nowhere else: not in errors, not in the state file.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::time::Duration;

pub const DEFAULT_API_URL: &str = "https://api.dbdiagram.io/v1";

/// Largest response body read (a diagram's content is DBML; the front end reads 16 MB).
const MAX_BODY: u64 = (crate::ir::MAX_FILE_BYTES as u64) * 2;

/// Longest wait for a rate limit; a server asking for more is reported instead.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// Reads retried after a 429.
const READ_RETRIES: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagram {
    pub id: String,
    pub name: String,
    pub content: String,
}

#[derive(Debug)]
pub enum ApiError {
    /// 401: the token was refused.
    Unauthorized,
    /// 403: the token may not do this.
    Forbidden,
    /// 404.
    NotFound,
    /// 429 (after the retries, for reads): wait this long.
    RateLimited(Duration),
    /// Any other status, with the server's message if it gave one.
    Status(u16, String),
    /// The request may not have reached the server, or its answer was lost.
    Network(String),
    /// An answer that is not what the API documents.
    BadResponse(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Unauthorized => f.write_str(
                "dbdiagram refused the token (401): check --token or DBDIAGRAM_TOKEN (a workspace API token)",
            ),
            ApiError::Forbidden => {
                f.write_str("the token may not do this (403): it belongs to another workspace or lacks the right")
            }
            ApiError::NotFound => f.write_str("not found (404)"),
            ApiError::RateLimited(d) => write!(
                f,
                "dbdiagram's rate limit (429): try again in {} s",
                d.as_secs().max(1)
            ),
            ApiError::Status(code, m) if m.is_empty() => write!(f, "dbdiagram answered {code}"),
            ApiError::Status(code, m) => write!(f, "dbdiagram answered {code}: {m}"),
            ApiError::Network(m) => write!(f, "cannot reach dbdiagram: {m}"),
            ApiError::BadResponse(m) => write!(f, "unexpected answer from dbdiagram: {m}"),
        }
    }
}

pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Client {
    pub fn new(base: &str, token: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("nself/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One request; `Ok((status, body, wait))` whatever the status.
    fn once(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, String, Duration), ApiError> {
        let url = self.url(path);
        let result = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("dbdiagram-access-token", &self.token)
                .header("accept", "application/json")
                .call(),
            ("POST", Some(b)) => self
                .agent
                .post(&url)
                .header("dbdiagram-access-token", &self.token)
                .content_type("application/json")
                .send(b.to_string()),
            ("PUT", Some(b)) => self
                .agent
                .put(&url)
                .header("dbdiagram-access-token", &self.token)
                .content_type("application/json")
                .send(b.to_string()),
            _ => return Err(ApiError::BadResponse(format!("no such request {method}"))),
        };
        let mut resp =
            result.map_err(|e| ApiError::Network(redact(&e.to_string(), &self.token)))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let wait = Duration::from_secs(
            header("retry-after")
                .or_else(|| header("ratelimit-reset"))
                .unwrap_or(1),
        );
        let mut text = String::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_BODY)
            .read_to_string(&mut text)
            .map_err(|e| ApiError::Network(format!("reading the answer: {e}")))?;
        Ok((status, text, wait))
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, ApiError> {
        let mut tries = 0;
        loop {
            let (status, text, wait) = self.once(method, path, body)?;
            match status {
                200..=299 => {
                    return serde_json::from_str(&text)
                        .map_err(|e| ApiError::BadResponse(format!("not JSON ({e})")));
                }
                401 => return Err(ApiError::Unauthorized),
                403 => return Err(ApiError::Forbidden),
                404 => return Err(ApiError::NotFound),
                429 if method == "GET" && tries < READ_RETRIES && wait <= MAX_WAIT => {
                    tries += 1;
                    std::thread::sleep(wait);
                }
                429 => return Err(ApiError::RateLimited(wait)),
                other => {
                    let message = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
                        .unwrap_or_default();
                    return Err(ApiError::Status(other, message.chars().take(300).collect()));
                }
            }
        }
    }

    pub fn list(&self) -> Result<Vec<Summary>, ApiError> {
        let v = self.request("GET", "/diagrams", None)?;
        let items = v
            .as_array()
            .or_else(|| {
                ["diagrams", "data", "items"]
                    .iter()
                    .find_map(|k| v.get(*k)?.as_array())
            })
            .ok_or_else(|| ApiError::BadResponse("the list of diagrams has no array".into()))?;
        items
            .iter()
            .map(|d| {
                Ok(Summary {
                    id: id_of(d)?,
                    name: d
                        .get("name")
                        .and_then(|n| n.as_str())
                        .unwrap_or("")
                        .to_string(),
                })
            })
            .collect()
    }

    pub fn get(&self, id: &str) -> Result<Diagram, ApiError> {
        let v = self.request("GET", &format!("/diagrams/{}", encode(id)), None)?;
        diagram(&v, id)
    }

    pub fn create(&self, name: &str, content: &str) -> Result<Diagram, ApiError> {
        let body = serde_json::json!({ "name": name, "content": content });
        let v = self.request("POST", "/diagrams", Some(&body))?;
        let id = id_of(unwrap(&v))?;
        Ok(Diagram {
            id,
            name: name.to_string(),
            content: content.to_string(),
        })
    }

    pub fn replace(&self, id: &str, name: &str, content: &str) -> Result<(), ApiError> {
        let body = serde_json::json!({ "name": name, "content": content });
        self.request("PUT", &format!("/diagrams/{}", encode(id)), Some(&body))?;
        Ok(())
    }
}

/// A diagram object, at the top or under `diagram`/`data`.
fn unwrap(v: &serde_json::Value) -> &serde_json::Value {
    ["diagram", "data"]
        .iter()
        .find_map(|k| v.get(*k).filter(|d| d.is_object()))
        .unwrap_or(v)
}

fn id_of(v: &serde_json::Value) -> Result<String, ApiError> {
    match v.get("id") {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        _ => Err(ApiError::BadResponse("a diagram without an id".into())),
    }
}

fn diagram(v: &serde_json::Value, id: &str) -> Result<Diagram, ApiError> {
    let d = unwrap(v);
    let content = d
        .get("content")
        .and_then(|c| c.as_str())
        .ok_or_else(|| ApiError::BadResponse(format!("diagram {id} has no content")))?;
    Ok(Diagram {
        id: id_of(d).unwrap_or_else(|_| id.to_string()),
        name: d
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("")
            .to_string(),
        content: content.to_string(),
    })
}

/// `id` as one path segment.
fn encode(id: &str) -> String {
    let mut s = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// `text` with every occurrence of `secret` masked.
fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_string()
    } else {
        text.replace(secret, "[token]")
    }
}

pub fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a sync should do, from the hashes of the two sides and of the last synced content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Both sides hold the same text.
    UpToDate,
    /// Only the local file changed since the last sync.
    Push,
    /// Only the diagram changed since the last sync.
    Pull,
    /// Both changed since the last sync, differently.
    Conflict,
    /// Never synced and the two differ: which side wins is the user's call.
    Unrelated,
}

pub fn decide(local: &str, remote: &str, base: Option<&str>) -> Decision {
    if local == remote {
        return Decision::UpToDate;
    }
    match base {
        None => Decision::Unrelated,
        Some(b) if b == remote => Decision::Push,
        Some(b) if b == local => Decision::Pull,
        Some(_) => Decision::Conflict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        assert_eq!(decide("a", "a", None), Decision::UpToDate);
        assert_eq!(decide("a", "b", None), Decision::Unrelated);
        assert_eq!(decide("a", "b", Some("b")), Decision::Push);
        assert_eq!(decide("a", "b", Some("a")), Decision::Pull);
        assert_eq!(decide("a", "b", Some("c")), Decision::Conflict);
        assert_eq!(decide("a", "a", Some("c")), Decision::UpToDate);
    }

    #[test]
    fn ids_are_one_segment_and_secrets_are_masked() {
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
        assert_eq!(
            redact("GET with tok123 failed", "tok123"),
            "GET with [token] failed"
        );
    }
}

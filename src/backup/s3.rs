//! A small blocking S3 client for backups (issue 16): AWS Signature Version 4 over `ureq`
//! (already the HTTP client of `db schema sync`), the nine calls backups need and nothing
//! else: PUT, HEAD, GET (streamed), DELETE, ListObjectsV2 (paged), and the multipart calls
//! (create, upload part, complete, abort, list uploads).
//!
//! Why not a crate: `object_store` brings tokio, reqwest and hyper (minutes of a cold build on
//! the 2-core CI machine, for a blocking program), and the blocking S3 crates pull in their own
//! HTTP stacks. Signing is a page of code from AWS's documentation, and the real judge is a
//! server that checks signatures (SeaweedFS in the tests).
//!
//! Invariants: memory is bounded by one part (the payload is hashed before it is signed, so a
//! part is read into a buffer first); the secret key and session token appear only in the
//! signature computation and the `x-amz-security-token` header, never in an error, a `Debug`
//! or a log line; every request carries the payload's SHA-256 (`x-amz-content-sha256`), which
//! S3 checks against the bytes it received; a failed multipart upload is aborted.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{Read, Write};
use std::time::Duration;

/// Answers read into memory (listings, errors) are cut at this size.
const MAX_ANSWER: u64 = 16 << 20;
/// S3's smallest part (but the last).
pub const MIN_PART: usize = 5 << 20;
/// The default part size: also the largest object sent in one PUT.
pub const DEFAULT_PART: usize = 16 << 20;
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Access keys; `Debug` shows the key id only.
#[derive(Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// Where and as whom.
#[derive(Clone, Debug)]
pub struct Settings {
    pub bucket: String,
    pub region: String,
    /// `AWS_ENDPOINT_URL` (`http://127.0.0.1:8333`): an S3-compatible store, addressed
    /// path-style. `None`: AWS itself, virtual-hosted style.
    pub endpoint: Option<String>,
    pub credentials: Credentials,
    pub part_size: usize,
}

/// What went wrong, with what was being done; never a credential.
#[derive(Debug)]
pub enum S3Error {
    /// The server answered with an error status.
    Status {
        doing: String,
        status: u16,
        code: String,
        message: String,
    },
    /// No answer (connection refused, reset, timed out).
    Network { doing: String, message: String },
    /// An answer that is not what S3 sends.
    BadAnswer { doing: String, message: String },
    Io {
        doing: String,
        error: std::io::Error,
    },
    /// Stopped by a signal between two parts.
    Interrupted,
}

impl S3Error {
    /// Whether the request may succeed if sent again (5xx, throttling, no answer).
    fn transient(&self) -> bool {
        match self {
            S3Error::Status { status, code, .. } => {
                *status >= 500 || *status == 429 || code == "SlowDown" || code == "RequestTimeout"
            }
            S3Error::Network { .. } => true,
            _ => false,
        }
    }

    /// The S3 error code (`NoSuchKey`, `AccessDenied`, …), if the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            S3Error::Status { code, .. } if !code.is_empty() => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S3Error::Status {
                doing,
                status,
                code,
                message,
            } => {
                write!(f, "{doing}: the server answered {status}")?;
                if !code.is_empty() {
                    write!(f, " {code}")?;
                }
                if !message.is_empty() {
                    write!(f, " ({message})")?;
                }
                match code.as_str() {
                    "SignatureDoesNotMatch" => f.write_str(
                        "; check AWS_SECRET_ACCESS_KEY (and AWS_REGION, which the signature \
                         includes)",
                    ),
                    "InvalidAccessKeyId" => f.write_str("; check AWS_ACCESS_KEY_ID"),
                    "NoSuchBucket" => f.write_str("; check AWS_BACKUP_BUCKET"),
                    "AccessDenied" => f.write_str(
                        "; the credentials are not allowed to do this (check AWS_ACCESS_KEY_ID, \
                         AWS_SECRET_ACCESS_KEY and the bucket's policy)",
                    ),
                    _ => Ok(()),
                }
            }
            S3Error::Network { doing, message } => write!(f, "{doing}: {message}"),
            S3Error::BadAnswer { doing, message } => {
                write!(f, "{doing}: unexpected answer: {message}")
            }
            S3Error::Io { doing, error } => write!(f, "{doing}: {error}"),
            S3Error::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for S3Error {}

/// One object of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub size: u64,
    /// `LastModified`, seconds since the epoch (0 when the server sent none it could parse).
    pub modified_unix: i64,
}

/// One unfinished multipart upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub key: String,
    pub upload_id: String,
    pub initiated_unix: i64,
}

/// What HEAD says about an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub size: u64,
    /// `x-amz-meta-*` headers, names without the prefix, lower-case.
    pub meta: Vec<(String, String)>,
}

impl Head {
    pub fn meta(&self, name: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct Client {
    agent: ureq::Agent,
    settings: Settings,
    /// `http://host:port` or `https://bucket.s3.region.amazonaws.com`.
    origin: String,
    /// The `Host` header (and signed host).
    host: String,
    /// `/bucket` path-style, empty virtual-hosted.
    base_path: String,
    /// Checked between parts; set by a signal handler.
    stop: Option<&'static std::sync::atomic::AtomicBool>,
}

/// Characters S3 leaves unencoded (RFC 3986 unreserved); `/` too in paths.
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    super::dump::hex(bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// A request before signing.
struct Call<'a> {
    method: &'static str,
    /// The object key ("" for the bucket).
    key: &'a str,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: &'a [u8],
}

impl<'a> Call<'a> {
    fn new(method: &'static str, key: &'a str) -> Call<'a> {
        Call {
            method,
            key,
            query: Vec::new(),
            headers: Vec::new(),
            body: &[],
        }
    }
    fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }
    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.trim().to_string()));
        self
    }
    fn body(mut self, body: &'a [u8]) -> Self {
        self.body = body;
        self
    }
}

/// `x-amz-date` and the credential scope's date for a moment.
fn amz_dates(unix: i64) -> (String, String) {
    let c = super::clock::Civil::from_unix(unix);
    let day = format!("{:04}{:02}{:02}", c.year, c.month, c.day);
    let full = format!("{day}T{:02}{:02}{:02}Z", c.hour, c.minute, c.second);
    (full, day)
}

/// `2026-12-02T18:00:00.000Z` (S3's ISO 8601) as seconds since the epoch.
pub fn parse_iso8601(text: &str) -> Option<i64> {
    let t = text.trim();
    let num = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<u32>().ok());
    let year = t.get(0..4)?.parse::<i64>().ok()?;
    let (month, day, hour, minute, second) = (
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if t.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    super::clock::Civil::checked(year, month, day, hour, minute, second)
}

/// The canonical query string: names and values encoded, sorted.
fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(n, v)| (uri_encode(n, false), uri_encode(v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// What a signature covers.
struct Signing<'a> {
    method: &'a str,
    /// Encoded path.
    path: &'a str,
    /// Canonical query string.
    query: &'a str,
    /// Lower-case names, trimmed values; includes `host`, `x-amz-date`, `x-amz-content-sha256`.
    headers: &'a [(String, String)],
    payload_sha256: &'a str,
    /// `20130524T000000Z`.
    amz_date: &'a str,
    /// `20130524`.
    day: &'a str,
}

/// The `Authorization` header of a request (AWS Signature Version 4, service `s3`).
fn authorization(credentials: &Credentials, region: &str, r: &Signing<'_>) -> String {
    let Signing {
        method,
        path,
        query,
        headers,
        payload_sha256,
        amz_date,
        day,
    } = *r;
    let mut sorted: Vec<&(String, String)> = headers.iter().collect();
    sorted.sort();
    let canonical_headers: String = sorted.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed: Vec<&str> = sorted.iter().map(|(n, _)| n.as_str()).collect();
    let signed = signed.join(";");
    let canonical =
        format!("{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{payload_sha256}");
    let scope = format!("{day}/{region}/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac(
        format!("AWS4{}", credentials.secret_key).as_bytes(),
        day.as_bytes(),
    );
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex(&hmac(&k_signing, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
        credentials.access_key
    )
}

/// A parsed XML answer's elements named `name` anywhere below the root.
fn elements<'a, 'i>(
    doc: &'a roxmltree::Document<'i>,
    name: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> + 'a {
    doc.descendants()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

/// The text of the first element `name`.
fn first_text(doc: &roxmltree::Document<'_>, name: &str) -> Option<String> {
    elements(doc, name)
        .next()
        .and_then(|n| n.text().map(str::to_string))
}

/// A listing's `IsTruncated`.
fn truncated(doc: &roxmltree::Document<'_>) -> bool {
    first_text(doc, "IsTruncated").is_some_and(|t| t.trim() == "true")
}

/// The text of `node`'s child element `name`.
fn child_text(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
        .map(|c| c.text().unwrap_or("").to_string())
}

/// An XML text node's content escaped for a request body.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Client {
    pub fn new(settings: Settings) -> Result<Client, S3Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            // A part of 16 MiB on a slow link is well under this; a server that stops
            // answering is not waited on for ever.
            .timeout_recv_response(Some(Duration::from_secs(300)))
            .timeout_recv_body(Some(Duration::from_secs(300)))
            .timeout_send_body(Some(Duration::from_secs(300)))
            .user_agent(concat!("nself/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let bad = |m: String| S3Error::BadAnswer {
            doing: "reading the S3 settings".into(),
            message: m,
        };
        let (origin, host, base_path) = match &settings.endpoint {
            Some(e) => {
                let e = e.trim_end_matches('/');
                let rest = e
                    .strip_prefix("http://")
                    .or_else(|| e.strip_prefix("https://"))
                    .ok_or_else(|| {
                        bad(format!(
                            "AWS_ENDPOINT_URL {e} must start with http:// or https://"
                        ))
                    })?;
                if rest.is_empty() || rest.contains('/') || rest.contains('@') {
                    return Err(bad(format!(
                        "AWS_ENDPOINT_URL {e} must be a scheme and a host (and port), nothing else"
                    )));
                }
                (
                    e.to_string(),
                    rest.to_string(),
                    format!("/{}", uri_encode(&settings.bucket, false)),
                )
            }
            None => {
                // Buckets with dots break virtual-hosted TLS names: path-style for them.
                let regional = format!("s3.{}.amazonaws.com", settings.region);
                if settings.bucket.contains('.') {
                    (
                        format!("https://{regional}"),
                        regional,
                        format!("/{}", uri_encode(&settings.bucket, false)),
                    )
                } else {
                    let host = format!("{}.{regional}", settings.bucket);
                    (format!("https://{host}"), host, String::new())
                }
            }
        };
        Ok(Client {
            agent,
            settings,
            origin,
            host,
            base_path,
            stop: None,
        })
    }

    /// Checks `flag` between parts and stops (aborting the upload) when it is set.
    pub fn stop_on(&mut self, flag: &'static std::sync::atomic::AtomicBool) {
        self.stop = Some(flag);
    }

    pub fn bucket(&self) -> &str {
        &self.settings.bucket
    }

    /// `s3://bucket/key`.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.settings.bucket)
    }

    fn stopped(&self) -> bool {
        self.stop
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Sends a signed request; the answer whatever its status.
    fn send(
        &self,
        call: &Call<'_>,
        doing: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, S3Error> {
        let path = if call.key.is_empty() {
            if self.base_path.is_empty() {
                "/".to_string()
            } else {
                self.base_path.clone()
            }
        } else {
            format!("{}/{}", self.base_path, uri_encode(call.key, true))
        };
        let query = canonical_query(&call.query);
        let payload = if call.body.is_empty() {
            EMPTY_SHA256.to_string()
        } else {
            sha256_hex(call.body)
        };
        let (amz_date, day) = amz_dates(super::clock::now_unix());
        let mut headers = call.headers.clone();
        headers.push(("host".into(), self.host.clone()));
        headers.push(("x-amz-date".into(), amz_date.clone()));
        headers.push(("x-amz-content-sha256".into(), payload.clone()));
        if let Some(t) = &self.settings.credentials.session_token {
            headers.push(("x-amz-security-token".into(), t.clone()));
        }
        let auth = authorization(
            &self.settings.credentials,
            &self.settings.region,
            &Signing {
                method: call.method,
                path: &path,
                query: &query,
                headers: &headers,
                payload_sha256: &payload,
                amz_date: &amz_date,
                day: &day,
            },
        );
        let uri = if query.is_empty() {
            format!("{}{path}", self.origin)
        } else {
            format!("{}{path}?{query}", self.origin)
        };
        let mut req = ureq::http::Request::builder().method(call.method).uri(&uri);
        for (n, v) in &headers {
            if n != "host" {
                req = req.header(n.as_str(), v.as_str());
            }
        }
        req = req.header("authorization", auth);
        let req = req.body(call.body).map_err(|e| S3Error::BadAnswer {
            doing: doing.to_string(),
            message: format!("building the request: {e}"),
        })?;
        self.agent.run(req).map_err(|e| S3Error::Network {
            doing: doing.to_string(),
            message: match e {
                ureq::Error::Io(e) => e.to_string(),
                other => other.to_string(),
            },
        })
    }

    /// Sends `call`, retrying transient failures (three tries, 0.5 s then 2 s apart); reads
    /// a 2xx answer's body into memory (bounded), or turns an error answer into [`S3Error`].
    fn request(
        &self,
        call: &Call<'_>,
        doing: &str,
    ) -> Result<(ureq::http::HeaderMap, String), S3Error> {
        retrying(|| {
            self.send(call, doing).and_then(|resp| {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let text = read_answer(resp, doing)?;
                if (200..300).contains(&status) {
                    // CompleteMultipartUpload can answer 200 with an error inside.
                    if text.contains("<Error>") {
                        return Err(error_answer(doing, status.max(500), &text));
                    }
                    Ok((headers, text))
                } else {
                    Err(error_answer(doing, status, &text))
                }
            })
        })
    }

    /// Uploads `len` bytes from `reader` to `key` with `x-amz-meta-*` headers `meta`: one PUT
    /// up to the part size, else a multipart upload, aborted on any failure. `progress` gets
    /// the bytes sent so far.
    pub fn put(
        &self,
        key: &str,
        reader: &mut dyn Read,
        len: u64,
        meta: &[(&str, &str)],
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), S3Error> {
        let part = self.settings.part_size.max(MIN_PART);
        let doing = format!("uploading {}", self.url(key));
        if len <= part as u64 {
            let mut buf = Vec::with_capacity(len as usize);
            reader
                .take(len)
                .read_to_end(&mut buf)
                .map_err(|error| S3Error::Io {
                    doing: doing.clone(),
                    error,
                })?;
            if buf.len() as u64 != len {
                return Err(S3Error::Io {
                    doing,
                    error: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file is shorter than it was",
                    ),
                });
            }
            let mut call = Call::new("PUT", key).body(&buf);
            for (n, v) in meta {
                call = call.header(&format!("x-amz-meta-{n}"), v);
            }
            self.request(&call, &doing)?;
            progress(len);
            return Ok(());
        }
        let mut call = Call::new("POST", key).query("uploads", "");
        for (n, v) in meta {
            call = call.header(&format!("x-amz-meta-{n}"), v);
        }
        let (_, text) = self.request(
            &call,
            &format!("starting the multipart upload of {}", self.url(key)),
        )?;
        let upload_id = parse_doc(&text, &doing).and_then(|doc| {
            elements(&doc, "UploadId")
                .next()
                .and_then(|n| n.text().map(str::to_string))
                .ok_or_else(|| S3Error::BadAnswer {
                    doing: doing.clone(),
                    message: "no UploadId".into(),
                })
        })?;
        let result = self.upload_parts(key, &upload_id, reader, len, part, progress);
        if result.is_err() {
            // Best effort: a failed abort leaves a stale upload that the next sweep removes.
            let _ = self.abort(key, &upload_id);
        }
        result
    }

    fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        reader: &mut dyn Read,
        len: u64,
        part: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), S3Error> {
        let mut buf = vec![0u8; part];
        let mut sent = 0u64;
        let mut etags = Vec::new();
        let mut number = 0u32;
        while sent < len {
            if self.stopped() {
                return Err(S3Error::Interrupted);
            }
            number += 1;
            let want = (len - sent).min(part as u64) as usize;
            let chunk = &mut buf[..want];
            reader.read_exact(chunk).map_err(|error| S3Error::Io {
                doing: format!("reading the backup for part {number}"),
                error,
            })?;
            let n = number.to_string();
            let doing = format!("uploading part {number} of {}", self.url(key));
            let call = Call::new("PUT", key)
                .query("partNumber", &n)
                .query("uploadId", upload_id)
                .body(chunk);
            let (headers, _) = self.request(&call, &doing)?;
            let etag = headers
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| S3Error::BadAnswer {
                    doing: doing.clone(),
                    message: "no ETag".into(),
                })?;
            etags.push(etag);
            sent += want as u64;
            progress(sent);
        }
        let mut body = String::from("<CompleteMultipartUpload>");
        for (i, e) in etags.iter().enumerate() {
            body.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                i + 1,
                xml_escape(e)
            ));
        }
        body.push_str("</CompleteMultipartUpload>");
        let call = Call::new("POST", key)
            .query("uploadId", upload_id)
            .header("content-type", "application/xml")
            .body(body.as_bytes());
        self.request(
            &call,
            &format!("completing the upload of {}", self.url(key)),
        )?;
        Ok(())
    }

    /// Aborts a multipart upload.
    pub fn abort(&self, key: &str, upload_id: &str) -> Result<(), S3Error> {
        let call = Call::new("DELETE", key).query("uploadId", upload_id);
        self.request(&call, &format!("aborting the upload of {}", self.url(key)))?;
        Ok(())
    }

    /// HEAD: `None` when there is no such object.
    pub fn head(&self, key: &str) -> Result<Option<Head>, S3Error> {
        let doing = format!("looking up {}", self.url(key));
        match self.request(&Call::new("HEAD", key), &doing) {
            Ok((headers, _)) => {
                let size = headers
                    .get("content-length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| S3Error::BadAnswer {
                        doing: doing.clone(),
                        message: "no Content-Length".into(),
                    })?;
                let meta = headers
                    .iter()
                    .filter_map(|(n, v)| {
                        let n = n.as_str().to_ascii_lowercase();
                        let name = n.strip_prefix("x-amz-meta-")?.to_string();
                        Some((name, v.to_str().ok()?.to_string()))
                    })
                    .collect();
                Ok(Some(Head { size, meta }))
            }
            Err(S3Error::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Streams an object into `out`; the number of bytes.
    pub fn get(
        &self,
        key: &str,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, S3Error> {
        let doing = format!("downloading {}", self.url(key));
        let resp = retrying(|| {
            self.send(&Call::new("GET", key), &doing).and_then(|resp| {
                let status = resp.status().as_u16();
                if (200..300).contains(&status) {
                    Ok(resp)
                } else {
                    let text = read_answer(resp, &doing)?;
                    Err(error_answer(&doing, status, &text))
                }
            })
        })?;
        let mut reader = resp.into_body().into_reader();
        let mut buf = vec![0u8; 256 << 10];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(S3Error::Network {
                        doing,
                        message: e.to_string(),
                    })
                }
            };
            out.write_all(&buf[..n]).map_err(|error| S3Error::Io {
                doing: doing.clone(),
                error,
            })?;
            total += n as u64;
            progress(total);
        }
        Ok(total)
    }

    /// Deletes an object (no error when it is already gone).
    pub fn delete(&self, key: &str) -> Result<(), S3Error> {
        match self.request(
            &Call::new("DELETE", key),
            &format!("deleting {}", self.url(key)),
        ) {
            Ok(_) | Err(S3Error::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every object under `prefix` (ListObjectsV2, all pages).
    pub fn list(&self, prefix: &str) -> Result<Vec<Object>, S3Error> {
        let doing = format!("listing {}", self.url(prefix));
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut call = Call::new("GET", "")
                .query("list-type", "2")
                .query("prefix", prefix);
            if let Some(t) = &token {
                call = call.query("continuation-token", t);
            }
            let (_, text) = self.request(&call, &doing)?;
            let doc = parse_doc(&text, &doing)?;
            for c in elements(&doc, "Contents") {
                let Some(key) = child_text(c, "Key") else {
                    continue;
                };
                out.push(Object {
                    key,
                    size: child_text(c, "Size")
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(0),
                    modified_unix: child_text(c, "LastModified")
                        .and_then(|t| parse_iso8601(&t))
                        .unwrap_or(0),
                });
            }
            let truncated = truncated(&doc);
            let next = first_text(&doc, "NextContinuationToken");
            match (truncated, next) {
                (true, Some(t)) if token.as_ref() != Some(&t) => token = Some(t),
                (true, _) => {
                    return Err(S3Error::BadAnswer {
                        doing,
                        message: "a truncated listing without a new continuation token".into(),
                    })
                }
                (false, _) => return Ok(out),
            }
        }
    }

    /// Every unfinished multipart upload under `prefix` (all pages).
    pub fn uploads(&self, prefix: &str) -> Result<Vec<Upload>, S3Error> {
        let doing = format!("listing the unfinished uploads under {}", self.url(prefix));
        let mut out = Vec::new();
        let mut marker: Option<(String, String)> = None;
        loop {
            let mut call = Call::new("GET", "")
                .query("uploads", "")
                .query("prefix", prefix);
            if let Some((k, u)) = &marker {
                call = call.query("key-marker", k).query("upload-id-marker", u);
            }
            let (_, text) = self.request(&call, &doing)?;
            let doc = parse_doc(&text, &doing)?;
            for u in elements(&doc, "Upload") {
                let (Some(key), Some(upload_id)) =
                    (child_text(u, "Key"), child_text(u, "UploadId"))
                else {
                    continue;
                };
                out.push(Upload {
                    key,
                    upload_id,
                    initiated_unix: child_text(u, "Initiated")
                        .and_then(|t| parse_iso8601(&t))
                        .unwrap_or(0),
                });
            }
            let truncated = truncated(&doc);
            let next = |name| first_text(&doc, name);
            match (truncated, next("NextKeyMarker"), next("NextUploadIdMarker")) {
                (true, Some(k), Some(u)) if marker.as_ref() != Some(&(k.clone(), u.clone())) => {
                    marker = Some((k, u))
                }
                (true, ..) => {
                    return Err(S3Error::BadAnswer {
                        doing,
                        message: "a truncated listing without new markers".into(),
                    })
                }
                (false, ..) => return Ok(out),
            }
        }
    }
}

/// Runs `attempt` up to three times while it fails transiently (0.5 s, then 2 s apart).
fn retrying<T>(mut attempt: impl FnMut() -> Result<T, S3Error>) -> Result<T, S3Error> {
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Err(e) if e.transient() && tries < 3 => {
                std::thread::sleep(Duration::from_millis(if tries == 1 { 500 } else { 2000 }));
            }
            other => return other,
        }
    }
}

fn parse_doc<'i>(text: &'i str, doing: &str) -> Result<roxmltree::Document<'i>, S3Error> {
    roxmltree::Document::parse(text).map_err(|e| S3Error::BadAnswer {
        doing: doing.to_string(),
        message: format!("not XML ({e})"),
    })
}

fn read_answer(resp: ureq::http::Response<ureq::Body>, doing: &str) -> Result<String, S3Error> {
    let mut text = String::new();
    resp.into_body()
        .into_reader()
        .take(MAX_ANSWER)
        .read_to_string(&mut text)
        .map_err(|e| S3Error::Network {
            doing: doing.to_string(),
            message: format!("reading the answer: {e}"),
        })?;
    Ok(text)
}

/// An error status with S3's `<Error><Code>…</Code><Message>…</Message></Error>` body (HEAD
/// answers have none).
fn error_answer(doing: &str, status: u16, text: &str) -> S3Error {
    let (code, message) = match roxmltree::Document::parse(text) {
        Ok(doc) => {
            let get = |name| {
                elements(&doc, name)
                    .next()
                    .and_then(|n| n.text())
                    .unwrap_or("")
                    .trim()
                    .chars()
                    .take(300)
                    .collect::<String>()
            };
            (get("Code"), get("Message"))
        }
        Err(_) => (
            match status {
                403 => "AccessDenied".to_string(),
                404 => "NotFound".to_string(),
                _ => String::new(),
            },
            String::new(),
        ),
    };
    S3Error::Status {
        doing: doing.to_string(),
        status,
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_follows_sigv4() {
        assert_eq!(uri_encode("a b/c~d_e.f-g", true), "a%20b/c~d_e.f-g");
        assert_eq!(uri_encode("a/b+c=", false), "a%2Fb%2Bc%3D");
        assert_eq!(uri_encode("é", false), "%C3%A9");
        assert_eq!(
            canonical_query(&[
                ("prefix".into(), "nself/local/".into()),
                ("list-type".into(), "2".into()),
                ("uploads".into(), "".into()),
            ]),
            "list-type=2&prefix=nself%2Flocal%2F&uploads="
        );
    }

    /// The example of AWS's "Signature Calculations for the Authorization Header" page (GET
    /// Object with a Range header): its published signature.
    #[test]
    fn signature_matches_the_documented_example() {
        let credentials = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let headers = vec![
            (
                "host".to_string(),
                "examplebucket.s3.amazonaws.com".to_string(),
            ),
            ("range".to_string(), "bytes=0-9".to_string()),
            ("x-amz-content-sha256".to_string(), EMPTY_SHA256.to_string()),
            ("x-amz-date".to_string(), "20130524T000000Z".to_string()),
        ];
        let auth = authorization(
            &credentials,
            "us-east-1",
            &Signing {
                method: "GET",
                path: "/test.txt",
                query: "",
                headers: &headers,
                payload_sha256: EMPTY_SHA256,
                amz_date: "20130524T000000Z",
                day: "20130524",
            },
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_iso8601("2013-05-24T00:00:01.000Z"),
            Some(super::super::clock::Civil::from_unix(1_369_353_601).to_unix())
        );
        assert_eq!(
            parse_iso8601("2013-05-24T00:00:01.000Z"),
            Some(1_369_353_601)
        );
        assert_eq!(parse_iso8601("yesterday"), None);
        assert_eq!(amz_dates(1_369_353_600).0, "20130524T000000Z");
    }

    #[test]
    fn credentials_stay_out_of_debug_and_errors() {
        let c = Credentials {
            access_key: "AKID".into(),
            secret_key: "very-secret".into(),
            session_token: Some("token-secret".into()),
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("very-secret") && !shown.contains("token-secret"));
        let e = error_answer(
            "uploading s3://b/k",
            403,
            "<Error><Code>SignatureDoesNotMatch</Code><Message>nope</Message></Error>",
        );
        assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
        assert!(e.to_string().contains("AWS_SECRET_ACCESS_KEY"));
    }
}

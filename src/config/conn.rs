//! Connection parameters for one PostgreSQL server: parsing `postgres://` URLs and libpq
//! `key=value` strings, and the redacted form that is the only way they are ever shown.
//!
//! Invariant: the password is only reachable through [`ConnParams::password`]; `Debug`,
//! [`ConnParams::redacted`] and every parse error leave it out. This module does no I/O.

use std::fmt;

/// Where to connect and as whom. `host` starting with `/` is a unix-socket directory.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnParams {
    pub host: String,
    pub port: u16,
    pub user: String,
    password: Option<String>,
    pub dbname: String,
    /// libpq's `sslmode` as written (`disable`, `prefer`, `require` …), if given.
    pub sslmode: Option<String>,
    /// Seconds; `None` means the caller's default.
    pub connect_timeout: Option<u64>,
    /// libpq's `options` (e.g. `-c search_path=app`).
    pub options: Option<String>,
}

/// Defaults for whatever a URL leaves out, taken from libpq's `PG*` variables by the caller.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    pub host: Option<String>,
    pub port: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub dbname: Option<String>,
    pub sslmode: Option<String>,
    pub connect_timeout: Option<String>,
}

/// A malformed connection string. The message never quotes the string itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

impl ConnParams {
    pub fn new(host: &str, port: u16, user: &str, password: Option<&str>, dbname: &str) -> Self {
        ConnParams {
            host: host.to_string(),
            port,
            user: user.to_string(),
            password: password.filter(|p| !p.is_empty()).map(str::to_string),
            dbname: dbname.to_string(),
            sslmode: None,
            connect_timeout: None,
            options: None,
        }
    }

    /// The password, for handing to a driver or to `psql` through its environment. Never print it.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    pub fn set_password(&mut self, password: Option<String>) {
        self.password = password.filter(|p| !p.is_empty());
    }

    pub fn is_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    /// Parses a `postgres://`/`postgresql://` URL or a libpq `key=value …` string (empty: only
    /// the defaults); anything it leaves out comes from `defaults`, then libpq's own defaults.
    pub fn parse(text: &str, defaults: &Defaults) -> Result<ConnParams, ParseError> {
        let text = text.trim();
        let mut fields = if text.is_empty() {
            Fields::new()
        } else if let Some(rest) = text
            .strip_prefix("postgresql://")
            .or_else(|| text.strip_prefix("postgres://"))
        {
            parse_url(rest)?
        } else if text.contains('=') {
            parse_keywords(text)?
        } else {
            return Err(ParseError(
                "expected a postgres:// URL or libpq key=value settings".into(),
            ));
        };
        let mut take = |k: &str| fields.remove(k).filter(|v| !v.is_empty());
        let host = take("host")
            .or_else(|| defaults.host.clone())
            .unwrap_or_else(|| "localhost".into());
        let port = match take("port").or_else(|| defaults.port.clone()) {
            None => 5432,
            // The text is shown only when it is digits: anything else may be a piece of a
            // mistyped password.
            Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
                    ParseError(format!("port must be a number from 1 to 65535, got {p}"))
                } else {
                    ParseError("port must be a number from 1 to 65535".into())
                }
            })?,
        };
        let user = take("user")
            .or_else(|| defaults.user.clone())
            .unwrap_or_else(|| "postgres".into());
        let password = take("password").or_else(|| defaults.password.clone());
        let dbname = take("dbname")
            .or_else(|| defaults.dbname.clone())
            .unwrap_or_else(|| user.clone());
        let sslmode = take("sslmode").or_else(|| defaults.sslmode.clone());
        if let Some(mode) = &sslmode {
            const MODES: [&str; 6] = [
                "disable",
                "allow",
                "prefer",
                "require",
                "verify-ca",
                "verify-full",
            ];
            if !MODES.contains(&mode.as_str()) {
                return Err(ParseError(format!(
                    "sslmode {mode:?} is not one of {}",
                    MODES.join(", ")
                )));
            }
        }
        let connect_timeout =
            match take("connect_timeout").or_else(|| defaults.connect_timeout.clone()) {
                None => None,
                Some(t) => Some(t.parse::<u64>().map_err(|_| {
                    ParseError(format!(
                        "connect_timeout must be a whole number of seconds, got {t:?}"
                    ))
                })?),
            };
        let options = take("options");
        // Parameters we do not act on (application_name, target_session_attrs …) are accepted
        // and ignored, as libpq ignores what it does not need.
        let mut params = ConnParams::new(&host, port, &user, None, &dbname);
        params.set_password(password);
        params.sslmode = sslmode;
        params.connect_timeout = connect_timeout;
        params.options = options;
        Ok(params)
    }

    /// A URL that shows everything but the password (`****` stands in for it when there is one).
    pub fn redacted(&self) -> String {
        let mut s = String::from("postgresql://");
        s.push_str(&encode(&self.user));
        if self.password.is_some() {
            s.push_str(":****");
        }
        s.push('@');
        if self.is_socket() {
            s.push_str(&format!(
                ":{}/{}?host={}",
                self.port,
                encode(&self.dbname),
                encode(&self.host)
            ));
        } else {
            let host = if self.host.contains(':') {
                format!("[{}]", self.host)
            } else {
                encode(&self.host)
            };
            s.push_str(&format!("{host}:{}/{}", self.port, encode(&self.dbname)));
        }
        if let Some(mode) = &self.sslmode {
            s.push_str(if s.contains('?') { "&" } else { "?" });
            s.push_str("sslmode=");
            s.push_str(&encode(mode));
        }
        s
    }

    /// The same server and credentials, another database.
    pub fn with_dbname(&self, dbname: &str) -> ConnParams {
        ConnParams {
            dbname: dbname.to_string(),
            ..self.clone()
        }
    }

    /// A full URL including the password, for handing to a child process's environment (e.g.
    /// a test running the binary). Never print it; print [`ConnParams::redacted`].
    pub fn to_url_with_password(&self) -> String {
        let mut s = format!("postgresql://{}", encode(&self.user));
        if let Some(p) = &self.password {
            s.push(':');
            s.push_str(&encode(p));
        }
        s.push('@');
        let mut query = Vec::new();
        if self.is_socket() {
            query.push(format!("host={}", encode(&self.host)));
            s.push_str(&format!(":{}/{}", self.port, encode(&self.dbname)));
        } else if self.host.contains(':') {
            s.push_str(&format!(
                "[{}]:{}/{}",
                self.host,
                self.port,
                encode(&self.dbname)
            ));
        } else {
            s.push_str(&format!(
                "{}:{}/{}",
                encode(&self.host),
                self.port,
                encode(&self.dbname)
            ));
        }
        if let Some(m) = &self.sslmode {
            query.push(format!("sslmode={}", encode(m)));
        }
        if let Some(t) = self.connect_timeout {
            query.push(format!("connect_timeout={t}"));
        }
        if let Some(o) = &self.options {
            query.push(format!("options={}", encode(o)));
        }
        if !query.is_empty() {
            s.push('?');
            s.push_str(&query.join("&"));
        }
        s
    }

    /// Replaces every occurrence of the password in `text` (e.g. a driver's error message).
    pub fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(p) if p.len() >= 2 => text.replace(p.as_str(), "****"),
            _ => text.to_string(),
        }
    }
}

impl fmt::Debug for ConnParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for ConnParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

type Fields = std::collections::BTreeMap<String, String>;

/// `user:password@host:port/dbname?k=v` (after the scheme).
fn parse_url(rest: &str) -> Result<Fields, ParseError> {
    let mut fields = Fields::new();
    // The authority ends at the first `/`, `?` or `#` (RFC 3986). A password holding one of
    // those unencoded would otherwise be cut there and show up as a host, a port or a database
    // name; an `@` after the authority means exactly that, so it is refused without echoing
    // any part of the text.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if rest.contains('#') || (!rest[..authority_end].contains('@') && rest.contains('@')) {
        return Err(ParseError(
            "the URL cannot be read unambiguously: a `/`, `?`, `#` or `@` in the user name or \
             password must be percent-encoded (%2F, %3F, %23, %40)"
                .into(),
        ));
    }
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match main.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (main, None),
    };
    let hostport = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            fields.insert("user".into(), decode(user, "user name")?);
            if let Some(p) = password {
                fields.insert("password".into(), decode(p, "password")?);
            }
            hostport
        }
        None => authority,
    };
    if hostport.contains(',') {
        return Err(ParseError(
            "several hosts in one URL are not supported".into(),
        ));
    }
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let (h, after) = inner
            .split_once(']')
            .ok_or_else(|| ParseError("unclosed `[` in the host".into()))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (decode(h, "host")?, Some(p)),
            None => (decode(hostport, "host")?, None),
        }
    };
    fields.insert("host".into(), host);
    if let Some(p) = port {
        fields.insert("port".into(), p.to_string());
    }
    if let Some(p) = path {
        fields.insert("dbname".into(), decode(p, "database name")?);
    }
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| ParseError("a URL query parameter lacks `=`".into()))?;
        let k = decode(k, "query parameter")?;
        let what = if k == "password" {
            "password"
        } else {
            "query parameter"
        };
        let v = decode(v, what)?;
        fields.insert(k, v);
    }
    Ok(fields)
}

/// libpq's `host=x port=5432 password='a b'` form.
fn parse_keywords(text: &str) -> Result<Fields, ParseError> {
    let mut fields = Fields::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(fields);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(ParseError(format!("setting {key:?} lacks `=`")));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(ParseError(format!(
                            "setting {key:?} lacks its closing quote"
                        )))
                    }
                    Some('\'') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => return Err(ParseError(format!("setting {key:?} ends in `\\`"))),
                    },
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        fields.insert(key, value);
    }
}

fn decode(s: &str, what: &str) -> Result<String, ParseError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ParseError(format!("bad %-escape in the {what}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| ParseError(format!("the {what} is not UTF-8 after %-decoding")))
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ConnParams {
        match ConnParams::parse(s, &Defaults::default()) {
            Ok(p) => p,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn url_fields() {
        let c = p(
            "postgres://app:s%40cret@db.example.com:6543/my%20db?sslmode=disable&connect_timeout=3",
        );
        assert_eq!(
            (
                c.host.as_str(),
                c.port,
                c.user.as_str(),
                c.password(),
                c.dbname.as_str()
            ),
            ("db.example.com", 6543, "app", Some("s@cret"), "my db")
        );
        assert_eq!(c.sslmode.as_deref(), Some("disable"));
        assert_eq!(c.connect_timeout, Some(3));
        let c = p("postgresql://[::1]/x");
        assert_eq!(
            (c.host.as_str(), c.port, c.user.as_str()),
            ("::1", 5432, "postgres")
        );
    }

    #[test]
    fn socket_hosts_and_defaults() {
        let c = p("postgresql:///app?host=/tmp/sock&port=5433");
        assert!(c.is_socket());
        assert_eq!(
            (c.host.as_str(), c.port, c.dbname.as_str()),
            ("/tmp/sock", 5433, "app")
        );
        let c = p("postgresql://u@%2Fvar%2Frun%2Fpostgresql/db");
        assert_eq!(c.host, "/var/run/postgresql");
        let defaults = Defaults {
            host: Some("pghost".into()),
            password: Some("frompg".into()),
            dbname: Some("pgdb".into()),
            ..Defaults::default()
        };
        let c = ConnParams::parse("postgres://me@/", &defaults).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (c.host.as_str(), c.password(), c.dbname.as_str()),
            ("pghost", Some("frompg"), "pgdb")
        );
    }

    #[test]
    fn keyword_form() {
        let c = p("host=h port=7 user=u password='a b\\'c' dbname = d");
        assert_eq!(
            (c.host.as_str(), c.port, c.password(), c.dbname.as_str()),
            ("h", 7, Some("a b'c"), "d")
        );
    }

    #[test]
    fn redaction_never_shows_the_password() {
        for url in [
            "postgres://app:hunter22@db:5432/x",
            "postgres://app:hunter22@/x?host=/tmp/s",
            "host=db password=hunter22",
            "postgres://app@db/x?password=hunter22",
        ] {
            let c = p(url);
            assert_eq!(c.password(), Some("hunter22"));
            for shown in [c.redacted(), format!("{c:?}"), format!("{c}")] {
                assert!(!shown.contains("hunter22"), "{shown}");
                assert!(shown.contains("****"), "{shown}");
            }
        }
        assert_eq!(
            p("postgres://a:hunter22@h/d").redacted(),
            "postgresql://a:****@h:5432/d"
        );
        assert_eq!(
            p("postgres://a:hunter22@h/d").scrub("x hunter22 y"),
            "x **** y"
        );
    }

    #[test]
    fn bad_strings_are_errors_without_the_secret() {
        for bad in [
            "mysql://x",
            "postgres://u:p%zzsecret@h/d",
            "postgres://h:99999/d",
            "postgres://h/d?sslmode=nope",
            "host='unterminated secret",
            "postgres://a,b/d",
        ] {
            match ConnParams::parse(bad, &Defaults::default()) {
                Ok(c) => panic!("{bad} parsed as {c}"),
                Err(e) => assert!(!e.0.contains("secret"), "{e}"),
            }
        }
    }

    /// Passwords with every character that has a meaning in a URL, written unencoded: each is
    /// either read as the whole password or refused, and never shown, whatever part of the
    /// output the parse would have put it in.
    #[test]
    fn unencoded_url_characters_in_a_password_never_show() {
        // Every run of letters and digits is at least 4 long, and none may appear in what is
        // shown (a port error would show the run before a `/`, a database name the one after).
        let secrets = [
            "pwxy/Zq9x",
            "pwxy?Zq9x",
            "pwxy#Zq9x",
            "pwxy@Zq9x",
            "pwxy:Zq9x",
            "pwxy%Zq9x",
            "/Zq9xpwxy",
            "Zq9xpwxy/",
            "abcd/efgh?ijkl#mnop@qrst:uvwx%41yz12",
            "12345",
            "pwxy/5432",
            "pwxy?sslmode=disable",
        ];
        for secret in secrets {
            for url in [
                format!("postgres://app:{secret}@db.example:5432/appdb"),
                format!("postgresql://app:{secret}@db.example/appdb?sslmode=require"),
                format!("postgres://app:{secret}@/appdb?host=/tmp/sock"),
                format!("postgres://app:{secret}@db.example"),
                format!("postgres://app:{secret}@db.example:5432"),
            ] {
                let shown = match ConnParams::parse(&url, &Defaults::default()) {
                    Ok(c) => {
                        // Read: then it must have been read as the password, whole.
                        assert_eq!(
                            c.password().map(|p| p.replace("%41", "A")),
                            Some(secret.replace("%41", "A")),
                            "{url} parsed as {c}"
                        );
                        format!("{} {c:?} {c}", c.redacted())
                    }
                    Err(e) => e.0,
                };
                for piece in secret
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|p| p.len() >= 4 && *p != "5432" && *p != "sslmode")
                {
                    assert!(!shown.contains(piece), "{url}: {piece} in {shown}");
                }
            }
        }
    }

    #[test]
    fn url_with_password_round_trips() {
        for url in [
            "postgres://a:p%40ss%20w@h:1/d%2Fx?sslmode=require",
            "postgres://a@/d?host=/tmp/x%20y",
        ] {
            let c = p(url);
            assert_eq!(p(&c.to_url_with_password()), c);
        }
    }
}

//! libpq's password file (`~/.pgpass` or `PGPASSFILE`): `host:port:database:user:password`
//! lines, `*` matching anything, `\:` and `\\` escaped, `#` comments.
//!
//! Only consulted when no password is configured otherwise, and, as libpq does, ignored when the
//! file can be read by group or others. Pure matching in [`lookup`]; the caller reads the file.
//! Never returns or reports anything but the matching password.

use super::ConnParams;

/// The password of the first line matching `params`, if any.
pub fn lookup(text: &str, params: &ConnParams) -> Option<String> {
    let port = params.port.to_string();
    text.lines().find_map(|line| {
        if line.trim_start().starts_with('#') {
            return None;
        }
        let fields = split(line);
        let [host, p, db, user, password] = fields.as_slice() else {
            return None;
        };
        let host_ok = matches(host, &params.host) || (params.is_socket() && host == "localhost");
        (host_ok && matches(p, &port) && matches(db, &params.dbname) && matches(user, &params.user))
            .then(|| password.clone())
    })
}

fn matches(pattern: &str, value: &str) -> bool {
    pattern == "*" || pattern == value
}

/// Splits on unescaped `:` (at most five fields; the password keeps any further colons).
fn split(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if let Some(last) = fields.last_mut() {
                        last.push(n);
                    }
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            _ => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_line_wins_with_wildcards_and_escapes() {
        let text = "# comment\nother:5432:*:app:nope\ndb.example.com:5432:app:app:pa\\:ss\\\\w\n*:*:*:app:fallback\n";
        let p = ConnParams::new("db.example.com", 5432, "app", None, "app");
        assert_eq!(lookup(text, &p).as_deref(), Some("pa:ss\\w"));
        let q = ConnParams::new("elsewhere", 6000, "app", None, "x");
        assert_eq!(lookup(text, &q).as_deref(), Some("fallback"));
        let r = ConnParams::new("elsewhere", 6000, "someone", None, "x");
        assert_eq!(lookup(text, &r), None);
        let s = ConnParams::new("/var/run/postgresql", 5432, "u", None, "d");
        assert_eq!(
            lookup("localhost:5432:d:u:sock", &s).as_deref(),
            Some("sock")
        );
        assert_eq!(lookup("short:line", &s), None);
    }
}

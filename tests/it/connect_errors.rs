//! One-line connection errors against a real server: wrong password, database missing,
//! permission denied, unreachable. Each names the target redacted and never the password.

use nself::config::ConnParams;
use nself::connect::{connect_params, ConnectError};
use nself::local::testing::{fresh_database, server};

const PASSWORD: &str = "right-horse-battery";

/// A role that must log in with a password (our test cluster's pg_hba asks every role but the
/// superuser for one). Returns None when an external test server does not enforce passwords.
fn password_role(db: &nself::local::testing::TestDatabase, suffix: &str) -> Option<ConnParams> {
    let role = format!("{}_{suffix}", db.name);
    let mut admin = db.admin();
    admin
        .batch_execute(&format!("CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'"))
        .unwrap();
    let mut params = db.params.clone();
    params.user = role;
    params.set_password(Some("wrong-password".into()));
    if !server().owned && connect_params(&params).is_ok() {
        return None;
    }
    params.set_password(Some(PASSWORD.into()));
    Some(params)
}

fn one_line(e: &ConnectError) -> String {
    let s = e.to_string();
    assert!(!s.contains('\n'), "not one line: {s}");
    assert!(
        !s.contains(PASSWORD) && !s.contains("wrong-password"),
        "password shown: {s}"
    );
    s
}

#[test]
fn wrong_password_missing_database_and_permission_denied() {
    let db = fresh_database();
    let Some(good) = password_role(&db, "pw") else {
        eprintln!("the external test server does not enforce passwords; skipped");
        return;
    };
    connect_params(&good).unwrap();

    let mut wrong = good.clone();
    wrong.set_password(Some("wrong-password".into()));
    match connect_params(&wrong) {
        Err(e @ ConnectError::WrongPassword { .. }) => {
            let s = one_line(&e);
            assert!(s.contains(&good.user) && s.contains(":****@"), "{s}");
        }
        Err(e) => panic!("expected wrong password, got {e}"),
        Ok(_) => panic!("connected with a wrong password"),
    }

    let mut none = good.clone();
    none.set_password(None);
    match connect_params(&none) {
        Err(e @ ConnectError::NoPassword { .. }) => {
            one_line(&e);
        }
        Err(e) => panic!("expected no password, got {e}"),
        Ok(_) => panic!("connected without a password"),
    }

    let missing = good.with_dbname("nself_no_such_database");
    match connect_params(&missing) {
        Err(e @ ConnectError::DatabaseMissing { .. }) => {
            let s = one_line(&e);
            assert!(
                s.contains("nself_no_such_database") && s.contains("createdb"),
                "{s}"
            );
        }
        Err(e) => panic!("expected database missing, got {e}"),
        Ok(_) => panic!("connected to a missing database"),
    }

    db.admin()
        .batch_execute(&format!(
            "REVOKE CONNECT ON DATABASE {} FROM PUBLIC",
            db.name
        ))
        .unwrap();
    match connect_params(&good) {
        Err(e @ ConnectError::PermissionDenied { .. }) => {
            let s = one_line(&e);
            assert!(s.contains("GRANT CONNECT"), "{s}");
        }
        Err(e) => panic!("expected permission denied, got {e}"),
        Ok(_) => panic!("connected without CONNECT privilege"),
    }
    let mut admin = db.admin();
    nself::connect::drop_database(&mut admin, &db.name).unwrap();
    admin
        .batch_execute(&format!("DROP ROLE {}", good.user))
        .unwrap();
}

#[test]
fn unreachable_servers_fail_fast_with_the_target() {
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let params = ConnParams::new("127.0.0.1", port, "app", Some(PASSWORD), "d");
    let started = std::time::Instant::now();
    match connect_params(&params) {
        Err(e @ ConnectError::Unreachable { .. }) => {
            let s = one_line(&e);
            assert!(
                s.contains(&format!("postgresql://app:****@127.0.0.1:{port}/d"))
                    && s.contains("refused"),
                "{s}"
            );
        }
        Err(e) => panic!("expected unreachable, got {e}"),
        Ok(_) => panic!("connected to nothing"),
    }
    assert!(started.elapsed().as_secs() < 5);
    let socket = ConnParams::new("/nonexistent/nself-socket", 5432, "app", None, "d");
    match connect_params(&socket) {
        Err(e @ ConnectError::Unreachable { .. }) => {
            assert!(one_line(&e).contains("no server socket"), "{e}")
        }
        Err(e) => panic!("expected unreachable, got {e}"),
        Ok(_) => panic!("connected to nothing"),
    }
}

#[test]
fn fresh_databases_are_separate_and_dropped() {
    let a = fresh_database();
    let b = fresh_database();
    assert_ne!(a.name, b.name);
    a.client()
        .batch_execute("CREATE TABLE only_in_a (id int)")
        .unwrap();
    let n: i64 = b
        .client()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    let name = a.name.clone();
    drop(a);
    let exists: bool = b
        .admin()
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&name],
        )
        .unwrap()
        .get(0);
    assert!(!exists, "the test database was not dropped");
}

/// A password with every character that means something in a URL (`/ ? # @ : %`): written
/// percent-encoded in `DATABASE_URL` it connects and is never shown; written as it is, the URL
/// is refused with the encoding to use, and no piece of the password is shown either.
#[test]
fn passwords_with_url_characters_never_show_however_the_url_is_spelled() {
    use super::support::Project;
    const SECRET: &str = "Pqzz/7Wkk?x9Lm#Rt9v@zQw:1%Kwyy";
    let db = fresh_database();
    let role = format!("{}_url", db.name);
    db.admin()
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD {}; GRANT ALL ON DATABASE {} TO {role}",
            nself::sql::quote_literal(SECRET),
            nself::sql::quote_ident(&db.name)
        ))
        .unwrap();
    let (host, port) = (db.params.host.clone(), db.params.port);
    let encoded: String = SECRET
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let host_part = if host.starts_with('/') {
        format!("@:{port}/{}?host={}", db.name, host.replace('/', "%2F"))
    } else {
        format!("@{host}:{port}/{}", db.name)
    };
    let project = Project::new();
    let pieces: Vec<&str> = SECRET
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| p.len() >= 3)
        .collect();
    let shows_none = |out: &str| {
        for p in &pieces {
            assert!(
                !out.contains(p),
                "a piece of the password ({p}) is shown:\n{out}"
            );
        }
    };

    let good = format!("postgres://{role}:{encoded}{host_part}");
    let run = project.run(&["db", "status"], &[("DATABASE_URL", &good)]);
    shows_none(&run.all());
    run.ok();

    for spelled in [
        format!("postgres://{role}:{SECRET}{host_part}"),
        format!("postgresql://{role}:{}{host_part}", &SECRET[..10]),
        format!("postgresql://{role}:{}{host_part}", &SECRET[..15]),
        format!("postgresql://{role}:{}{host_part}", &SECRET[..20]),
    ] {
        for args in [
            &["db", "status"][..],
            &["db", "migrate", "status"],
            &["status"],
        ] {
            let run = project.run(args, &[("DATABASE_URL", &spelled)]);
            shows_none(&run.all());
            assert_ne!(run.code, 0, "{args:?} with {spelled}: {}", run.all());
        }
    }
}

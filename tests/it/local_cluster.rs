//! The local database's life through the real binary: start, stop, restart, logs, and the
//! awkward cases (missing binaries, stale pid file, half-made data folder, socket in use).

use super::support::Project;
use nself::local::testing::TempDir;

fn pid_of(p: &Project) -> i64 {
    let doc = p.run(&["status", "--format", "json"], &[]).ok().json();
    assert_eq!(doc["state"], "running", "{doc}");
    doc["pid"].as_i64().unwrap()
}

#[test]
fn missing_server_binaries_say_how_to_install_them() {
    let p = Project::new();
    let empty = TempDir::new("nself-no-pg").unwrap();
    let r = p.run(
        &["db", "status"],
        &[("NSELF_PG_BINDIR", empty.path().to_str().unwrap())],
    );
    r.fails(1, &["apt-get install postgresql"]);
    assert!(r.stderr.contains("DATABASE_URL"), "{}", r.stderr);
    assert!(
        r.stderr.contains(empty.path().to_str().unwrap()),
        "{}",
        r.stderr
    );
    assert!(!p.state_dir().join("data").exists());
    let r = p.run(
        &["start"],
        &[("NSELF_PG_BINDIR", empty.path().to_str().unwrap())],
    );
    assert_eq!(r.code, 1, "{}", r.all());
}

#[test]
fn start_stop_restart_logs_and_a_stale_pid_file() {
    let p = Project::new();
    let r = p.run(&["start"], &[]);
    assert!(
        r.ok().stdout.contains("Local database started"),
        "{}",
        r.stdout
    );
    let pid = pid_of(&p);
    assert!(p
        .run(&["start"], &[])
        .ok()
        .stdout
        .contains(&format!("already running (pid {pid})")));

    p.run(&["restart", "postgres"], &[]).ok();
    let restarted = pid_of(&p);
    assert_ne!(restarted, pid);

    let logs = p.run(&["logs", "postgres", "-n", "5"], &[]);
    assert!(
        logs.ok().stdout.contains("ready to accept connections"),
        "{}",
        logs.stdout
    );
    assert!(logs.stdout.lines().count() <= 5);

    assert!(p.run(&["stop"], &[]).ok().stdout.contains("stopped"));
    assert_eq!(
        p.run(&["status", "--format", "json"], &[]).ok().json()["state"],
        "stopped"
    );
    assert!(p.run(&["stop"], &[]).ok().stdout.contains("not running"));

    // A pid file left by a crash, naming a live process that is not PostgreSQL (this test).
    let pid_file = p.state_dir().join("data/postmaster.pid");
    let data_dir = p.state_dir().join("data");
    std::fs::write(
        &pid_file,
        format!("{}\n{}\n", std::process::id(), data_dir.display()),
    )
    .unwrap();
    assert_eq!(
        p.run(&["status", "--format", "json"], &[]).ok().json()["state"],
        "stopped"
    );
    p.run(&["db", "status"], &[]).ok();
    let after = pid_of(&p);
    assert_ne!(after, std::process::id() as i64);

    // A pid file naming another cluster's live PostgreSQL server (pid reused after a crash).
    if let Some(other) = nself::local::testing::server().pid {
        p.run(&["stop"], &[]).ok();
        std::fs::write(&pid_file, format!("{other}\n{}\n", data_dir.display())).unwrap();
        assert_eq!(
            p.run(&["status", "--format", "json"], &[]).ok().json()["state"],
            "stopped"
        );
        p.run(&["start"], &[]).ok();
        assert_ne!(pid_of(&p), other as i64);
        assert!(
            nself::local::process::pid_alive(other),
            "the other server was left alone"
        );
    }

    // A data folder from another major version is never started by the wrong programs.
    p.run(&["stop"], &[]).ok();
    let version_file = data_dir.join("PG_VERSION");
    let real = std::fs::read_to_string(&version_file).unwrap();
    std::fs::write(&version_file, "99\n").unwrap();
    p.run(&["start"], &[])
        .fails(1, &["made by PostgreSQL 99", "install PostgreSQL 99"]);
    std::fs::write(&version_file, real).unwrap();
    p.run(&["start"], &[]).ok();
}

#[test]
fn a_half_made_data_folder_is_reported_or_remade() {
    // A data folder that is not ours and not complete: reported, never deleted.
    let p = Project::new();
    p.write(".nself/postgres/data/some-file", "precious?");
    let r = p.run(&["db", "status"], &[]);
    r.fails(1, &["not a complete PostgreSQL data folder", "rm -rf"]);
    assert!(p.state_dir().join("data/some-file").exists());

    // An initdb that nself started and that never finished: safe to redo.
    let q = Project::new();
    q.write(".nself/postgres/data/PG_VERSION", "15\n")
        .write(".nself/postgres/initdb.incomplete", "");
    q.run(&["db", "status"], &[]).ok();
    assert!(!q.state_dir().join("initdb.incomplete").exists());
    pid_of(&q);
}

#[test]
fn a_socket_used_by_another_server_is_reported() {
    let a = Project::new();
    a.run(&["start"], &[]).ok();
    let a_pid = pid_of(&a);
    // Project b's socket lock names a live PostgreSQL server (a's), as if another server owned it.
    let b = Project::new();
    b.write(".nself/postgres/.s.PGSQL.5432.lock", &format!("{a_pid}\n"));
    let r = b.run(&["start"], &[]);
    r.fails(1, &["another server already uses the socket"]);
}

#[test]
fn a_long_project_path_gets_its_socket_in_tmp() {
    let p = Project::nested(&"deep-folder-name/".repeat(6));
    let doc = p
        .run(&["db", "status", "--format", "json"], &[])
        .ok()
        .json();
    assert_eq!(doc["reachable"], true, "{doc}");
    let status = p.run(&["status", "--format", "json"], &[]).ok().json();
    let socket = std::path::PathBuf::from(status["socket_dir"].as_str().unwrap());
    assert!(
        socket.to_string_lossy().starts_with("/tmp/nself-"),
        "{}",
        socket.display()
    );
    assert!(socket.join(".s.PGSQL.5432").exists());
    p.run(&["stop"], &[]).ok();
    assert!(
        !socket.exists(),
        "the /tmp socket folder is removed with the server"
    );
}

#[test]
fn concurrent_first_runs_share_one_cluster() {
    let p = Project::new();
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let dir = p.path().to_path_buf();
            std::thread::spawn(move || {
                let out = std::process::Command::new(super::support::NSELF)
                    .env_clear()
                    .env("PATH", std::env::var("PATH").unwrap_or_default())
                    .args(["db", "status", "--format", "json", "--project-dir"])
                    .arg(dir)
                    .output()
                    .unwrap();
                super::support::Run::from(out)
            })
        })
        .collect();
    let mut pids = Vec::new();
    let mut created = 0;
    for r in runs {
        let r = r.join().unwrap();
        let doc = r.ok().json();
        pids.push(doc["local"]["pid"].as_i64().unwrap());
        if doc["local"]["initialized_now"] == true {
            created += 1;
        }
    }
    assert_eq!(created, 1, "exactly one run creates the cluster");
    assert!(pids.iter().all(|p| *p == pids[0]), "{pids:?}");
}

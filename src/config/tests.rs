//! Environment selection, the .env cascade and connection resolution, as matrices.

use super::*;
use crate::local::testing::TempDir;

fn project(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new("nself-config").unwrap_or_else(|e| panic!("{e}"));
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    dir
}

fn request(dir: &TempDir, process: &[(&str, &str)], flag: Option<&str>) -> Request {
    Request {
        project_dir: dir.path().to_path_buf(),
        process_env: process
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        env_flag: flag.map(str::to_string),
        database_url_flag: None,
    }
}

fn env_of(
    files: &[(&str, &str)],
    process: &[(&str, &str)],
    flag: Option<&str>,
) -> Result<Environment, ConfigError> {
    let dir = project(files);
    select_environment(&request(&dir, process, flag)).map(|(e, _)| e)
}

#[test]
fn environment_precedence_matrix() {
    use Environment::*;
    let file = [(".env", "ENV=staging\n")];
    type Vars<'a> = &'a [(&'a str, &'a str)];
    let cases: Vec<(Vars, Vars, Option<&str>, Environment)> = vec![
        (&[], &[], None, Local),
        (&file, &[], None, Staging),
        (&file, &[("ENV", "prod")], None, Production),
        (&file, &[("ENV", "prod"), ("NSELF_ENV", "dev")], None, Local),
        (
            &file,
            &[("ENV", "prod"), ("NSELF_ENV", "dev")],
            Some("stage"),
            Staging,
        ),
        (&[], &[("NSELF_ENV", "")], None, Local),
        (
            &[
                (".env", "ENV=staging\n"),
                (".env.local", "ENV=production\n"),
            ],
            &[],
            None,
            Production,
        ),
    ];
    for (files, process, flag, want) in cases {
        let got = env_of(files, process, flag).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            got, want,
            "files {files:?} process {process:?} flag {flag:?}"
        );
    }
}

#[test]
fn aliases_and_unknown_names() {
    for (name, want) in [
        ("local", Environment::Local),
        ("dev", Environment::Local),
        ("Development", Environment::Local),
        ("staging", Environment::Staging),
        ("stage", Environment::Staging),
        ("production", Environment::Production),
        (" PROD ", Environment::Production),
    ] {
        assert_eq!(Environment::parse(name), Some(want), "{name}");
    }
    let err = env_of(&[], &[("ENV", "/etc/shrc")], None).err();
    match err {
        Some(e @ ConfigError::UnknownEnvironment { .. }) => {
            let s = e.to_string();
            assert!(
                s.contains("/etc/shrc")
                    && s.contains("process environment")
                    && s.contains("staging"),
                "{s}"
            );
        }
        other => panic!("{other:?}"),
    }
    let err = env_of(&[(".env", "ENV=qa\n")], &[], None).err();
    assert!(
        matches!(&err, Some(ConfigError::UnknownEnvironment { origin: Origin::File(f), .. }) if f == ".env"),
        "{err:?}"
    );
}

#[test]
fn cascade_later_files_win_and_process_wins_over_files() {
    let files = [
        (".env", "A=env\nB=env\nC=env\nD=env\n"),
        (".env.local", "B=local\nC=local\n"),
        (
            ".env.staging",
            "A=staging\nC=staging\nDATABASE_URL=postgres://s@staging-db/app\n",
        ),
    ];
    let dir = project(&files);
    let local =
        resolve(&request(&dir, &[("D", "process")], None)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            local.var("A"),
            local.var("B"),
            local.var("C"),
            local.var("D")
        ),
        (Some("env"), Some("local"), Some("local"), Some("process"))
    );
    assert_eq!(local.files.len(), 2);
    assert!(
        matches!(local.target, Target::Local(_)),
        "DATABASE_URL from .env.staging must not leak into local"
    );
    let staging = resolve_for(&request(&dir, &[], None), "stage").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(staging.environment, Environment::Staging);
    assert_eq!(
        (staging.var("A"), staging.var("B"), staging.var("C")),
        (Some("staging"), Some("env"), Some("staging")),
        ".env.local is only for local"
    );
}

#[test]
fn connection_resolution_order() {
    let dir = project(&[(
        ".env",
        "POSTGRES_HOST=pg-host\nPOSTGRES_PASSWORD=filepw\nPOSTGRES_DB=app\n",
    )]);
    let mut req = request(&dir, &[], None);
    let host_of = |req: &Request| match resolve(req).unwrap_or_else(|e| panic!("{e}")).target {
        Target::Server { params, .. } => params.host,
        Target::Local(_) => "LOCAL".into(),
    };
    assert_eq!(host_of(&req), "pg-host");
    let c = resolve(&req).unwrap_or_else(|e| panic!("{e}"));
    match &c.target {
        Target::Server { params, source } => {
            assert_eq!(
                (params.port, params.dbname.as_str(), params.password()),
                (5432, "app", Some("filepw"))
            );
            assert!(
                source.contains("POSTGRES_HOST") && source.contains(".env"),
                "{source}"
            );
        }
        Target::Local(_) => panic!("expected a server"),
    }
    req.process_env
        .insert("DATABASE_URL".into(), "postgres://u@url-host/x".into());
    assert_eq!(host_of(&req), "url-host");
    req.database_url_flag = Some("postgres://u@flag-host/x".into());
    assert_eq!(host_of(&req), "flag-host");

    let empty = project(&[]);
    let local =
        resolve(&request(&empty, &[("PATH", "/a:/b")], None)).unwrap_or_else(|e| panic!("{e}"));
    match local.target {
        Target::Local(l) => {
            assert_eq!(l.database, DEFAULT_LOCAL_DATABASE);
            assert_eq!(l.state_dir, empty.path().join(".nself/postgres"));
            assert_eq!(l.bins.path, vec![PathBuf::from("/a"), PathBuf::from("/b")]);
        }
        Target::Server { .. } => panic!("expected local"),
    }
    let pg = resolve(&request(
        &empty,
        &[("PGHOST", "/var/run/postgresql"), ("PGUSER", "me")],
        None,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    match pg.target {
        Target::Server { params, .. } => assert_eq!(
            (
                params.host.as_str(),
                params.user.as_str(),
                params.dbname.as_str()
            ),
            ("/var/run/postgresql", "me", "me")
        ),
        Target::Local(_) => panic!("PGHOST should be honoured"),
    }
    let url_pg = resolve(&request(
        &empty,
        &[("DATABASE_URL", "postgres://u@h/d"), ("PGPASSWORD", "pgpw")],
        None,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    match url_pg.target {
        Target::Server { params, .. } => assert_eq!(params.password(), Some("pgpw")),
        Target::Local(_) => panic!("expected a server"),
    }
}

#[test]
fn staging_without_connection_is_an_error_not_the_local_database() {
    let dir = project(&[]);
    let err = resolve(&request(&dir, &[], Some("staging"))).err();
    match err {
        Some(e @ ConfigError::NoConnection { .. }) => {
            let s = e.to_string();
            assert!(
                s.contains("staging") && s.contains(".env.staging") && s.contains("DATABASE_URL"),
                "{s}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_never_show_passwords() {
    let dir = project(&[(".env", "DATABASE_URL=postgres://u:topsecret@h:99999/d\n")]);
    let e = resolve(&request(&dir, &[], None))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("DATABASE_URL") && e.contains(".env") && !e.contains("topsecret"),
        "{e}"
    );
    let dir = project(&[(".env", "A=1\nPASSWORD=\"topsecret\nB=2\n")]);
    let e = resolve(&request(&dir, &[], None))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains(".env:2") && !e.contains("topsecret"), "{e}");
    let dir = project(&[(".env", "DATABASE_URL=postgres://u:topsecret@h/d\n")]);
    let c = resolve(&request(&dir, &[], None)).unwrap_or_else(|e| panic!("{e}"));
    for shown in [
        c.target.redacted(),
        format!("{}", c.target),
        format!("{:?}", c.target),
    ] {
        assert!(!shown.contains("topsecret"), "{shown}");
    }
}

#[test]
fn password_file_is_used_only_when_private_and_nothing_else_says() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project(&[]);
    let file = dir.path().join("pgpass");
    std::fs::write(&file, "db:5432:app:app:from-pgpass\n").unwrap_or_else(|e| panic!("{e}"));
    let pw_of = |process: &[(&str, &str)]| {
        let mut env = vec![("PGPASSFILE", file.to_str().unwrap_or_default())];
        env.extend_from_slice(process);
        match resolve(&request(&dir, &env, None))
            .unwrap_or_else(|e| panic!("{e}"))
            .target
        {
            Target::Server { params, .. } => params.password().map(str::to_string),
            Target::Local(_) => panic!("expected a server"),
        }
    };
    let url = ("DATABASE_URL", "postgres://app@db/app");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pw_of(&[url]), None, "a file others can read is ignored");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pw_of(&[url]).as_deref(), Some("from-pgpass"));
    assert_eq!(
        pw_of(&[("DATABASE_URL", "postgres://app:given@db/app")]).as_deref(),
        Some("given")
    );
}

#[test]
fn a_stray_env_in_the_home_folder_does_not_make_it_the_project() {
    let home = project(&[(".env", "DATABASE_URL=postgres://elsewhere/db\n")]);
    let work = home.path().join("code/app/src");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    // Only the home folder's .env above: no project (the caller then uses the current folder).
    assert_eq!(find_project_dir_below(&work, Some(home.path())), None);
    // The same folder, when it is not the home folder, is a project by its .env.
    assert_eq!(
        find_project_dir_below(&work, None).as_deref(),
        Some(home.path())
    );
    // An explicit project marker in the home folder still counts, and a nearer .env wins.
    std::fs::create_dir_all(home.path().join(".nself")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        find_project_dir_below(&work, Some(home.path())).as_deref(),
        Some(home.path())
    );
    let app = home.path().join("code/app");
    std::fs::write(app.join(".env"), "").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        find_project_dir_below(&work, Some(home.path())).as_deref(),
        Some(app.as_path())
    );
}

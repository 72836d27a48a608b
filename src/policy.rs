//! The environment rules of SPEC.md section 4 (the guide's "Environment-Specific Behavior"):
//! for each command and environment, whether it runs, asks, wants a typed phrase, or is
//! blocked. This is the only place those rules live; commands ask [`rule`] and then [`decide`].
//!
//! [`decide`] is pure: the CLI gives it the flags and whether stdin is a terminal, and it says
//! go, ask (with the prompt and the answer that counts), or refuse (with the exact flag that
//! would confirm). It never prints or reads input.

use crate::config::Environment;

/// Commands the rules cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Guarded {
    MigrateUp,
    MigrateDown,
    MigrateFresh,
    /// `migrate repair` changes only the tracking table, but it changes what nself believes:
    /// it always shows its plan and asks (or takes `--yes`/`--confirm`).
    MigrateRepair,
    Seed,
    Reset,
    Mock,
    Restore,
    Backup,
}

impl Guarded {
    pub const ALL: [Guarded; 9] = [
        Guarded::MigrateUp,
        Guarded::MigrateDown,
        Guarded::MigrateFresh,
        Guarded::MigrateRepair,
        Guarded::Seed,
        Guarded::Reset,
        Guarded::Mock,
        Guarded::Restore,
        Guarded::Backup,
    ];

    /// The command as a user types it after `nself db`.
    pub fn command(self) -> &'static str {
        match self {
            Guarded::MigrateUp => "migrate up",
            Guarded::MigrateDown => "migrate down",
            Guarded::MigrateFresh => "migrate fresh",
            Guarded::MigrateRepair => "migrate repair",
            Guarded::Seed => "seed",
            Guarded::Reset => "reset",
            Guarded::Mock => "mock",
            Guarded::Restore => "restore",
            Guarded::Backup => "backup",
        }
    }
}

/// What the environment demands before a command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Run,
    Confirm,
    /// The user must type this phrase (or pass `--confirm PHRASE`).
    Phrase(&'static str),
    Blocked,
}

pub const DESTROY_PRODUCTION: &str = "yes-destroy-production";
pub const RESTORE_PRODUCTION: &str = "yes-restore-production";

/// The table.
pub fn rule(cmd: Guarded, env: Environment) -> Rule {
    use Environment::*;
    use Guarded::*;
    match (cmd, env) {
        (Backup, _) => Rule::Run,
        (MigrateRepair, _) => Rule::Confirm,
        (_, Local) => Rule::Run,
        (MigrateFresh | Reset | Mock, Staging | Production) => Rule::Blocked,
        (MigrateDown, Production) => Rule::Phrase(DESTROY_PRODUCTION),
        (Restore, Production) => Rule::Phrase(RESTORE_PRODUCTION),
        (MigrateUp | MigrateDown | Seed | Restore, Staging | Production) => Rule::Confirm,
    }
}

/// The phrase that confirms a command without a terminal in an environment: the rule's own
/// phrase, else `production` for a plain confirmation in production. `None`: `--yes` suffices.
pub fn phrase(rule: Rule, env: Environment) -> Option<&'static str> {
    match rule {
        Rule::Phrase(p) => Some(p),
        Rule::Confirm if env == Environment::Production => Some("production"),
        _ => None,
    }
}

/// What the user said on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consent {
    pub yes: bool,
    pub confirm: Option<String>,
}

/// The outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Go,
    /// Ask on the terminal; the answer must equal `expect` (case-insensitively for `y`).
    Ask {
        prompt: String,
        expect: Answer,
    },
    Refuse(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `y` or `yes`.
    Yes,
    /// Exactly this phrase.
    Phrase(String),
}

/// Decides for `cmd` in `env`. `what` describes the action for the prompt ("apply 2
/// migrations to staging (postgresql://…)").
pub fn decide(
    cmd: Guarded,
    env: Environment,
    consent: &Consent,
    terminal: bool,
    what: &str,
) -> Decision {
    let rule = rule(cmd, env);
    let command = cmd.command();
    match rule {
        Rule::Run => Decision::Go,
        Rule::Blocked => Decision::Refuse(format!(
            "`nself db {command}` is blocked in {env}: it destroys data and runs only in the local \
             environment.{}",
            if cmd == Guarded::MigrateFresh || cmd == Guarded::Reset {
                " Use `nself db migrate down` for a controlled rollback."
            } else {
                ""
            }
        )),
        Rule::Confirm | Rule::Phrase(_) => {
            let needed = phrase(rule, env);
            match (&consent.confirm, needed) {
                (Some(given), Some(p)) if given == p => return Decision::Go,
                (Some(given), Some(p)) => {
                    return Decision::Refuse(format!(
                        "--confirm {given:?} does not match: `nself db {command}` in {env} needs \
                         --confirm {p}"
                    ))
                }
                (_, None) if consent.yes => return Decision::Go,
                (Some(given), None) => {
                    return Decision::Refuse(format!(
                        "--confirm {given:?} is not how {env} confirms `nself db {command}`: pass \
                         --yes"
                    ))
                }
                _ => {}
            }
            if terminal {
                return match needed {
                    Some(p) => Decision::Ask {
                        prompt: format!("About to {what}.\nType {p} to continue: "),
                        expect: Answer::Phrase(p.to_string()),
                    },
                    None => Decision::Ask {
                        prompt: format!("About to {what}.\nContinue? [y/N] "),
                        expect: Answer::Yes,
                    },
                };
            }
            let flag = match needed {
                Some(p) => format!("--confirm {p}"),
                None => "--yes".to_string(),
            };
            let extra = if consent.yes && needed.is_some() {
                format!(" (--yes is not enough in {env})")
            } else {
                String::new()
            };
            Decision::Refuse(format!(
                "`nself db {command}` in {env} needs confirmation and there is no terminal to ask \
                 on{extra}; pass {flag} to confirm (about to {what})"
            ))
        }
    }
}

/// Whether a terminal answer confirms.
pub fn accepts(expect: &Answer, answer: &str) -> bool {
    let a = answer.trim();
    match expect {
        Answer::Yes => a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes"),
        Answer::Phrase(p) => a == p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Environment::*;
    use Guarded::*;

    #[test]
    fn the_table() {
        let expect = [
            (MigrateUp, [Rule::Run, Rule::Confirm, Rule::Confirm]),
            (
                MigrateDown,
                [Rule::Run, Rule::Confirm, Rule::Phrase(DESTROY_PRODUCTION)],
            ),
            (MigrateFresh, [Rule::Run, Rule::Blocked, Rule::Blocked]),
            (MigrateRepair, [Rule::Confirm, Rule::Confirm, Rule::Confirm]),
            (Seed, [Rule::Run, Rule::Confirm, Rule::Confirm]),
            (Reset, [Rule::Run, Rule::Blocked, Rule::Blocked]),
            (Mock, [Rule::Run, Rule::Blocked, Rule::Blocked]),
            (
                Restore,
                [Rule::Run, Rule::Confirm, Rule::Phrase(RESTORE_PRODUCTION)],
            ),
            (Backup, [Rule::Run, Rule::Run, Rule::Run]),
        ];
        assert_eq!(expect.len(), Guarded::ALL.len());
        for (cmd, rules) in expect {
            for (env, want) in [Local, Staging, Production].into_iter().zip(rules) {
                assert_eq!(rule(cmd, env), want, "{cmd:?} in {env}");
            }
        }
    }

    /// Every cell × every way of consenting, without and with a terminal.
    #[test]
    fn decisions_for_every_cell() {
        let consents = [
            ("none", Consent::default()),
            (
                "yes",
                Consent {
                    yes: true,
                    confirm: None,
                },
            ),
            (
                "production",
                Consent {
                    yes: false,
                    confirm: Some("production".into()),
                },
            ),
            (
                "destroy",
                Consent {
                    yes: false,
                    confirm: Some(DESTROY_PRODUCTION.into()),
                },
            ),
            (
                "restore",
                Consent {
                    yes: false,
                    confirm: Some(RESTORE_PRODUCTION.into()),
                },
            ),
        ];
        for cmd in Guarded::ALL {
            for env in [Local, Staging, Production] {
                for (label, consent) in &consents {
                    for terminal in [false, true] {
                        let d = decide(cmd, env, consent, terminal, "do it");
                        let r = rule(cmd, env);
                        let expected_go = match r {
                            Rule::Run => true,
                            Rule::Blocked => false,
                            _ => match phrase(r, env) {
                                Some(p) => consent.confirm.as_deref() == Some(p),
                                None => consent.yes,
                            },
                        };
                        let ctx = format!("{cmd:?} {env} {label} terminal={terminal}: {d:?}");
                        if expected_go {
                            assert_eq!(d, Decision::Go, "{ctx}");
                        } else if r == Rule::Blocked {
                            assert!(
                                matches!(&d, Decision::Refuse(m) if m.contains("blocked")),
                                "{ctx}"
                            );
                        } else if terminal && consent.confirm.is_none() {
                            assert!(matches!(d, Decision::Ask { .. }), "{ctx}");
                        } else {
                            let Decision::Refuse(m) = &d else {
                                panic!("{ctx}")
                            };
                            let flag = phrase(r, env)
                                .map(|p| format!("--confirm {p}"))
                                .unwrap_or("--yes".into());
                            assert!(m.contains(&flag), "{ctx}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn answers() {
        assert!(accepts(&Answer::Yes, " Y\n"));
        assert!(accepts(&Answer::Yes, "yes"));
        assert!(!accepts(&Answer::Yes, ""));
        let p = Answer::Phrase(DESTROY_PRODUCTION.into());
        assert!(accepts(&p, "yes-destroy-production\n"));
        assert!(!accepts(&p, "y"));
    }
}

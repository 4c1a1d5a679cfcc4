//! portcullis is safe to run on untrusted pull requests: it opens no network connection and runs no
//! cargo, rustc or build of the scanned project. The network promise is enforced, not assumed: every
//! command runs under a seccomp filter that kills the process on its first `socket(2)`, so a connection
//! attempt anywhere (a dependency fetching advisories, a resolver, telemetry) fails the test.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Output};

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod sandbox {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    #[cfg(target_arch = "x86_64")]
    const AUDIT_ARCH: u32 = 0xC000_003E;
    #[cfg(target_arch = "aarch64")]
    const AUDIT_ARCH: u32 = 0xC000_00B7;

    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    const KILL_PROCESS: u32 = 0x8000_0000;
    const ALLOW: u32 = 0x7fff_0000;

    fn op(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
        libc::sock_filter { code, jt, jf, k }
    }

    /// Makes `cmd` run with sockets forbidden: the filter is installed in the child between fork and
    /// exec, so it binds portcullis and everything portcullis starts.
    pub fn forbid_sockets(cmd: &mut Command) {
        // seccomp_data: `nr` at offset 0, `arch` at offset 4. A foreign architecture is killed too,
        // since its syscall numbers would slip past the check.
        let filter = [
            op(LD_W_ABS, 0, 0, 4),
            op(JEQ_K, 1, 0, AUDIT_ARCH),
            op(RET_K, 0, 0, KILL_PROCESS),
            op(LD_W_ABS, 0, 0, 0),
            op(JEQ_K, 0, 1, libc::SYS_socket as u32),
            op(RET_K, 0, 0, KILL_PROCESS),
            op(RET_K, 0, 0, ALLOW),
        ];
        unsafe {
            cmd.pre_exec(move || {
                let prog = libc::sock_fprog {
                    len: filter.len() as u16,
                    filter: filter.as_ptr() as *mut libc::sock_filter,
                };
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::prctl(
                        libc::PR_SET_SECCOMP,
                        libc::SECCOMP_MODE_FILTER,
                        &prog as *const libc::sock_fprog,
                    ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
fn offline(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("PORTCULLIS_CACHE_DIR", test_cache());
    sandbox::forbid_sockets(&mut cmd);
    cmd.output().expect("the binary starts under the filter")
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[test]
fn the_sandbox_kills_a_process_that_opens_a_socket() {
    use std::os::unix::process::ExitStatusExt;
    // bash's `/dev/tcp` opens a socket before it connects; without the filter it fails with a
    // connection error instead.
    let mut cmd = Command::new("bash");
    cmd.args(["-c", "exec 3<>/dev/tcp/127.0.0.1/9; echo reached"]);
    sandbox::forbid_sockets(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{out:?}");
    assert!(!stdout(&out).contains("reached"));
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[test]
fn every_command_runs_without_opening_a_socket() {
    let repo = repo();
    let fixture = "fixtures/axum-shop";
    for format in ["human", "json", "jsonl", "sarif", "github", "rustc-json"] {
        let out = offline(&repo, &["check", fixture, "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}: {out:?}");
        // The same findings as an unconfined run (stderr carries a timing).
        let free = run(&["check", fixture, "--format", format]);
        assert_eq!(out.stdout, free.stdout, "{format}");
    }
    for args in [
        &["check", fixture, "--advisory-db", "rules/advisories"][..],
        &["check", "fixtures", "--statistics"],
        &["routes", fixture],
        &["routes", fixture, "--format", "json"],
        &["rules"],
        &["explain", "unauthenticated-cached-route"],
    ] {
        let out = offline(&repo, args);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {out:?}"
        );
    }

    let scratch = package(&[("src/main.rs", "fn main() {}\n")]);
    let out = offline(scratch.path(), &["init"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // `--diff-base` runs git, which must stay local too.
    assert!(git_in(scratch.path())
        .args(["init", "-q"])
        .status()
        .unwrap()
        .success());
    assert!(git_in(scratch.path())
        .args(["add", "."])
        .status()
        .unwrap()
        .success());
    assert!(git_in(scratch.path())
        .args(["commit", "-qm", "start"])
        .status()
        .unwrap()
        .success());
    let out = offline(scratch.path(), &["check", ".", "--diff-base", "HEAD"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// A `cargo`, `rustc` or `rustup` that portcullis started would leave this file behind.
#[cfg(unix)]
#[test]
fn no_toolchain_program_is_ever_started() {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let sentinel = bin.path().join("started");
    for name in ["cargo", "rustc", "rustup", "rustc-wrapper"] {
        let p = bin.path().join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho {name} \"$@\" >> '{}'\n",
                sentinel.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let fake = |name: &str| bin.path().join(name);
    for args in [
        &["check", "fixtures", "--format", "json"][..],
        &["routes", "fixtures"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(args)
            .current_dir(repo())
            .env("PORTCULLIS_CACHE_DIR", test_cache())
            .env("PATH", &path)
            .env("CARGO", fake("cargo"))
            .env("RUSTC", fake("rustc"))
            .env("RUSTC_WRAPPER", fake("rustc-wrapper"))
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {out:?}"
        );
    }
    assert!(
        !sentinel.exists(),
        "started: {}",
        std::fs::read_to_string(&sentinel).unwrap_or_default()
    );
}

//! Where io_uring is blocked, the engine says so: this test runs itself again in a child process
//! whose seccomp filter refuses `io_uring_setup` with `EPERM` (what a container runtime's default
//! profile does), and the child checks that the probe and `start` both name the cause.
#![cfg(target_os = "linux")]

use engine_core::{Application, ServerConfig, embedded_server};
use engine_uring::{UringEngine, io_uring_available};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Set in the child, which runs under the filter.
const BLOCKED: &str = "ENGINE_URING_TEST_BLOCKED";

#[test]
fn a_blocked_io_uring_fails_the_probe_and_the_start_with_the_cause() {
    if std::env::var_os(BLOCKED).is_some() {
        return check_blocked();
    }
    let filter = seccomp_filter();
    let mut child = Command::new(std::env::current_exe().expect("the test binary"));
    child
        .args([
            "--exact",
            "a_blocked_io_uring_fails_the_probe_and_the_start_with_the_cause",
        ])
        .args(["--nocapture", "--test-threads", "1"])
        .env(BLOCKED, "1");
    let len = u16::try_from(filter.len()).expect("a short filter");
    // SAFETY: between fork and exec the closure only makes two `prctl` calls (async-signal-safe)
    // and builds a struct on the stack: no allocation, no lock.
    unsafe {
        child.pre_exec(move || {
            let program = libc::sock_fprog {
                len,
                filter: filter.as_ptr().cast_mut(),
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &program as *const libc::sock_fprog,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = child.output().expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the child failed:\n{stdout}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran the check:\n{stdout}"
    );
}

/// In the child: io_uring is refused, and both the probe and `start` say why.
fn check_blocked() {
    let reason = io_uring_available().expect_err("io_uring is blocked in this process");
    assert!(reason.contains("seccomp"), "{reason}");
    let mut server = embedded_server(
        UringEngine::new(),
        ServerConfig::listen("127.0.0.1", 0),
        |_: &mut Application| {},
    );
    let error = server
        .start(false)
        .expect_err("the start fails")
        .to_string();
    assert!(error.contains("seccomp"), "{error}");
    assert!(error.contains("io_uring"), "{error}");
}

/// A classic BPF seccomp program: `io_uring_setup` fails with `EPERM`, every other call is allowed.
fn seccomp_filter() -> Vec<libc::sock_filter> {
    let instruction = |code: u32, jump_if_not: u8, k: u32| libc::sock_filter {
        code: u16::try_from(code).expect("a BPF opcode"),
        jt: 0,
        jf: jump_if_not,
        k,
    };
    let syscall = u32::try_from(libc::SYS_io_uring_setup).expect("a syscall number");
    let refuse = libc::SECCOMP_RET_ERRNO | libc::EPERM.unsigned_abs();
    vec![
        // The syscall number is the first field of `struct seccomp_data`.
        instruction(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0),
        // `io_uring_setup`: the next instruction; anything else: skip it.
        instruction(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, 1, syscall),
        instruction(libc::BPF_RET | libc::BPF_K, 0, refuse),
        instruction(libc::BPF_RET | libc::BPF_K, 0, libc::SECCOMP_RET_ALLOW),
    ]
}

//! Whether io_uring can run in this process, and if not, why, in words an operator can act on:
//! disabled by sysctl, blocked by a seccomp filter (container runtimes' default profiles block
//! `io_uring_setup`), a kernel without it, or too little lockable memory on old kernels.

use std::io;
use std::sync::OnceLock;

/// `Ok` when this process can run io_uring: a ring was built and a no-op went through it, on a
/// short-lived thread (so this can be called from async code). Otherwise the reason, for a log line
/// or a fall-back to another engine. Computed once per process.
///
/// ```
/// match engine_uring::io_uring_available() {
///     Ok(()) => println!("io_uring works here"),
///     Err(reason) => println!("falling back: {reason}"),
/// }
/// ```
pub fn io_uring_available() -> Result<(), String> {
    static PROBED: OnceLock<Result<(), String>> = OnceLock::new();
    PROBED.get_or_init(probe).clone()
}

fn probe() -> Result<(), String> {
    let probing = std::thread::Builder::new()
        .name("engine-uring-probe".into())
        .spawn(crate::ring::probe)
        .map_err(|e| format!("cannot start the probe thread: {e}"))?;
    match probing.join() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(explain(&error)),
        Err(_) => Err("the io_uring probe panicked".into()),
    }
}

/// Why building or using a ring failed with `error`.
pub(crate) fn explain(error: &io::Error) -> String {
    let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()
        .and_then(|value| value.trim().parse::<u8>().ok());
    explain_with(error, sysctl)
}

/// [`explain`], given `kernel.io_uring_disabled` (Linux 6.6+; absent before): 0 allows io_uring,
/// 1 limits it to the members of `kernel.io_uring_group`, 2 disables it.
fn explain_with(error: &io::Error, sysctl: Option<u8>) -> String {
    match (error.kind(), sysctl) {
        (_, Some(2)) => {
            format!("io_uring is disabled by sysctl kernel.io_uring_disabled = 2 ({error})")
        }
        (io::ErrorKind::PermissionDenied, Some(1)) => format!(
            "io_uring is limited to kernel.io_uring_group by sysctl kernel.io_uring_disabled = 1, \
             and this process is not in it ({error})"
        ),
        (io::ErrorKind::PermissionDenied, _) => format!(
            "io_uring_setup is not permitted: a seccomp filter (a container's default profile, \
             say) blocks it ({error})"
        ),
        (io::ErrorKind::Unsupported, _) => format!(
            "this kernel has no io_uring, or a seccomp filter hides it: Linux 5.11 or newer is \
             needed ({error})"
        ),
        (io::ErrorKind::OutOfMemory, _) => format!(
            "io_uring_setup ran out of lockable memory: raise RLIMIT_MEMLOCK (kernels before 5.12 \
             charge rings to it) ({error})"
        ),
        _ => format!("io_uring does not work here: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_names_its_cause() {
        let errno = io::Error::from_raw_os_error;
        let cases = [
            // (errno from io_uring_setup, kernel.io_uring_disabled, words the reason must hold)
            (1, Some(2), "kernel.io_uring_disabled = 2"),
            (1, Some(1), "io_uring_group"),
            (1, Some(0), "seccomp"),
            (1, None, "seccomp"),
            (38, None, "Linux 5.11"),
            (12, Some(0), "RLIMIT_MEMLOCK"),
            (22, Some(0), "io_uring does not work here"),
        ];
        for (code, sysctl, words) in cases {
            let reason = explain_with(&errno(code), sysctl);
            assert!(
                reason.contains(words),
                "errno {code}, sysctl {sysctl:?}: {reason}"
            );
            assert!(reason.contains(&errno(code).to_string()), "{reason}");
        }
    }

    #[test]
    fn this_machine_runs_io_uring() {
        // The machines this project builds on allow io_uring; where one does not, this says why.
        assert_eq!(io_uring_available(), Ok(()));
    }
}

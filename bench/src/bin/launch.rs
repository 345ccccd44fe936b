//! Runs a command and prints its rusage: `launch CMD ARGS...` prints the
//! command's own output, then `RUSAGE utime=S stime=S maxrss_kib=N`, and
//! exits with the command's status.
//!
//! Why not take rusage in the Python driver: Linux keeps a process's peak
//! RSS across exec, so a child forked from Python starts at Python's ~13 MiB.
//! Spawned from this small process, the floor is this process's own few
//! hundred KiB (see BENCHMARKS.md).
use std::process::Command;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: launch CMD ARGS...");
        std::process::exit(2);
    };
    let child = Command::new(program)
        .args(args)
        .spawn()
        .unwrap_or_else(|e| {
            eprintln!("launch: {e}");
            std::process::exit(127)
        });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data, zeroed, written by the kernel.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, with valid pointers to locals.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    if r != pid {
        eprintln!("launch: wait4 failed");
        std::process::exit(127);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    println!(
        "RUSAGE utime={:.6} stime={:.6} maxrss_kib={}",
        secs(ru.ru_utime),
        secs(ru.ru_stime),
        ru.ru_maxrss
    );
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    std::process::exit(code);
}

//! Free ports, scratch directories and child processes that die with their
//! guard.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{OnceLock, mpsc};
use std::time::{Duration, Instant};

/// The directory holding this crate's server scripts.
pub fn servers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("servers")
}

/// The Python interpreter the servers run with: Debian's, which has
/// `python3-aiosmtpd` (a pyenv `python3` earlier on `PATH` would not).
pub const PYTHON: &str = "/usr/bin/python3";

/// A loopback address family: the suites run over 127.0.0.1 and, where the
/// machine has it, over ::1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ip {
    /// 127.0.0.1.
    V4,
    /// ::1.
    V6,
}

impl Ip {
    /// The loopback address, as the tests pass it to `connect` as the host.
    pub fn host(self) -> &'static str {
        match self {
            Ip::V4 => "127.0.0.1",
            Ip::V6 => "::1",
        }
    }

    /// The loopback address.
    pub fn addr(self) -> IpAddr {
        match self {
            Ip::V4 => Ipv4Addr::LOCALHOST.into(),
            Ip::V6 => Ipv6Addr::LOCALHOST.into(),
        }
    }

    /// The prefix of test names over this family: empty for IPv4 (the
    /// names from before IPv6), `ipv6::` for IPv6.
    pub fn test_prefix(self) -> &'static str {
        match self {
            Ip::V4 => "",
            Ip::V6 => "ipv6::",
        }
    }
}

/// `Ok` when the servers can listen on ::1 and the clients connect to it:
/// binding `[::1]:0` works (checked once), and `ipv6` is not listed in
/// `SMTP_INTEROP_DISABLE`.
pub fn ipv6() -> Result<(), String> {
    static BINDS: OnceLock<Result<(), String>> = OnceLock::new();
    crate::skip::check_enabled("ipv6")?;
    BINDS
        .get_or_init(|| {
            TcpListener::bind((Ipv6Addr::LOCALHOST, 0))
                .map(drop)
                .map_err(|e| format!("no IPv6 loopback here (binding [::1]:0: {e})"))
        })
        .clone()
}

/// True when the kernel lists ::1 among its IPv6 addresses
/// (`/proc/net/if_inet6`), whether or not it can be bound.
pub fn ipv6_configured() -> bool {
    std::fs::read_to_string("/proc/net/if_inet6").is_ok_and(|t| {
        t.lines()
            .any(|l| l.starts_with("00000000000000000000000000000001 "))
    })
}

/// The loopback addresses every server listens on: 127.0.0.1, and ::1 when
/// [`ipv6`] says so, each server on one port for all.
pub fn loopbacks() -> Vec<Ip> {
    match ipv6() {
        Ok(()) => vec![Ip::V4, Ip::V6],
        Err(_) => vec![Ip::V4],
    }
}

/// A port that was free a moment ago on every address of [`loopbacks`]
/// (for servers that cannot pick their own and report it, like Postfix and
/// smtp-sink).
pub fn free_port() -> u16 {
    let ips = loopbacks();
    for _attempt in 0..50 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        if ips[1..]
            .iter()
            .all(|ip| TcpListener::bind((ip.addr(), port)).is_ok())
        {
            return port;
        }
    }
    panic!("no port free on all of {ips:?} in 50 tries");
}

/// Waits (at most `timeout`) until `port` accepts a connection on every
/// address of [`loopbacks`].
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut waiting = loopbacks();
    while Instant::now() < deadline {
        waiting.retain(|ip| {
            let addr = SocketAddr::new(ip.addr(), port);
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
        });
        if waiting.is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The `--host` arguments that make a server script listen on every
/// address of [`loopbacks`].
pub fn host_args() -> Vec<&'static str> {
    loopbacks()
        .into_iter()
        .flat_map(|ip| ["--host", ip.host()])
        .collect()
}

/// The environment variable that makes the shell scripts (`postfix.sh`,
/// `dovecot.sh`) listen on ::1 too.
pub const LISTEN_IPV6: &str = "LISTEN_IPV6";

/// The value of [`LISTEN_IPV6`]: `1` when the servers are to listen on ::1
/// too (see [`loopbacks`]), else `0`.
pub fn listen_ipv6() -> &'static str {
    match ipv6() {
        Ok(()) => "1",
        Err(_) => "0",
    }
}

/// A scratch directory, removed on drop unless `SMTP_INTEROP_KEEP=1`.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `$TMPDIR/smtp-interop-<pid>-<n>-<label>`.
    pub fn new(label: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("smtp-interop-{}-{n}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch directory");
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var("SMTP_INTEROP_KEEP").is_ok_and(|v| v == "1") {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process, killed and reaped on drop.
#[derive(Debug)]
pub struct Guard {
    name: String,
    child: Option<Child>,
}

impl Guard {
    /// Starts `cmd` (stdout piped, stderr to `stderr_file`) and waits at most
    /// `timeout` for a stdout line starting with `READY`, which it returns.
    /// Kills the child if none comes.
    pub fn spawn_ready(
        name: &str,
        mut cmd: Command,
        stderr_file: &Path,
        timeout: Duration,
    ) -> Result<(Guard, String), String> {
        let stderr = std::fs::File::create(stderr_file).map_err(|e| e.to_string())?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut guard = Guard {
            name: name.to_owned(),
            child: Some(child),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Bounded: ends at the child's EOF, which its kill brings.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("READY") {
                    let _ = tx.send(line);
                    break;
                }
            }
        });
        match rx.recv_timeout(timeout) {
            Ok(line) => Ok((guard, line)),
            Err(_) => {
                guard.stop();
                let err = std::fs::read_to_string(stderr_file).unwrap_or_default();
                Err(format!(
                    "{name} did not print READY within {timeout:?}; its stderr:\n{err}"
                ))
            }
        }
    }

    /// Wraps a child that is already running.
    pub fn new(name: &str, child: Child) -> Guard {
        Guard {
            name: name.to_owned(),
            child: Some(child),
        }
    }

    /// Kills and reaps the child (idempotent).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The name given at start.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Parses `key=value` out of a READY line.
pub fn ready_field(line: &str, key: &str) -> Option<String> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}

/// True when `path` exists and is executable by someone.
pub fn is_executable(path: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// True when this process runs as root (Postfix's master and smtp-sink's
/// `-u` need it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Polls `f` every 50 ms until it returns `Some` or `timeout` passes.
pub fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

//! What every benchmark client binary shares: its arguments, the message it
//! sends, the bound on its run time, forcing TCP_NODELAY on a peer's socket,
//! and the one line it prints at the end.
//!
//! Each client is its own process, so that the driver (`bench/run.py`) can
//! take its CPU time and peak memory from `wait4`'s rusage, the same way for
//! the Rust clients, Python's smtplib and Postfix's smtp-source.
//!
//! Arguments are `key=value` words:
//!
//! | key | meaning | default |
//! | --- | --- | --- |
//! | `port` | smtp-sink's port on 127.0.0.1 | 2525 |
//! | `count` | messages in all | 1 |
//! | `body` | file holding the message (CRLF line ends), read once | required |
//! | `stream` | `1`: stream the body from the file per message (W6) | 0 |
//! | `rcpts` | recipients per message | 1 |
//! | `sessions` | concurrent sessions (tokio clients) | 1 |
//! | `reconnect` | `1`: a new connection per message (W4) | 0 |
//! | `nodelay` | `1`: force TCP_NODELAY on (peers that ship without it) | 0 |
//! | `mode` | ours: `many` (send_many batches) or `one` (send per message) | many |
//! | `batch` | ours, mode=many: messages per send_many call | 100 |
//! | `max_secs` | stop starting messages after this many seconds | 60 |

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The parsed `key=value` arguments.
#[derive(Debug, Clone)]
pub struct Args {
    /// smtp-sink's port.
    pub port: u16,
    /// Messages in all.
    pub count: usize,
    /// The message file.
    pub body_path: String,
    /// Stream the body from the file instead of holding it in memory.
    pub stream: bool,
    /// Recipients per message.
    pub rcpts: usize,
    /// Concurrent sessions.
    pub sessions: usize,
    /// A new connection per message.
    pub reconnect: bool,
    /// Force TCP_NODELAY.
    pub nodelay: bool,
    /// `many` or `one`.
    pub mode: String,
    /// Messages per send_many call.
    pub batch: usize,
    /// Time bound.
    pub max_secs: f64,
}

impl Args {
    /// From `std::env::args`; exits with a message on a bad argument.
    pub fn parse() -> Args {
        let mut kv: HashMap<String, String> = HashMap::new();
        for a in std::env::args().skip(1) {
            let Some((k, v)) = a.split_once('=') else {
                die(&format!("argument {a:?} is not key=value"));
            };
            kv.insert(k.to_owned(), v.to_owned());
        }
        let get = |k: &str, d: &str| kv.get(k).cloned().unwrap_or_else(|| d.to_owned());
        let num = |k: &str, d: &str| -> usize {
            get(k, d)
                .parse()
                .unwrap_or_else(|_| die(&format!("{k} must be a number")))
        };
        let args = Args {
            port: num("port", "2525") as u16,
            count: num("count", "1"),
            body_path: get("body", ""),
            stream: get("stream", "0") == "1",
            rcpts: num("rcpts", "1").max(1),
            sessions: num("sessions", "1").max(1),
            reconnect: get("reconnect", "0") == "1",
            nodelay: get("nodelay", "0") == "1",
            mode: get("mode", "many"),
            batch: num("batch", "100").max(1),
            max_secs: get("max_secs", "60")
                .parse()
                .unwrap_or_else(|_| die("max_secs must be a number")),
        };
        if args.body_path.is_empty() {
            die("body=FILE is required");
        }
        args
    }

    /// The message bytes (not for `stream=1`).
    pub fn body(&self) -> Vec<u8> {
        std::fs::read(&self.body_path)
            .unwrap_or_else(|e| die(&format!("reading {}: {e}", self.body_path)))
    }

    /// The sender.
    pub fn from(&self) -> &'static str {
        "bench@example.org"
    }

    /// The recipients of every message: `r0@example.net` ...
    pub fn recipients(&self) -> Vec<String> {
        (0..self.rcpts).map(|i| format!("r{i}@example.net")).collect()
    }

    /// The time bound as a deadline from now.
    pub fn deadline(&self) -> Deadline {
        Deadline {
            end: Instant::now() + Duration::from_secs_f64(self.max_secs),
        }
    }
}

/// When to stop starting new messages.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    end: Instant,
}

impl Deadline {
    /// True once the time bound has passed.
    pub fn passed(&self) -> bool {
        Instant::now() >= self.end
    }
}

/// Prints the error and exits 2.
pub fn die(msg: &str) -> ! {
    eprintln!("bench client: {msg}");
    std::process::exit(2)
}

/// The line the driver reads: how many messages the server accepted, and
/// how long the sending took inside the process.
pub fn report(sent: usize, started: Instant) {
    println!(
        "RESULT sent={sent} secs={:.6}",
        started.elapsed().as_secs_f64()
    );
}

/// Turns TCP_NODELAY on for every TCP socket this process has open.
///
/// lettre creates its sockets itself and has no option for TCP_NODELAY, so
/// the "with TCP_NODELAY" rows call this once the peer has connected: a
/// socket option belongs to the socket, whoever set it. (No LD_PRELOAD.)
/// Returns how many sockets were changed.
pub fn nodelay_on_all_sockets() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    let mut n = 0;
    for entry in dir.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: getsockopt/setsockopt on an fd number: at worst EBADF or
        // ENOTSOCK for an fd that is not a TCP socket; no memory is shared
        // beyond the local integers passed by pointer with their sizes.
        unsafe {
            let mut ty: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            if libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                (&mut ty as *mut libc::c_int).cast(),
                &mut len,
            ) != 0
                || ty != libc::SOCK_STREAM
            {
                continue;
            }
            let on: libc::c_int = 1;
            if libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) == 0
            {
                n += 1;
            }
        }
    }
    n
}

/// A tokio runtime for `sessions` concurrent sessions: current-thread for
/// one (the fastest for one connection), multi-thread on every core for more.
pub fn runtime(sessions: usize) -> tokio::runtime::Runtime {
    let mut b = if sessions <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    b.enable_all()
        .build()
        .unwrap_or_else(|e| die(&format!("tokio runtime: {e}")))
}

/// How many of `count` messages session `i` of `sessions` sends.
pub fn share(count: usize, sessions: usize, i: usize) -> usize {
    count / sessions + usize::from(i < count % sessions)
}
pub mod proposal;

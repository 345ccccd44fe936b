//! The servers the suites talk to. Each `start` returns `Err(why)` when the
//! peer is not installed (the test then skips, see [`crate::skip`]), and
//! each guard stops its processes when dropped. Every server listens on
//! each address of [`process::loopbacks`] (127.0.0.1, and ::1 where the
//! machine has it), on the same port for both.

use crate::certs::{self, Certs};
use crate::process::{self, Guard, PYTHON, TempDir};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// How long a server may take to say READY.
const START_TIMEOUT: Duration = Duration::from_secs(20);

fn python_ok() -> Result<(), String> {
    if process::is_executable(PYTHON) {
        Ok(())
    } else {
        Err(format!("{PYTHON} is missing"))
    }
}

fn aiosmtpd_ok() -> Result<(), String> {
    static OK: OnceLock<Result<(), String>> = OnceLock::new();
    OK.get_or_init(|| {
        python_ok()?;
        let out = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .output()
            .map_err(|e| e.to_string())?;
        match out.status.success() {
            true => Ok(()),
            false => Err("python3-aiosmtpd is not installed".into()),
        }
    })
    .clone()
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Every `*.json` in `dir` with the `.eml` beside it, sorted by name.
fn spool(dir: &Path) -> Vec<(serde_json::Value, Vec<u8>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter_map(|json| {
            let meta = read_json(&json)?;
            let content = std::fs::read(json.with_extension("eml")).ok()?;
            Some((meta, content))
        })
        .collect()
}

fn str_field(meta: &serde_json::Value, key: &str) -> String {
    meta.get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The addresses inside `[...]` right after each `marker` in `log` (as in
/// Postfix's `client=unknown[::1]`), parsed.
fn bracketed_after(log: &str, marker: &str) -> Vec<Option<IpAddr>> {
    log.match_indices(marker)
        .map(|(i, _)| {
            let rest = &log[i + marker.len()..];
            let open = rest.find('[')?;
            let close = rest.find(']')?;
            rest.get(open + 1..close)?.parse().ok()
        })
        .collect()
}

// --- aiosmtpd -----------------------------------------------------------

/// `interop/servers/aiosmtpd_server.py`: three listeners (STARTTLS,
/// implicit TLS, plaintext with plaintext AUTH allowed), AUTH PLAIN and
/// LOGIN required, SMTPUTF8, 8BITMIME, SIZE; stores every message byte for
/// byte.
#[derive(Debug)]
pub struct Aiosmtpd {
    _guard: Guard,
    dir: TempDir,
    /// STARTTLS offered; AUTH only after it.
    pub starttls_port: u16,
    /// Implicit TLS.
    pub tls_port: u16,
    /// No TLS; AUTH allowed in plaintext.
    pub plain_port: u16,
    /// The certificates it serves.
    pub certs: &'static Certs,
}

/// One message as aiosmtpd stored it.
#[derive(Debug, Clone)]
pub struct AiosmtpdMessage {
    /// The envelope and session facts (`mail_from`, `rcpt_tos`,
    /// `listener`, `tls`, `auth_user`, `smtp_utf8`, `mail_options`, `peer`).
    pub meta: serde_json::Value,
    /// The content exactly as received (after un-dot-stuffing).
    pub content: Vec<u8>,
}

impl AiosmtpdMessage {
    /// MAIL FROM.
    pub fn mail_from(&self) -> String {
        str_field(&self.meta, "mail_from")
    }
    /// The RCPT TO addresses, in order.
    pub fn rcpt_tos(&self) -> Vec<String> {
        self.meta["rcpt_tos"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
    /// Which listener took it: `starttls`, `implicit-tls` or `plain`.
    pub fn listener(&self) -> String {
        str_field(&self.meta, "listener")
    }
    /// Whether the session was encrypted.
    pub fn tls(&self) -> bool {
        self.meta["tls"].as_bool().unwrap_or(false)
    }
    /// The authenticated user, if any.
    pub fn auth_user(&self) -> String {
        str_field(&self.meta, "auth_user")
    }
    /// Whether MAIL carried SMTPUTF8.
    pub fn smtp_utf8(&self) -> bool {
        self.meta["smtp_utf8"].as_bool().unwrap_or(false)
    }
    /// The client's address as the server saw it.
    pub fn peer(&self) -> Option<IpAddr> {
        str_field(&self.meta, "peer").parse().ok()
    }
}

impl Aiosmtpd {
    /// Starts the server on three free ports, each on every loopback
    /// address.
    pub fn start() -> Result<Aiosmtpd, String> {
        crate::skip::check_enabled("aiosmtpd")?;
        aiosmtpd_ok()?;
        let certs = certs::get()?;
        let dir = TempDir::new("aiosmtpd");
        let mut cmd = Command::new(PYTHON);
        cmd.arg(process::servers_dir().join("aiosmtpd_server.py"))
            .args(process::host_args())
            .args(["--port", "0", "--tls-port", "0", "--plain-port", "0"])
            .arg("--cert")
            .arg(certs.chain())
            .arg("--key")
            .arg(certs.key())
            .arg("--spool")
            .arg(dir.path().join("spool"));
        let (guard, ready) =
            Guard::spawn_ready("aiosmtpd", cmd, &dir.path().join("stderr"), START_TIMEOUT)?;
        let port = |k| {
            process::ready_field(&ready, k)
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| format!("bad READY line {ready:?}"))
        };
        Ok(Aiosmtpd {
            starttls_port: port("port")?,
            tls_port: port("tls_port")?,
            plain_port: port("plain_port")?,
            _guard: guard,
            dir,
            certs,
        })
    }

    /// Every message stored so far, in order of arrival.
    pub fn messages(&self) -> Vec<AiosmtpdMessage> {
        spool(&self.dir.path().join("spool"))
            .into_iter()
            .map(|(meta, content)| AiosmtpdMessage { meta, content })
            .collect()
    }

    /// The server's stderr so far (for failure messages).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }
}

/// `interop/servers/aiosmtpd_server.py` for the soak: one plaintext
/// listener, AUTH optional, no spool; each accepted message's Message-ID
/// appended to one file before the 250. It can be killed and restarted on
/// the same port, every instance appending to the same file.
#[derive(Debug)]
pub struct AiosmtpdIds {
    guard: Option<Guard>,
    dir: TempDir,
    /// The plaintext port, the same for every instance.
    pub port: u16,
    /// Instances started so far.
    pub starts: u32,
}

impl AiosmtpdIds {
    /// Starts the first instance on a free port.
    pub fn start() -> Result<AiosmtpdIds, String> {
        crate::skip::check_enabled("aiosmtpd")?;
        aiosmtpd_ok()?;
        let mut server = AiosmtpdIds {
            guard: None,
            dir: TempDir::new("aiosmtpd-ids"),
            port: 0,
            starts: 0,
        };
        server.spawn()?;
        Ok(server)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut cmd = Command::new(PYTHON);
        cmd.arg(process::servers_dir().join("aiosmtpd_server.py"))
            .args(["--auth-optional", "--plain-port", &self.port.to_string()])
            .arg("--ids")
            .arg(self.ids_file());
        self.starts += 1;
        let stderr = self.dir.path().join(format!("stderr.{}", self.starts));
        let (guard, ready) = Guard::spawn_ready("aiosmtpd", cmd, &stderr, START_TIMEOUT)?;
        let port = process::ready_field(&ready, "plain_port").and_then(|p| p.parse().ok());
        self.port = port.ok_or_else(|| format!("bad READY line {ready:?}"))?;
        self.guard = Some(guard);
        Ok(())
    }

    fn ids_file(&self) -> PathBuf {
        self.dir.path().join("ids")
    }

    /// Kills the running instance (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            guard.stop();
        }
    }

    /// Kills the running instance and starts another on the same port
    /// (trying a few times while the port is not free yet).
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let mut last = String::new();
        for _attempt in 0..5 {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last)
    }

    /// The Message-ID of every message stored so far, in order, one per
    /// copy.
    pub fn ids(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.ids_file()).unwrap_or_default();
        text.lines().map(str::to_owned).collect()
    }
}

// --- Postfix ------------------------------------------------------------

/// A private Postfix instance (`interop/servers/postfix.sh`): plain SMTP
/// with STARTTLS and relaying from loopback, submission (STARTTLS and AUTH
/// required), and wrapper-mode smtps (AUTH required); AUTH PLAIN and LOGIN
/// through Cyrus SASL; CHUNKING, PIPELINING, SMTPUTF8, 8BITMIME offered.
#[derive(Debug)]
pub struct Postfix {
    /// Plain SMTP, STARTTLS offered, no AUTH needed from 127.0.0.0/8.
    pub smtp_port: u16,
    /// STARTTLS then AUTH required.
    pub submission_port: u16,
    /// Implicit TLS, AUTH required.
    pub smtps_port: u16,
    /// The certificates it serves.
    pub certs: &'static Certs,
    running: bool,
    dir: TempDir,
}

/// One delivery (one recipient's copy) made by the Postfix instance.
#[derive(Debug, Clone)]
pub struct PostfixDelivery {
    /// Postfix's queue id.
    pub queue_id: String,
    /// The envelope sender.
    pub sender: String,
    /// The envelope recipient of this copy.
    pub recipient: String,
    /// The message as delivered: LF line ends, Postfix's `Received:` on top.
    pub content: Vec<u8>,
}

/// Postfix's binaries.
pub const POSTFIX: &str = "/usr/sbin/postfix";

impl Postfix {
    /// Starts an instance on three free ports (needs root).
    pub fn start() -> Result<Postfix, String> {
        crate::skip::check_enabled("postfix")?;
        for bin in [POSTFIX, "/usr/sbin/saslpasswd2"] {
            if !process::is_executable(bin) {
                return Err(format!("{bin} is missing"));
            }
        }
        python_ok()?;
        if !process::is_root() {
            return Err("a private Postfix instance needs root".into());
        }
        let certs = certs::get()?;
        let dir = TempDir::new("postfix");
        let mut last = String::new();
        for _attempt in 0..3 {
            let (smtp, sub, smtps) = (
                process::free_port(),
                process::free_port(),
                process::free_port(),
            );
            if smtp == sub || sub == smtps || smtp == smtps {
                continue;
            }
            let out = Command::new("bash")
                .arg(process::servers_dir().join("postfix.sh"))
                .arg("start")
                .arg(dir.path())
                .args([smtp, sub, smtps].map(|p| p.to_string()))
                .env("CERT_DIR", &certs.dir)
                .env(process::LISTEN_IPV6, process::listen_ipv6())
                .output()
                .map_err(|e| format!("cannot run postfix.sh: {e}"))?;
            if out.status.success() {
                return Ok(Postfix {
                    smtp_port: smtp,
                    submission_port: sub,
                    smtps_port: smtps,
                    certs,
                    running: true,
                    dir,
                });
            }
            last = format!(
                "postfix.sh start failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Not a missing peer: a broken one. Fail whatever the policy.
        panic!("{last}");
    }

    /// Every delivery so far.
    pub fn deliveries(&self) -> Vec<PostfixDelivery> {
        spool(&self.dir.path().join("spool"))
            .into_iter()
            .map(|(meta, content)| PostfixDelivery {
                queue_id: str_field(&meta, "queue_id"),
                sender: str_field(&meta, "sender"),
                recipient: str_field(&meta, "recipient"),
                content,
            })
            .collect()
    }

    /// Waits (at most `timeout`) until at least `n` deliveries were made;
    /// returns them all.
    pub fn wait_deliveries(&self, n: usize, timeout: Duration) -> Vec<PostfixDelivery> {
        process::poll(timeout, || {
            let d = self.deliveries();
            (d.len() >= n).then_some(d)
        })
        .unwrap_or_else(|| self.deliveries())
    }

    /// Postfix's whole log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    /// The client address of every message smtpd accepted into the queue
    /// (its `client=unknown[ADDRESS]` log lines), in order.
    pub fn clients(&self) -> Vec<Option<IpAddr>> {
        bracketed_after(&self.log(), ": client=")
    }

    /// The end of Postfix's log (for failure messages).
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Stops the instance (idempotent; also done on drop).
    pub fn stop(&mut self) {
        if std::mem::take(&mut self.running) {
            let _ = Command::new("bash")
                .arg(process::servers_dir().join("postfix.sh"))
                .arg("stop")
                .arg(self.dir.path())
                .output();
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.stop();
    }
}

// --- Dovecot (LMTP) -----------------------------------------------------

/// A private Dovecot LMTP instance (`interop/servers/dovecot.sh`): LMTP on
/// 127.0.0.1 with PIPELINING and CHUNKING, two users (alice@example.org,
/// bob@example.org; any other recipient is refused at RCPT), mail stored in
/// a Maildir per user.
#[derive(Debug)]
pub struct Dovecot {
    /// The LMTP port.
    pub port: u16,
    running: bool,
    dir: TempDir,
}

/// Dovecot's master binary.
pub const DOVECOT: &str = "/usr/sbin/dovecot";

impl Dovecot {
    /// Starts an instance on a free port (needs root).
    pub fn start() -> Result<Dovecot, String> {
        crate::skip::check_enabled("dovecot")?;
        if !process::is_executable(DOVECOT) {
            return Err(format!("{DOVECOT} is missing"));
        }
        python_ok()?;
        if !process::is_root() {
            return Err("a private Dovecot instance needs root".into());
        }
        let dir = TempDir::new("dovecot");
        let mut last = String::new();
        for _attempt in 0..3 {
            let port = process::free_port();
            let out = Command::new("bash")
                .arg(process::servers_dir().join("dovecot.sh"))
                .arg("start")
                .arg(dir.path())
                .arg(port.to_string())
                .env(process::LISTEN_IPV6, process::listen_ipv6())
                .output()
                .map_err(|e| format!("cannot run dovecot.sh: {e}"))?;
            if out.status.success() {
                return Ok(Dovecot {
                    port,
                    running: true,
                    dir,
                });
            }
            last = format!(
                "dovecot.sh start failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Not a missing peer: a broken one. Fail whatever the policy.
        panic!("{last}");
    }

    /// The messages in `user`'s Maildir (`alice`, `bob`), oldest first, as
    /// Dovecot stored them: LF line ends, its `Return-Path:` on top.
    pub fn mailbox(&self, user: &str) -> Vec<Vec<u8>> {
        let new = self
            .dir
            .path()
            .join("mail")
            .join(user)
            .join("Maildir")
            .join("new");
        let mut files: Vec<_> = std::fs::read_dir(&new)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        // Maildir names start with the delivery time, then a unique part.
        files.sort();
        files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
    }

    /// Dovecot's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// The client address of every LMTP session that ended with QUIT (its
    /// `Disconnect from ADDRESS: Logged out` log lines), in order, once
    /// there are at least `n` (Dovecot logs it after its reply to QUIT) or
    /// `timeout` has passed. (The start script's probes end in `Connection
    /// closed`.)
    pub fn logged_out(&self, n: usize, timeout: Duration) -> Vec<Option<IpAddr>> {
        let read = || -> Vec<Option<IpAddr>> {
            self.log()
                .lines()
                .filter_map(|l| {
                    let rest = &l[l.find("Disconnect from ")? + "Disconnect from ".len()..];
                    let (addr, why) = rest.split_once(": ")?;
                    why.starts_with("Logged out").then(|| addr.parse().ok())
                })
                .collect()
        };
        process::poll(timeout, || Some(read()).filter(|v| v.len() >= n)).unwrap_or_else(read)
    }

    /// Stops the instance (idempotent; also done on drop).
    pub fn stop(&mut self) {
        if std::mem::take(&mut self.running) {
            let _ = Command::new("bash")
                .arg(process::servers_dir().join("dovecot.sh"))
                .arg("stop")
                .arg(self.dir.path())
                .output();
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

// --- smtp-sink ----------------------------------------------------------

/// Postfix's `smtp-sink`, dumping each transaction to a file: one process
/// per loopback address (it takes one address), all on one port, dumping
/// to one directory.
#[derive(Debug)]
pub struct SmtpSink {
    _guards: Vec<Guard>,
    dir: TempDir,
    /// Its port.
    pub port: u16,
}

/// The client address smtp-sink wrote at the top of a dump
/// (`X-Client-Addr: 127.0.0.1`, or `ipv6:::1`).
pub fn sink_client(dump: &[u8]) -> Option<IpAddr> {
    let text = String::from_utf8_lossy(&dump[..dump.len().min(4096)]);
    let addr = text
        .lines()
        .find_map(|l| l.strip_prefix("X-Client-Addr: "))?;
    addr.strip_prefix("ipv6:").unwrap_or(addr).parse().ok()
}

/// smtp-sink's path.
pub const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

impl SmtpSink {
    /// Starts `smtp-sink -u nobody -d DIR/dump/%M. ARGS 127.0.0.1:PORT 256`,
    /// and the same on `[::1]:PORT` where the machine has ::1.
    /// Remember: its reject options (`-f`, `-r`, `-q`, `-Q`) turn
    /// PIPELINING off; `-p` does so alone.
    pub fn start(args: &[&str]) -> Result<SmtpSink, String> {
        crate::skip::check_enabled("smtp-sink")?;
        if !process::is_executable(SMTP_SINK) {
            return Err(format!("{SMTP_SINK} is missing"));
        }
        if !process::is_root() {
            return Err("smtp-sink -u nobody needs root".into());
        }
        let dir = TempDir::new("sink");
        let dump = dir.path().join("dump");
        std::fs::create_dir_all(&dump).map_err(|e| e.to_string())?;
        // smtp-sink runs as nobody and writes its dumps there.
        let _ = Command::new("chmod")
            .args(["1777"])
            .arg(dir.path())
            .arg(&dump)
            .status();
        let mut last = String::new();
        for _attempt in 0..3 {
            let port = process::free_port();
            let mut guards = Vec::new();
            for ip in process::loopbacks() {
                let stderr = std::fs::File::create(dir.path().join(format!("stderr.{ip:?}")))
                    .map_err(|e| e.to_string())?;
                let child = Command::new(SMTP_SINK)
                    .args(["-u", "nobody", "-d"])
                    .arg(format!("{}/%M.", dump.display()))
                    .args(args)
                    .arg(std::net::SocketAddr::new(ip.addr(), port).to_string())
                    .arg("256")
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(stderr)
                    .spawn()
                    .map_err(|e| format!("cannot start smtp-sink: {e}"))?;
                guards.push(Guard::new("smtp-sink", child));
            }
            if process::wait_for_port(port, Duration::from_secs(5)) {
                return Ok(SmtpSink {
                    _guards: guards,
                    dir,
                    port,
                });
            }
            last = process::loopbacks()
                .iter()
                .map(|ip| {
                    std::fs::read_to_string(dir.path().join(format!("stderr.{ip:?}")))
                        .unwrap_or_default()
                })
                .collect();
        }
        panic!("smtp-sink did not start: {last}");
    }

    /// The transactions dumped so far (smtp-sink's dump format: its own
    /// `X-...` lines, then `Received:`, then the message, LF line ends).
    pub fn dumps(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("dump"))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
    }

    /// Waits (at most `timeout`) until at least `n` transactions were
    /// dumped; returns them all.
    pub fn wait_dumps(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        process::poll(timeout, || {
            let d = self.dumps();
            (d.len() >= n).then_some(d)
        })
        .unwrap_or_else(|| self.dumps())
    }
}

// --- the faulty server --------------------------------------------------

/// `interop/servers/faulty_server.py` serving one fault.
#[derive(Debug)]
pub struct Faulty {
    _guard: Guard,
    dir: TempDir,
    /// Its port.
    pub port: u16,
    /// The fault.
    pub mode: String,
}

/// How to start the faulty server.
#[derive(Debug, Clone, Copy)]
pub struct FaultyOptions {
    /// Offer a working STARTTLS (with the test certificates).
    pub tls: bool,
    /// Advertise PIPELINING.
    pub pipelining: bool,
}

impl Default for FaultyOptions {
    fn default() -> Self {
        FaultyOptions {
            tls: true,
            pipelining: true,
        }
    }
}

impl Faulty {
    /// Starts one faulty server for `mode` (see `faulty_server.py --list`),
    /// on every loopback address.
    pub fn start(mode: &str, options: FaultyOptions) -> Result<Faulty, String> {
        crate::skip::check_enabled("faulty")?;
        python_ok()?;
        let dir = TempDir::new("faulty");
        let mut cmd = Command::new(PYTHON);
        cmd.arg(process::servers_dir().join("faulty_server.py"))
            .args(process::host_args())
            .args(["--mode", mode, "--port", "0", "--log"])
            .arg(dir.path().join("log"));
        if options.tls {
            let certs = certs::get()?;
            cmd.arg("--cert")
                .arg(certs.chain())
                .arg("--key")
                .arg(certs.key());
        }
        if !options.pipelining {
            cmd.arg("--no-pipelining");
        }
        let (guard, ready) =
            Guard::spawn_ready("faulty", cmd, &dir.path().join("stderr"), START_TIMEOUT)?;
        let port = process::ready_field(&ready, "port")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("bad READY line {ready:?}"))?;
        Ok(Faulty {
            _guard: guard,
            dir,
            port,
            mode: mode.to_owned(),
        })
    }

    /// The log so far.
    pub fn log(&self) -> FaultyLog {
        FaultyLog::parse(&std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default())
    }

    /// Waits (at most `timeout`) until every connection the server opened
    /// has ended, then returns the log.
    pub fn settled_log(&self, timeout: Duration) -> FaultyLog {
        process::poll(timeout, || {
            let log = self.log();
            log.all_ended().then_some(log)
        })
        .unwrap_or_else(|| self.log())
    }
}

/// What a faulty-server log line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A command line from the client (or a response to an AUTH challenge).
    Command,
    /// A line of message data from the client.
    Data,
    /// A reply line the server sent.
    Reply,
    /// OPEN, TLS, END and other notes.
    Event,
}

/// One line of the faulty server's log.
#[derive(Debug, Clone)]
pub struct LogLine {
    /// The connection, counted from 1.
    pub conn: u32,
    /// What it is.
    pub kind: LineKind,
    /// Whether it crossed an encrypted channel.
    pub tls: bool,
    /// The line, without its line end (non-UTF-8 and control bytes escaped).
    pub text: String,
}

/// The faulty server's log, parsed.
#[derive(Debug, Clone, Default)]
pub struct FaultyLog {
    /// Every line, in order.
    pub lines: Vec<LogLine>,
}

impl FaultyLog {
    /// Parses the log format of `faulty_server.py`.
    pub fn parse(text: &str) -> FaultyLog {
        let lines = text
            .lines()
            .filter_map(|l| {
                let (conn, rest) = l.split_once(' ')?;
                let conn = conn.parse().ok()?;
                let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
                let kind = match kind {
                    "C" => LineKind::Command,
                    "D" => LineKind::Data,
                    "S" => LineKind::Reply,
                    "EVENT" => {
                        return Some(LogLine {
                            conn,
                            kind: LineKind::Event,
                            tls: false,
                            text: rest.to_owned(),
                        });
                    }
                    _ => return None,
                };
                let (tls, text) = rest.split_once(' ').unwrap_or((rest, ""));
                Some(LogLine {
                    conn,
                    kind,
                    tls: tls == "tls",
                    text: text.to_owned(),
                })
            })
            .collect();
        FaultyLog { lines }
    }

    /// True when every opened connection has its END line.
    pub fn all_ended(&self) -> bool {
        let count = |t: &str| {
            self.lines
                .iter()
                .filter(|l| l.kind == LineKind::Event && l.text == t)
                .count()
        };
        count("OPEN") == count("END")
    }

    /// The text of every event line (OPEN, TLS, `BDAT n [LAST]`, END ...),
    /// in order.
    pub fn events(&self) -> impl Iterator<Item = &str> + '_ {
        self.lines
            .iter()
            .filter(|l| l.kind == LineKind::Event)
            .map(|l| l.text.as_str())
    }

    /// The client address of every connection (its `PEER` event), in
    /// order.
    pub fn peers(&self) -> Vec<Option<IpAddr>> {
        self.events()
            .filter_map(|e| e.strip_prefix("PEER "))
            .map(|a| a.parse().ok())
            .collect()
    }

    /// The command lines the client sent, upper-cased verb first, in order.
    pub fn commands(&self) -> Vec<&LogLine> {
        self.lines
            .iter()
            .filter(|l| l.kind == LineKind::Command)
            .collect()
    }

    /// True when a command line starting with `verb` (case-insensitive) was
    /// sent.
    pub fn sent_command(&self, verb: &str) -> bool {
        self.commands()
            .iter()
            .any(|l| starts_with_ci(&l.text, verb))
    }

    /// Every line the client sent on a plaintext channel (commands and data).
    pub fn plaintext_client_lines(&self) -> Vec<&LogLine> {
        self.lines
            .iter()
            .filter(|l| matches!(l.kind, LineKind::Command | LineKind::Data) && !l.tls)
            .collect()
    }

    /// The lines of one connection.
    pub fn connection(&self, conn: u32) -> impl Iterator<Item = &LogLine> {
        self.lines.iter().filter(move |l| l.conn == conn)
    }

    /// The whole log, for failure messages.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            let t: String = l.text.chars().take(200).collect();
            let tls = if l.tls { "tls" } else { "plain" };
            s.push_str(&format!("{} {:?} {tls} {t}\n", l.conn, l.kind));
        }
        s
    }
}

/// ASCII case-insensitive `starts_with`.
pub fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

//! What the `send` tests share: running the command as a process (with a
//! deadline), temporary working directories, and a small scripted SMTP
//! server on 127.0.0.1 that refuses chosen recipients, offers AUTH in
//! plaintext, or stays silent.

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a `send` process may run before the test kills it and fails.
pub const PROCESS_DEADLINE: Duration = Duration::from_secs(60);
/// How long the test server waits for a connection or a line.
pub const SERVER_PATIENCE: Duration = Duration::from_secs(20);

/// The user name and password the test server accepts.
pub const USER: &str = "tester";
/// Chosen to be findable: it must never appear in any output.
pub const PASSWORD: &str = "Zq7-secret-Pa55word";

/// The base64 forms the password could take on the wire.
pub fn secret_forms() -> Vec<String> {
    vec![
        PASSWORD.to_owned(),
        b64(PASSWORD.as_bytes()),
        b64(format!("\0{USER}\0{PASSWORD}").as_bytes()),
    ]
}

/// Base64, as the core encodes it.
pub fn b64(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    smtp_proto::base64::encode_into(bytes, &mut out);
    String::from_utf8(out).unwrap()
}

/// What a `send` process did.
#[derive(Debug)]
pub struct Run {
    /// Its exit status (`None` if killed by a signal).
    pub code: Option<i32>,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Run {
    /// Both outputs together.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `send` with `args` in `dir`, with `env` added; fails the test if it
/// runs past [`PROCESS_DEADLINE`].
pub fn send(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_send"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("SMTP_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("start send");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for send") {
            break status;
        }
        if started.elapsed() > PROCESS_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("send {args:?} ran past {PROCESS_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed: started.elapsed(),
    }
}

/// A temporary directory, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh directory under the system's temporary directory.
    pub fn new(name: &str) -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let dir = std::env::temp_dir().join(format!("send-test-{name}-{:016x}", h.finish()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How the test server behaves.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// Offer PIPELINING.
    pub pipelining: bool,
    /// Offer AUTH PLAIN LOGIN (in plaintext: the client must hold its
    /// password back unless told otherwise).
    pub auth: bool,
    /// Recipients refused with 550.
    pub reject: Vec<String>,
    /// Never send the greeting (and read until the client goes away).
    pub silent: bool,
    /// Speak LMTP: LHLO, and one reply per recipient after the data.
    pub lmtp: bool,
    /// LMTP recipients whose delivery fails with 452 after the data.
    pub defer: Vec<String>,
    /// Offer SIZE with this limit, and refuse a larger declared SIZE.
    pub size: Option<u64>,
}

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// MAIL FROM's path.
    pub from: String,
    /// The accepted recipients.
    pub to: Vec<String>,
    /// The dot-unstuffed data.
    pub data: Vec<u8>,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Every command line, AUTH responses included.
    pub commands: Vec<String>,
    /// The accepted messages.
    pub messages: Vec<Received>,
    /// The credentials were the right ones.
    pub authenticated: bool,
    /// How many reads returned data (a pipelined batch is one).
    pub reads: usize,
    /// Why serving stopped, if not by QUIT or end of stream.
    pub error: Option<String>,
}

/// A running test server, serving one connection.
#[derive(Debug)]
pub struct TestServer {
    port: u16,
    thread: JoinHandle<Seen>,
}

impl TestServer {
    /// Binds 127.0.0.1 on a free port.
    pub fn start(spec: Spec) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let thread = std::thread::spawn(move || {
            let mut seen = Seen::default();
            if let Err(e) = accept(&listener).and_then(|s| serve(s, &spec, &mut seen)) {
                seen.error = Some(e.to_string());
            }
            seen
        });
        TestServer { port, thread }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits for the connection to end.
    pub fn finish(self) -> Seen {
        self.thread.join().expect("test server panicked")
    }
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

fn accept(listener: &TcpListener) -> io::Result<TcpStream> {
    listener.set_nonblocking(true)?;
    let give_up = Instant::now() + SERVER_PATIENCE;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                stream.set_read_timeout(Some(SERVER_PATIENCE))?;
                stream.set_write_timeout(Some(SERVER_PATIENCE))?;
                return Ok(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < give_up => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Counts the reads that return data.
struct Counting<R> {
    inner: R,
    reads: usize,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.reads += 1;
        }
        Ok(n)
    }
}

struct Conn {
    reader: BufReader<Counting<TcpStream>>,
    writer: BufWriter<TcpStream>,
}

impl Conn {
    fn line(&mut self) -> io::Result<Option<String>> {
        if !self.reader.buffer().contains(&b'\n') {
            self.writer.flush()?;
        }
        let mut line = Vec::new();
        (&mut self.reader)
            .take(1 << 16)
            .read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            String::from_utf8_lossy(&line)
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
        ))
    }

    fn reply(&mut self, text: &str) -> io::Result<()> {
        self.writer.write_all(text.as_bytes())?;
        self.writer.write_all(b"\r\n")
    }
}

fn serve(stream: TcpStream, spec: &Spec, seen: &mut Seen) -> io::Result<()> {
    if spec.silent {
        let mut sink = [0u8; 1024];
        let mut s = &stream;
        while s.read(&mut sink)? > 0 {}
        return Ok(());
    }
    let mut c = Conn {
        writer: BufWriter::new(stream.try_clone()?),
        reader: BufReader::new(Counting {
            inner: stream,
            reads: 0,
        }),
    };
    let result = dialogue(&mut c, spec, seen);
    seen.reads = c.reader.get_ref().reads;
    let _ = c.writer.flush();
    result
}

fn dialogue(c: &mut Conn, spec: &Spec, seen: &mut Seen) -> io::Result<()> {
    c.reply("220 127.0.0.1 ESMTP test server")?;
    let (mut from, mut to): (Option<String>, Vec<String>) = (None, Vec::new());
    for _ in 0..100_000 {
        let Some(line) = c.line()? else {
            return Ok(());
        };
        seen.commands.push(line.clone());
        let (verb, args) = line.split_once(' ').unwrap_or((&line, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "LHLO" if verb.eq_ignore_ascii_case("LHLO") == spec.lmtp => {
                let mut lines = vec!["127.0.0.1 greets you"];
                if spec.pipelining {
                    lines.push("PIPELINING");
                }
                if spec.auth {
                    lines.push("AUTH PLAIN LOGIN");
                }
                lines.push("8BITMIME");
                let size = spec.size.map(|n| format!("SIZE {n}"));
                lines.extend(size.as_deref());
                let n = lines.len();
                for (i, l) in lines.iter().enumerate() {
                    c.reply(&format!("250{}{l}", if i + 1 == n { ' ' } else { '-' }))?;
                }
            }
            "AUTH" => auth(c, args, seen)?,
            "MAIL" => {
                let declared = args
                    .split_whitespace()
                    .find_map(|p| p.strip_prefix("SIZE="))
                    .and_then(|n| n.parse::<u64>().ok());
                if let (Some(n), Some(limit)) = (declared, spec.size) {
                    if n > limit {
                        c.reply("552 5.3.4 Message size exceeds fixed limit")?;
                        continue;
                    }
                }
                from = Some(path(args));
                to.clear();
                c.reply("250 2.1.0 Ok")?;
            }
            "RCPT" => {
                let address = path(args);
                if spec.reject.contains(&address) {
                    c.reply(&format!(
                        "550 5.1.1 <{address}>: Recipient address rejected"
                    ))?;
                } else {
                    to.push(address);
                    c.reply("250 2.1.5 Ok")?;
                }
            }
            "DATA" => {
                if to.is_empty() {
                    c.reply("554 5.5.1 No valid recipients")?;
                    continue;
                }
                c.reply("354 Go ahead")?;
                let mut data = Vec::new();
                loop {
                    let line = c.line()?.ok_or(io::ErrorKind::UnexpectedEof)?;
                    if line == "." {
                        break;
                    }
                    data.extend_from_slice(line.strip_prefix('.').unwrap_or(&line).as_bytes());
                    data.extend_from_slice(b"\r\n");
                }
                seen.messages.push(Received {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    data,
                });
                if spec.lmtp {
                    for address in &seen.messages[seen.messages.len() - 1].to {
                        match spec.defer.contains(address) {
                            true => c.reply(&format!("452 4.2.2 <{address}>: Mailbox full"))?,
                            false => c.reply(&format!("250 2.0.0 <{address}> delivered"))?,
                        }
                    }
                } else {
                    c.reply(&format!("250 2.0.0 Ok: queued as T{}", seen.messages.len()))?;
                }
            }
            "RSET" => {
                from = None;
                to.clear();
                c.reply("250 2.0.0 Ok")?;
            }
            "NOOP" => c.reply("250 2.0.0 Ok")?,
            "QUIT" => {
                c.reply("221 2.0.0 Bye")?;
                return Ok(());
            }
            _ => c.reply("502 5.5.2 Not implemented")?,
        }
    }
    Err(io::Error::other("too many commands"))
}

fn auth(c: &mut Conn, args: &str, seen: &mut Seen) -> io::Result<()> {
    let mut words = args.split_whitespace();
    let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
    let initial = words.next().map(str::to_owned);
    let decode = |s: &str| smtp_proto::base64::decode(s.trim().as_bytes()).unwrap_or_default();
    let next = |c: &mut Conn, prompt: &str, seen: &mut Seen| -> io::Result<String> {
        c.reply(prompt)?;
        let line = c.line()?.ok_or(io::ErrorKind::UnexpectedEof)?;
        seen.commands.push(line.clone());
        Ok(line)
    };
    let ok = match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(r) => r,
                None => next(c, "334 ", seen)?,
            };
            decode(&response) == format!("\0{USER}\0{PASSWORD}").into_bytes()
        }
        "LOGIN" => {
            let user = decode(&next(c, "334 VXNlcm5hbWU6", seen)?);
            let password = decode(&next(c, "334 UGFzc3dvcmQ6", seen)?);
            user == USER.as_bytes() && password == PASSWORD.as_bytes()
        }
        _ => return c.reply("504 5.5.4 Unrecognized authentication type"),
    };
    seen.authenticated |= ok;
    match ok {
        true => c.reply("235 2.7.0 Authentication successful"),
        false => c.reply("535 5.7.8 Authentication credentials invalid"),
    }
}

/// The address between `<` and `>` in `FROM:<a@b> ...` or `TO:<a@b>`.
fn path(args: &str) -> String {
    args.split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default()
}

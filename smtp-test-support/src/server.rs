//! A small SMTP server on 127.0.0.1, in a std thread, serving one
//! connection as its [`Spec`] says: plain, STARTTLS or implicit TLS, AUTH,
//! refused recipients, and faults (silence, closing mid-reply, closing an
//! idle session). It keeps what it saw in a [`Record`]. [`MultiServer`]
//! serves many connections at once, for a connection pool. Every wait is
//! bounded: it gives up on accepting or reading after [`SERVER_PATIENCE`].

use crate::body::Fnv;
use crate::pki::Pki;
use rustls::{ServerConnection, StreamOwned};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the server waits for a connection, or for a line, before it
/// gives up (so no test can hang on it).
pub const SERVER_PATIENCE: Duration = Duration::from_secs(20);

/// The user name the server accepts.
pub const USER: &str = "tester";
/// The password the server accepts; tests look for it on the plaintext wire.
pub const PASSWORD: &str = "s3cret-Pa55word";

/// A point of the dialogue where a fault may strike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// The 220 greeting.
    Greeting,
    /// The reply to EHLO.
    Ehlo,
    /// The reply to MAIL FROM.
    Mail,
    /// The reply to the end of data.
    DataEnd,
}

/// What goes wrong, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Nothing.
    #[default]
    None,
    /// The server stops answering at this point (and reads on until the
    /// client goes away).
    SilentAt(Point),
    /// The server sends half of this reply, then closes the connection.
    CloseMidReplyAt(Point),
}

/// A TLS fault, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsFault {
    /// None.
    #[default]
    None,
    /// The certificate's validity ended (its CA is trusted).
    ExpiredCert,
    /// The handshake never gets an answer: the server reads and says
    /// nothing.
    StalledHandshake,
    /// Plaintext SMTP where TLS from the first byte was expected.
    PlaintextOnImplicitPort,
    /// After 354 and a line of the body, the server ends TLS with
    /// close_notify and closes.
    CloseNotifyMidBody,
    /// After 354 and a line of the body, a fatal TLS alert record
    /// (internal_error) goes out in the clear, beside the encrypted stream,
    /// and the server closes.
    AlertMidBody,
}

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// A TLS fault.
    pub tls_fault: TlsFault,
    /// Offer PIPELINING.
    pub pipelining: bool,
    /// Offer STARTTLS (before TLS).
    pub starttls: bool,
    /// Start with TLS (port 465 style).
    pub implicit_tls: bool,
    /// Offer AUTH PLAIN LOGIN (even in plaintext, as a careless server
    /// would: the client must still hold its password back).
    pub auth: bool,
    /// Also offer SCRAM-SHA-256, and over TLS SCRAM-SHA-256-PLUS (checked
    /// against this server's own TLS exporter).
    pub scram: bool,
    /// Present a certificate from a CA the client does not trust.
    pub untrusted_cert: bool,
    /// Recipients refused with 550.
    pub reject: Vec<String>,
    /// What goes wrong.
    pub fault: Fault,
    /// Close a session that sends no command for this long, with a 421
    /// first (as servers drop idle clients).
    pub idle_close: Option<Duration>,
}

/// One message the server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// MAIL FROM, as sent (with its brackets).
    pub from: String,
    /// The accepted recipients.
    pub to: Vec<String>,
    /// The size of the unstuffed data.
    pub len: u64,
    /// Its FNV-1a hash.
    pub hash: u64,
    /// The data itself, when under 1 MiB.
    pub data: Option<Vec<u8>>,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Record {
    /// Every command line (without CRLF), AUTH exchanges included.
    pub commands: Vec<String>,
    /// The bytes received before TLS started (the first MiB).
    pub plaintext: Vec<u8>,
    /// True once a TLS handshake succeeded.
    pub tls: bool,
    /// Credentials were accepted.
    pub authenticated: bool,
    /// SCRAM was accepted with the channel bound to this TLS connection.
    pub channel_bound: bool,
    /// The messages accepted, in order.
    pub messages: Vec<Received>,
    /// Why the server stopped, if not by QUIT or end of stream.
    pub error: Option<String>,
}

impl Record {
    /// The verb of each command (`EHLO`, `MAIL`, ...), in order.
    pub fn verbs(&self) -> Vec<&str> {
        self.commands
            .iter()
            .map(|c| c.split(' ').next().unwrap_or_default())
            .collect()
    }

    /// True if the password, or any AUTH command, crossed the plaintext
    /// part of the connection.
    pub fn leaked_credentials(&self) -> bool {
        let text = String::from_utf8_lossy(&self.plaintext).to_ascii_uppercase();
        let plain = plain_response_b64();
        text.contains("AUTH")
            || contains(&self.plaintext, PASSWORD.as_bytes())
            || contains(&self.plaintext, plain.as_bytes())
            || contains(&self.plaintext, b64(PASSWORD.as_bytes()).as_bytes())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn b64(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    smtp_proto::base64::encode_into(bytes, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

fn plain_response_b64() -> String {
    b64(format!("\0{USER}\0{PASSWORD}").as_bytes())
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    port: u16,
    thread: JoinHandle<Record>,
}

impl Server {
    /// Binds 127.0.0.1 on a free port and serves one connection.
    pub fn start(spec: Spec) -> Server {
        Server::start_on("127.0.0.1:0", spec)
    }

    /// Binds `address` (a loopback one: `127.0.0.1:0`, `[::1]:0`) and serves
    /// one connection.
    pub fn start_on(address: &str, spec: Spec) -> Server {
        let listener = TcpListener::bind(address).unwrap_or_else(|e| panic!("bind {address}: {e}"));
        let port = listener.local_addr().expect("local address").port();
        let thread = std::thread::spawn(move || {
            let mut record = Record::default();
            if let Err(e) = accept(&listener).and_then(|s| serve(s, &spec, &mut record)) {
                record.error = Some(e.to_string());
            }
            record
        });
        Server { port, thread }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits for the connection to end and returns what the server saw.
    pub fn finish(self) -> Record {
        self.thread.join().expect("server thread panicked")
    }
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

/// The server's connection: plaintext (logged) or TLS.
enum Wire {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
    Closed,
}

struct ServerIo {
    wire: Wire,
    plaintext: Vec<u8>,
}

const PLAINTEXT_LOG: usize = 1 << 20;

impl Read for ServerIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.wire {
            Wire::Plain(s) => {
                let n = s.read(buf)?;
                let room = PLAINTEXT_LOG.saturating_sub(self.plaintext.len());
                self.plaintext.extend_from_slice(&buf[..n.min(room)]);
                Ok(n)
            }
            Wire::Tls(t) => t.read(buf),
            Wire::Closed => Ok(0),
        }
    }
}

impl Write for ServerIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.wire {
            Wire::Plain(s) => s.write(buf),
            Wire::Tls(t) => t.write(buf),
            Wire::Closed => Err(io::ErrorKind::NotConnected.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.wire {
            Wire::Plain(s) => s.flush(),
            Wire::Tls(t) => t.flush(),
            Wire::Closed => Ok(()),
        }
    }
}

fn upgrade(
    io: BufReader<ServerIo>,
    pki: &Pki,
    record: &mut Record,
) -> io::Result<BufReader<ServerIo>> {
    if !io.buffer().is_empty() {
        return Err(io::Error::other("client sent bytes after STARTTLS"));
    }
    let ServerIo { wire, plaintext } = io.into_inner();
    record.plaintext = plaintext;
    let Wire::Plain(tcp) = wire else {
        return Err(io::Error::other("TLS twice, or on a closed connection"));
    };
    let conn = ServerConnection::new(pki.server.clone()).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        let StreamOwned { conn, sock } = &mut tls;
        conn.complete_io(sock)?;
    }
    record.tls = true;
    Ok(BufReader::new(ServerIo {
        wire: Wire::Tls(Box::new(tls)),
        plaintext: Vec::new(),
    }))
}

/// One connection, by the spec.
struct Session<'a> {
    io: BufReader<ServerIo>,
    spec: &'a Spec,
    pki: &'a Pki,
    from: Option<String>,
    to: Vec<String>,
}

/// What a reply did.
enum Flow {
    Go,
    Stop,
}

impl Session<'_> {
    /// The next command line, or `None` once the client has been idle for
    /// the spec's `idle_close` (the server then says 421 and closes).
    fn command(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(idle) = self.spec.idle_close else {
            return self.line();
        };
        self.io.get_ref().set_read_timeout(idle)?;
        let line = self.line();
        self.io.get_ref().set_read_timeout(SERVER_PATIENCE)?;
        match line {
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                self.reply(None, "421 4.4.2 localhost Error: timeout exceeded\r\n")?;
                Ok(None)
            }
            other => other,
        }
    }

    fn line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        (&mut self.io).take(1 << 20).read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Ok(None);
        }
        Ok(Some(line))
    }

    /// Sends a reply, unless a fault strikes at `point`.
    fn reply(&mut self, point: Option<Point>, text: &str) -> io::Result<Flow> {
        let (bytes, flow) = match self.spec.fault {
            Fault::SilentAt(p) if Some(p) == point => {
                // Read on, answering nothing, until the client gives up.
                let mut sink = [0u8; 4096];
                while self.io.read(&mut sink)? > 0 {}
                return Ok(Flow::Stop);
            }
            Fault::CloseMidReplyAt(p) if Some(p) == point => {
                (&text.as_bytes()[..text.len() / 2 + 1], Flow::Stop)
            }
            _ => (text.as_bytes(), Flow::Go),
        };
        let io = self.io.get_mut();
        io.write_all(bytes)?;
        io.flush()?;
        Ok(flow)
    }

    fn ehlo(&mut self) -> String {
        let tls = matches!(self.io.get_ref().wire, Wire::Tls(_));
        let mut lines = vec!["localhost greets you"];
        if self.spec.pipelining {
            lines.push("PIPELINING");
        }
        if self.spec.starttls && !tls {
            lines.push("STARTTLS");
        }
        match (self.spec.auth, self.spec.scram, tls) {
            (true, true, true) => lines.push("AUTH PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS"),
            (true, true, false) => lines.push("AUTH PLAIN LOGIN SCRAM-SHA-256"),
            (true, false, _) => lines.push("AUTH PLAIN LOGIN"),
            (false, ..) => {}
        }
        lines.push("8BITMIME");
        let n = lines.len();
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}\r\n", if i + 1 == n { ' ' } else { '-' }))
            .collect()
    }

    fn auth(&mut self, args: &str, record: &mut Record) -> io::Result<Flow> {
        let mut words = args.split_whitespace();
        let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
        let initial = words.next().map(str::to_owned);
        let decode = |s: &str| smtp_proto::base64::decode(s.trim().as_bytes()).unwrap_or_default();
        let ok = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(r) => r,
                    None => {
                        self.reply(None, "334 \r\n")?;
                        self.command_line(record)?
                    }
                };
                decode(&response) == format!("\0{USER}\0{PASSWORD}").into_bytes()
            }
            "LOGIN" => {
                self.reply(None, "334 VXNlcm5hbWU6\r\n")?;
                let user = decode(&self.command_line(record)?);
                self.reply(None, "334 UGFzc3dvcmQ6\r\n")?;
                let password = decode(&self.command_line(record)?);
                user == USER.as_bytes() && password == PASSWORD.as_bytes()
            }
            "SCRAM-SHA-256" | "SCRAM-SHA-256-PLUS" if self.spec.scram => {
                let first = match initial {
                    Some(r) => decode(&r),
                    None => return self.reply(None, "501 5.5.2 initial response expected\r\n"),
                };
                let Some(scram) = crate::scram::ScramServer::start(&first) else {
                    return self.reply(None, "501 5.5.2 not a SCRAM client-first-message\r\n");
                };
                let challenge = b64_line(scram.server_first().as_bytes());
                self.reply(None, &format!("334 {challenge}\r\n"))?;
                let client_final = decode(&self.command_line(record)?);
                let exporter = self.exporter();
                match scram.finish(&client_final, PASSWORD, exporter) {
                    crate::scram::Verdict::Accepted {
                        server_final,
                        bound,
                    } if scram.user() == Some(USER)
                        && bound == (mechanism == "SCRAM-SHA-256-PLUS") =>
                    {
                        let v = b64_line(server_final.as_bytes());
                        self.reply(None, &format!("334 {v}\r\n"))?;
                        let done = self.command_line(record)?;
                        record.channel_bound |= bound;
                        done.is_empty()
                    }
                    _ => false,
                }
            }
            _ => return self.reply(None, "504 5.5.4 Unrecognized authentication type\r\n"),
        };
        record.authenticated |= ok;
        match ok {
            true => self.reply(None, "235 2.7.0 Authentication successful\r\n"),
            false => self.reply(None, "535 5.7.8 Authentication credentials invalid\r\n"),
        }
    }

    /// This side's TLS exporter for channel binding (RFC 9266).
    fn exporter(&self) -> Option<[u8; 32]> {
        match &self.io.get_ref().wire {
            Wire::Tls(t) => t
                .conn
                .export_keying_material([0u8; 32], smtp_proto::TLS_EXPORTER_LABEL, None)
                .ok(),
            _ => None,
        }
    }

    fn command_line(&mut self, record: &mut Record) -> io::Result<String> {
        let line = self.line()?.ok_or(io::ErrorKind::UnexpectedEof)?;
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        record.commands.push(text.clone());
        Ok(text)
    }

    fn data(&mut self, record: &mut Record) -> io::Result<Flow> {
        if self.to.is_empty() {
            return self.reply(None, "554 5.5.1 No valid recipients\r\n");
        }
        self.reply(None, "354 End data with <CR><LF>.<CR><LF>\r\n")?;
        if self.spec.tls_fault == TlsFault::CloseNotifyMidBody {
            self.line()?;
            if let Wire::Tls(t) = &mut self.io.get_mut().wire {
                t.conn.send_close_notify();
                let _ = t.flush();
            }
            return Ok(Flow::Stop);
        }
        if self.spec.tls_fault == TlsFault::AlertMidBody {
            self.line()?;
            if let Wire::Tls(t) = &mut self.io.get_mut().wire {
                // An alert record: type 21, TLS 1.2 framing, fatal (2), internal_error (80).
                let _ = t.sock.write_all(&[21, 3, 3, 0, 2, 2, 80]);
            }
            return Ok(Flow::Stop);
        }
        let (mut len, mut hash, mut data) = (0u64, Fnv::default(), Some(Vec::new()));
        loop {
            let line = self.line()?.ok_or(io::ErrorKind::UnexpectedEof)?;
            if line == b".\r\n" {
                break;
            }
            let line = line.strip_prefix(b".").unwrap_or(&line);
            len += line.len() as u64;
            hash.update(line);
            data = data.filter(|_| len < 1 << 20).map(|mut d| {
                d.extend_from_slice(line);
                d
            });
        }
        record.messages.push(Received {
            from: self.from.take().unwrap_or_default(),
            to: std::mem::take(&mut self.to),
            len,
            hash: hash.finish(),
            data,
        });
        let reply = format!("250 2.0.0 Ok: queued as M{}\r\n", record.messages.len());
        self.reply(Some(Point::DataEnd), &reply)
    }

    fn run(&mut self, record: &mut Record) -> io::Result<()> {
        if let Flow::Stop =
            self.reply(Some(Point::Greeting), "220 localhost ESMTP test server\r\n")?
        {
            return Ok(());
        }
        while let Some(line) = self.command()? {
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            record.commands.push(text.clone());
            let (verb, args) = text.split_once(' ').unwrap_or((&text, ""));
            let flow = match verb.to_ascii_uppercase().as_str() {
                "EHLO" => {
                    let reply = self.ehlo();
                    self.reply(Some(Point::Ehlo), &reply)?
                }
                "STARTTLS" => {
                    self.reply(None, "220 2.0.0 Ready to start TLS\r\n")?;
                    let io = std::mem::replace(&mut self.io, ServerIo::closed());
                    self.io = upgrade(io, self.pki, record)?;
                    Flow::Go
                }
                "AUTH" => self.auth(args, record)?,
                "MAIL" => {
                    self.from = args.get(5..).map(str::to_owned);
                    self.to.clear();
                    self.reply(Some(Point::Mail), "250 2.1.0 Ok\r\n")?
                }
                "RCPT" => {
                    let address = args.get(3..).unwrap_or_default().to_owned();
                    let refused = self
                        .spec
                        .reject
                        .iter()
                        .any(|r| address.contains(r.as_str()));
                    if refused {
                        let reply = format!("550 5.1.1 {address}: Recipient address rejected\r\n");
                        self.reply(None, &reply)?
                    } else {
                        self.to.push(address);
                        self.reply(None, "250 2.1.5 Ok\r\n")?
                    }
                }
                "DATA" => self.data(record)?,
                "RSET" => {
                    self.from = None;
                    self.to.clear();
                    self.reply(None, "250 2.0.0 Ok\r\n")?
                }
                "NOOP" => self.reply(None, "250 2.0.0 Ok\r\n")?,
                "QUIT" => {
                    self.reply(None, "221 2.0.0 Bye\r\n")?;
                    Flow::Stop
                }
                _ => self.reply(None, "500 5.5.2 Syntax error, command unrecognized\r\n")?,
            };
            if let Flow::Stop = flow {
                break;
            }
        }
        Ok(())
    }
}

impl ServerIo {
    /// Sets the read timeout of the TCP connection under the wire.
    fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        match &self.wire {
            Wire::Plain(s) => s.set_read_timeout(Some(timeout)),
            Wire::Tls(t) => t.sock.set_read_timeout(Some(timeout)),
            Wire::Closed => Ok(()),
        }
    }

    /// A stand-in while the stream is being upgraded.
    fn closed() -> BufReader<ServerIo> {
        BufReader::new(ServerIo {
            wire: Wire::Closed,
            plaintext: Vec::new(),
        })
    }
}

fn serve(stream: TcpStream, spec: &Spec, record: &mut Record) -> io::Result<()> {
    // Each reply is a write of its own: without this, Nagle holds the
    // second of two replies until the client's delayed ACK (40 ms).
    stream.set_nodelay(true)?;
    let pki = match (spec.untrusted_cert, spec.tls_fault) {
        (true, _) => crate::pki::untrusted(),
        (false, TlsFault::ExpiredCert) => crate::pki::expired(),
        (false, _) => crate::pki::trusted(),
    };
    let mut io = BufReader::new(ServerIo {
        wire: Wire::Plain(stream),
        plaintext: Vec::new(),
    });
    match (spec.implicit_tls, spec.tls_fault) {
        (true, TlsFault::StalledHandshake) => {
            // Read whatever comes (the ClientHello), answer nothing, until
            // the client gives up (or the server's patience ends).
            let mut sink = [0u8; 4096];
            while io.read(&mut sink)? > 0 {}
            return Ok(());
        }
        (true, TlsFault::PlaintextOnImplicitPort) => {}
        (true, _) => io = upgrade(io, pki, record)?,
        (false, _) => {}
    }
    let mut session = Session {
        io,
        spec,
        pki,
        from: None,
        to: Vec::new(),
    };
    let result = session.run(record);
    if let Wire::Plain(_) = session.io.get_ref().wire {
        record.plaintext = std::mem::take(&mut session.io.get_mut().plaintext);
    }
    result
}

/// What a [`MultiServer`] has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Connections accepted.
    pub accepted: usize,
    /// Connections being served now.
    pub active: usize,
    /// The most connections served at once.
    pub peak: usize,
    /// Connections whose dialogue is over (by QUIT, a fault, an idle
    /// close, or the client going away).
    pub finished: usize,
    /// Messages accepted on the finished connections.
    pub messages: usize,
}

#[derive(Default)]
struct Shared {
    counts: Mutex<Counts>,
    changed: Condvar,
    records: Mutex<Vec<(usize, Record)>>,
    stop: AtomicBool,
}

impl Shared {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The scripted server for many connections at once (a connection pool's
/// peer): on 127.0.0.1, each connection in its own thread and served as
/// the [`Spec`] for its index (0 for the first) says. It stops accepting
/// after `max_connections`, on [`MultiServer::finish`], or after
/// [`SERVER_PATIENCE`].
#[derive(Debug)]
pub struct MultiServer {
    port: u16,
    shared: Arc<Shared>,
    acceptor: JoinHandle<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("counts", &*self.counts())
            .finish()
    }
}

impl MultiServer {
    /// Binds 127.0.0.1 on a free port and serves up to `max_connections`.
    pub fn start(
        max_connections: usize,
        spec_for: impl Fn(usize) -> Spec + Send + 'static,
    ) -> MultiServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared::default());
        let acceptor = {
            let shared = shared.clone();
            std::thread::spawn(move || accept_many(&listener, max_connections, &spec_for, &shared))
        };
        MultiServer {
            port,
            shared,
            acceptor,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What it has seen so far.
    pub fn counts(&self) -> Counts {
        *self.shared.counts()
    }

    /// Waits until `done` holds for the counts, at most `limit`; returns
    /// whether it does.
    pub fn wait_for(&self, limit: Duration, done: impl Fn(&Counts) -> bool) -> bool {
        let counts = self.shared.counts();
        let (counts, _) = self
            .shared
            .changed
            .wait_timeout_while(counts, limit, |c| !done(c))
            .unwrap_or_else(|e| e.into_inner());
        done(&counts)
    }

    /// Stops accepting, waits for every connection to end, and returns
    /// what the server saw on each, in the order they were accepted.
    pub fn finish(self) -> Vec<Record> {
        self.shared
            .stop
            .store(true, std::sync::atomic::Ordering::Release);
        let workers = self.acceptor.join().expect("acceptor panicked");
        for worker in workers {
            worker.join().expect("connection thread panicked");
        }
        let mut records = std::mem::take(&mut *self.shared.records.lock().expect("records"));
        records.sort_by_key(|(i, _)| *i);
        records.into_iter().map(|(_, r)| r).collect()
    }
}

fn accept_many(
    listener: &TcpListener,
    max_connections: usize,
    spec_for: &dyn Fn(usize) -> Spec,
    shared: &Arc<Shared>,
) -> Vec<JoinHandle<()>> {
    let mut workers = Vec::new();
    if listener.set_nonblocking(true).is_err() {
        return workers;
    }
    let give_up = Instant::now() + SERVER_PATIENCE;
    while workers.len() < max_connections
        && Instant::now() < give_up
        && !shared.stop.load(std::sync::atomic::Ordering::Acquire)
    {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            Err(_) => break,
        };
        let index = workers.len();
        let spec = spec_for(index);
        {
            let mut c = shared.counts();
            c.accepted += 1;
            c.active += 1;
            c.peak = c.peak.max(c.active);
        }
        shared.changed.notify_all();
        let shared = shared.clone();
        workers.push(std::thread::spawn(move || {
            let mut record = Record::default();
            let served = stream
                .set_nonblocking(false)
                .and_then(|()| stream.set_read_timeout(Some(SERVER_PATIENCE)))
                .and_then(|()| stream.set_write_timeout(Some(SERVER_PATIENCE)))
                .and_then(|()| serve(stream, &spec, &mut record));
            if let Err(e) = served {
                record.error = Some(e.to_string());
            }
            {
                let mut c = shared.counts();
                c.active -= 1;
                c.finished += 1;
                c.messages += record.messages.len();
            }
            shared
                .records
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((index, record));
            shared.changed.notify_all();
        }));
    }
    workers
}

fn b64_line(bytes: &[u8]) -> String {
    let mut v = Vec::new();
    smtp_proto::base64::encode_into(bytes, &mut v);
    String::from_utf8(v).unwrap_or_default()
}

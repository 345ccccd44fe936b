//! The capture server: a small SMTP server on 127.0.0.1 in a thread of the
//! `send` process, used when no `--server` is given. The message goes to it
//! through the real client over a real socket, and each message it accepts
//! is stored as an `.eml` file (exactly the bytes received, dot-unstuffed)
//! before the 250 is sent.
//!
//! It serves one connection. It speaks EHLO/HELO, MAIL, RCPT, DATA, BDAT
//! (when told to offer CHUNKING), RSET, NOOP, VRFY, HELP, QUIT and, when
//! told to, AUTH PLAIN/LOGIN taking any credentials (which it never
//! stores). It offers PIPELINING, 8BITMIME, SMTPUTF8, SIZE and
//! ENHANCEDSTATUSCODES, and answers pipelined commands with one write per
//! batch: replies are flushed only when no complete command is waiting.
//!
//! Everything is bounded: command lines ([`MAX_LINE`]), messages
//! ([`MAX_MESSAGE`], advertised as SIZE), recipients ([`MAX_RECIPIENTS`]),
//! commands per connection ([`MAX_COMMANDS`]), and every wait (accepting,
//! reading, writing) by the patience it is given.

use smtp_blocking::outbox;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest command line taken, CRLF included (RFC 5321 asks for 512;
/// this is lenient). A longer one ends the connection.
pub const MAX_LINE: usize = 4096;
/// The largest message taken, advertised as `SIZE`.
pub const MAX_MESSAGE: usize = 64 << 20;
/// The most recipients of one message (RFC 5321 section 4.5.3.1.8).
pub const MAX_RECIPIENTS: usize = 1000;
/// The most commands on one connection.
pub const MAX_COMMANDS: u64 = 50_000_000;
/// The longest piece of a data line read at once (longer lines are taken in
/// pieces; only [`MAX_MESSAGE`] bounds them).
const DATA_PIECE: usize = 64 * 1024;
/// How often the accept loop looks for a connection or a stop request.
const ACCEPT_POLL: Duration = Duration::from_millis(2);

/// How the capture server behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where messages are stored.
    pub outbox: PathBuf,
    /// Offer CHUNKING (BDAT).
    pub chunking: bool,
    /// Offer AUTH PLAIN LOGIN, taking any credentials.
    pub auth: bool,
    /// How long to wait for the connection, and for each read or write.
    pub patience: Duration,
}

/// One message the server stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The `.eml` file.
    pub path: PathBuf,
    /// The reverse path, as sent in MAIL FROM (without brackets).
    pub from: String,
    /// The recipients, as sent in RCPT TO (without brackets).
    pub to: Vec<String>,
    /// The size of the message in octets.
    pub octets: usize,
}

/// What the server did, handed back when it ends.
#[derive(Debug, Default)]
pub struct Report {
    /// The messages stored, in order.
    pub captured: Vec<Captured>,
    /// Why the connection ended abnormally, if it did (the client going
    /// away after QUIT is normal).
    pub error: Option<String>,
    /// Why a message could not be stored (it was refused with 451).
    pub store_failed: Option<String>,
}

/// A running capture server.
#[derive(Debug)]
pub struct CaptureServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Report>,
}

impl CaptureServer {
    /// Binds 127.0.0.1 on a free port and starts serving in a thread.
    pub fn start(settings: Settings) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("capture-server".into())
            .spawn(move || serve(&listener, &settings, &stop_flag))?;
        Ok(CaptureServer { addr, stop, thread })
    }

    /// The address to connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops waiting for a connection (one being served runs to its end:
    /// drop the client first) and returns what the server did.
    pub fn finish(self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_else(|_| Report {
            error: Some("the capture server thread panicked".into()),
            ..Report::default()
        })
    }
}

fn serve(listener: &TcpListener, settings: &Settings, stop: &AtomicBool) -> Report {
    let mut report = Report::default();
    let stream = match accept(listener, settings.patience, stop) {
        Ok(Some(stream)) => stream,
        Ok(None) => return report,
        Err(e) => {
            report.error = Some(format!("accepting the connection failed: {e}"));
            return report;
        }
    };
    let result = Conn::new(stream, settings).and_then(|mut conn| {
        let result = conn.run();
        report.captured = std::mem::take(&mut conn.captured);
        report.store_failed = conn.store_failed.take();
        result
    });
    if let Err(e) = result {
        report.error = Some(e.to_string());
    }
    report
}

/// Waits for one connection, until `patience` runs out or `stop` is set.
fn accept(
    listener: &TcpListener,
    patience: Duration,
    stop: &AtomicBool,
) -> io::Result<Option<TcpStream>> {
    let give_up = Instant::now() + patience;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                stream.set_read_timeout(Some(patience))?;
                stream.set_write_timeout(Some(patience))?;
                stream.set_nodelay(true)?;
                return Ok(Some(stream));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if stop.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                if Instant::now() >= give_up {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no client connected in time",
                    ));
                }
                std::thread::sleep(ACCEPT_POLL);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Whether the dialogue goes on.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// How a message's data ended.
enum DataEnd {
    /// Complete, within the size limit.
    Complete(Vec<u8>),
    /// Complete, but over [`MAX_MESSAGE`] (discarded).
    TooLarge,
}

/// One connection.
struct Conn<'a> {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
    settings: &'a Settings,
    helo: bool,
    authenticated: bool,
    from: Option<String>,
    to: Vec<String>,
    /// BDAT chunks received so far, and whether they passed the limit.
    chunks: Vec<u8>,
    chunks_too_large: bool,
    commands: u64,
    captured: Vec<Captured>,
    store_failed: Option<String>,
}

impl<'a> Conn<'a> {
    fn new(stream: TcpStream, settings: &'a Settings) -> io::Result<Self> {
        let writer = BufWriter::with_capacity(16 * 1024, stream.try_clone()?);
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, stream),
            writer,
            settings,
            helo: false,
            authenticated: false,
            from: None,
            to: Vec::new(),
            chunks: Vec::new(),
            chunks_too_large: false,
            commands: 0,
            captured: Vec::new(),
            store_failed: None,
        })
    }

    /// Queues a reply; it is sent when the server next waits for input.
    fn reply(&mut self, text: &str) -> io::Result<Flow> {
        self.writer.write_all(text.as_bytes())?;
        self.writer.write_all(b"\r\n")?;
        Ok(Flow::Go)
    }

    /// Reads up to `limit` octets, through the next LF if it comes first.
    /// Before it may block, the queued replies are sent (so a pipelined
    /// batch gets its replies in one write).
    fn read_line(&mut self, line: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
        line.clear();
        if !self.reader.buffer().contains(&b'\n') {
            self.writer.flush()?;
        }
        let limit = u64::try_from(limit).unwrap_or(u64::MAX);
        (&mut self.reader).take(limit).read_until(b'\n', line)
    }

    /// Reads exactly `n` octets, sending queued replies first if they are
    /// not all here yet.
    fn read_exact(&mut self, out: &mut Vec<u8>, n: usize) -> io::Result<()> {
        if self.reader.buffer().len() < n {
            self.writer.flush()?;
        }
        let start = out.len();
        out.resize(start + n, 0);
        self.reader.read_exact(&mut out[start..])
    }

    fn reset(&mut self) {
        self.from = None;
        self.to.clear();
        self.chunks = Vec::new();
        self.chunks_too_large = false;
    }

    fn run(&mut self) -> io::Result<()> {
        self.reply("220 localhost ESMTP send capture server ready")?;
        let mut line = Vec::with_capacity(MAX_LINE);
        let result = loop {
            if self.commands >= MAX_COMMANDS {
                self.reply("421 4.7.0 Too many commands, closing the connection")?;
                break Ok(());
            }
            self.commands += 1;
            let n = self.read_line(&mut line, MAX_LINE)?;
            if n == 0 {
                break Ok(());
            }
            if !line.ends_with(b"\n") {
                if n < MAX_LINE {
                    break Ok(()); // the client went away mid-line
                }
                self.reply("500 5.5.2 Line too long, closing the connection")?;
                break Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a command line was too long",
                ));
            }
            let text = String::from_utf8_lossy(trim_eol(&line)).into_owned();
            if self.command(&text)? == Flow::Stop {
                break Ok(());
            }
        };
        self.writer.flush()?;
        result
    }

    fn command(&mut self, line: &str) -> io::Result<Flow> {
        let (verb, args) = line.split_once(' ').unwrap_or((line, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => self.ehlo(args.trim()),
            "HELO" => {
                if args.trim().is_empty() {
                    return self.reply("501 5.5.4 HELO needs a domain");
                }
                self.reset();
                self.helo = true;
                self.reply("250 localhost")
            }
            "MAIL" => self.mail(args),
            "RCPT" => self.rcpt(args),
            "DATA" => self.data(args),
            "BDAT" => self.bdat(args),
            "AUTH" => self.auth(args),
            "RSET" => {
                self.reset();
                self.reply("250 2.0.0 Ok")
            }
            "NOOP" => self.reply("250 2.0.0 Ok"),
            "VRFY" => self.reply("252 2.5.2 Cannot verify, but will accept"),
            "HELP" => self.reply("214 2.0.0 See RFC 5321"),
            "QUIT" => {
                self.reply("221 2.0.0 Bye")?;
                Ok(Flow::Stop)
            }
            "STARTTLS" => self.reply("454 4.7.0 TLS not available on the capture server"),
            _ => self.reply("500 5.5.2 Command not recognized"),
        }
    }

    fn ehlo(&mut self, domain: &str) -> io::Result<Flow> {
        if domain.is_empty() {
            return self.reply("501 5.5.4 EHLO needs a domain");
        }
        self.reset();
        self.helo = true;
        let greeting = format!("localhost greets {}", printable(domain));
        let size = format!("SIZE {MAX_MESSAGE}");
        let mut lines = vec![
            greeting.as_str(),
            "PIPELINING",
            "8BITMIME",
            "SMTPUTF8",
            size.as_str(),
            "ENHANCEDSTATUSCODES",
        ];
        if self.settings.chunking {
            lines.push("CHUNKING");
        }
        if self.settings.auth {
            lines.push("AUTH PLAIN LOGIN");
        }
        lines.push("HELP");
        let n = lines.len();
        let mut text = String::new();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i + 1 == n { ' ' } else { '-' };
            text.push_str(&format!("250{sep}{l}"));
            if i + 1 < n {
                text.push_str("\r\n");
            }
        }
        self.reply(&text)
    }

    fn mail(&mut self, args: &str) -> io::Result<Flow> {
        if !self.helo {
            return self.reply("503 5.5.1 Say EHLO first");
        }
        if self.from.is_some() {
            return self.reply("503 5.5.1 Nested MAIL command");
        }
        let Some((path, params)) = parse_path(args, "FROM:") else {
            return self.reply("501 5.5.4 Syntax: MAIL FROM:<address>");
        };
        for param in params.split_whitespace() {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            if key.eq_ignore_ascii_case("SIZE") {
                match value.parse::<u64>() {
                    Ok(n) if n <= MAX_MESSAGE as u64 => {}
                    Ok(_) => return self.reply("552 5.3.4 Message size exceeds the limit"),
                    Err(_) => return self.reply("501 5.5.4 Invalid SIZE"),
                }
            }
        }
        self.from = Some(path);
        self.reply("250 2.1.0 Ok")
    }

    fn rcpt(&mut self, args: &str) -> io::Result<Flow> {
        if self.from.is_none() {
            return self.reply("503 5.5.1 Need MAIL first");
        }
        let Some((path, _params)) = parse_path(args, "TO:") else {
            return self.reply("501 5.5.4 Syntax: RCPT TO:<address>");
        };
        if path.is_empty() {
            return self.reply("501 5.1.3 Empty recipient");
        }
        if self.to.len() >= MAX_RECIPIENTS {
            return self.reply("452 4.5.3 Too many recipients");
        }
        self.to.push(path);
        self.reply("250 2.1.5 Ok")
    }

    fn data(&mut self, args: &str) -> io::Result<Flow> {
        if !args.trim().is_empty() {
            return self.reply("501 5.5.4 DATA takes no argument");
        }
        if self.from.is_none() {
            return self.reply("503 5.5.1 Need MAIL first");
        }
        if self.to.is_empty() {
            return self.reply("554 5.5.1 No valid recipients");
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>")?;
        match self.read_data()? {
            DataEnd::Complete(message) => self.store(message),
            DataEnd::TooLarge => {
                self.reset();
                self.reply("552 5.3.4 Message size exceeds the limit")
            }
        }
    }

    /// Reads the data up to the lone dot, removing dot-stuffing. Over the
    /// limit, it reads on (to stay in step) but keeps nothing, and gives up
    /// on the connection at twice the limit.
    fn read_data(&mut self) -> io::Result<DataEnd> {
        let mut message = Vec::new();
        let mut total = 0usize;
        let mut at_line_start = true;
        let mut piece = Vec::with_capacity(DATA_PIECE);
        loop {
            let n = self.read_line(&mut piece, DATA_PIECE)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client went away in the middle of the data",
                ));
            }
            if at_line_start && (piece == b".\r\n" || piece == b".\n") {
                break;
            }
            let content = match at_line_start {
                true => piece.strip_prefix(b".").unwrap_or(&piece),
                false => &piece[..],
            };
            at_line_start = piece.ends_with(b"\n");
            total = total.saturating_add(content.len());
            if total <= MAX_MESSAGE {
                message.extend_from_slice(content);
            } else if total > 2 * MAX_MESSAGE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the message is far over the size limit",
                ));
            } else {
                message = Vec::new();
            }
        }
        Ok(match total <= MAX_MESSAGE {
            true => DataEnd::Complete(message),
            false => DataEnd::TooLarge,
        })
    }

    fn bdat(&mut self, args: &str) -> io::Result<Flow> {
        if !self.settings.chunking {
            // The chunk's octets follow and cannot be told from commands.
            self.reply("502 5.5.1 BDAT not offered, closing the connection")?;
            return Ok(Flow::Stop);
        }
        let mut words = args.split_whitespace();
        let size = words.next().and_then(|s| s.parse::<usize>().ok());
        let last = match words.next() {
            None => false,
            Some(w) if w.eq_ignore_ascii_case("LAST") => true,
            Some(_) => return self.bdat_unreadable(),
        };
        let Some(size) = size.filter(|_| words.next().is_none()) else {
            return self.bdat_unreadable();
        };
        if size > MAX_MESSAGE {
            self.reply("552 5.3.4 Chunk exceeds the size limit, closing the connection")?;
            return Ok(Flow::Stop);
        }
        let in_transaction = self.from.is_some() && !self.to.is_empty();
        if !in_transaction || self.chunks_too_large {
            let mut sink = Vec::new();
            self.read_exact(&mut sink, size)?;
        } else if self.chunks.len() + size > MAX_MESSAGE {
            let mut sink = Vec::new();
            self.read_exact(&mut sink, size)?;
            self.chunks = Vec::new();
            self.chunks_too_large = true;
        } else {
            let mut chunks = std::mem::take(&mut self.chunks);
            self.read_exact(&mut chunks, size)?;
            self.chunks = chunks;
        }
        if !in_transaction {
            return self.reply("503 5.5.1 Need MAIL and RCPT first");
        }
        if !last {
            return match self.chunks_too_large {
                true => self.reply("552 5.3.4 Message size exceeds the limit"),
                false => self.reply(&format!("250 2.0.0 {size} octets received")),
            };
        }
        if self.chunks_too_large {
            self.reset();
            return self.reply("552 5.3.4 Message size exceeds the limit");
        }
        let message = std::mem::take(&mut self.chunks);
        self.store(message)
    }

    fn bdat_unreadable(&mut self) -> io::Result<Flow> {
        // Without a size the chunk cannot be skipped.
        self.reply("501 5.5.4 Syntax: BDAT size [LAST], closing the connection")?;
        Ok(Flow::Stop)
    }

    /// Stores a complete message, then answers for it.
    fn store(&mut self, message: Vec<u8>) -> io::Result<Flow> {
        let from = self.from.take().unwrap_or_default();
        let to = std::mem::take(&mut self.to);
        self.reset();
        match outbox::store(&self.settings.outbox, &from, &to, &message) {
            Ok(path) => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.captured.push(Captured {
                    path,
                    from,
                    to,
                    octets: message.len(),
                });
                self.reply(&format!("250 2.0.0 Ok: saved as {name}"))
            }
            Err(e) => {
                let why = format!(
                    "cannot store a message in {}: {e}",
                    self.settings.outbox.display()
                );
                self.store_failed.get_or_insert(why);
                self.reply(&format!(
                    "451 4.3.0 Could not store the message: {}",
                    printable(&e.to_string())
                ))
            }
        }
    }

    /// AUTH PLAIN or LOGIN, taking any non-empty credentials. They are
    /// decoded only to check their form, and never kept.
    fn auth(&mut self, args: &str) -> io::Result<Flow> {
        if !self.settings.auth {
            return self.reply("502 5.5.1 AUTH not offered");
        }
        if self.authenticated {
            return self.reply("503 5.5.1 Already authenticated");
        }
        if self.from.is_some() {
            return self.reply("503 5.5.1 AUTH not allowed during a mail transaction");
        }
        let mut words = args.split_whitespace();
        let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
        let initial = words.next().map(str::to_owned);
        let ok = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(r) => Some(r),
                    None => {
                        self.reply("334 ")?;
                        self.auth_line()?
                    }
                };
                let Some(response) = response else {
                    return self.reply("501 5.7.0 Authentication cancelled");
                };
                decode(&response).is_some_and(|d| {
                    let parts: Vec<&[u8]> = d.split(|&b| b == 0).collect();
                    parts.len() == 3 && !parts[1].is_empty()
                })
            }
            "LOGIN" => {
                let user = match initial {
                    Some(u) => Some(u),
                    None => {
                        self.reply("334 VXNlcm5hbWU6")?;
                        self.auth_line()?
                    }
                };
                let Some(user) = user else {
                    return self.reply("501 5.7.0 Authentication cancelled");
                };
                self.reply("334 UGFzc3dvcmQ6")?;
                let Some(password) = self.auth_line()? else {
                    return self.reply("501 5.7.0 Authentication cancelled");
                };
                decode(&user).is_some_and(|u| !u.is_empty()) && decode(&password).is_some()
            }
            _ => return self.reply("504 5.5.4 Unrecognized authentication type"),
        };
        if ok {
            self.authenticated = true;
            self.reply("235 2.7.0 Authentication successful")
        } else {
            self.reply("535 5.7.8 Authentication credentials invalid")
        }
    }

    /// One line of an AUTH exchange; `None` when the client cancels (`*`).
    fn auth_line(&mut self) -> io::Result<Option<String>> {
        let mut line = Vec::new();
        let n = self.read_line(&mut line, MAX_LINE)?;
        if n == 0 || !line.ends_with(b"\n") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the client went away, or sent too long a line, during AUTH",
            ));
        }
        let text = String::from_utf8_lossy(trim_eol(&line)).into_owned();
        Ok((text != "*").then_some(text))
    }
}

fn decode(b64: &str) -> Option<Vec<u8>> {
    smtp_proto::base64::decode(b64.trim().as_bytes())
}

/// The line without its CRLF (or bare LF).
fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `FROM:<path> params` (the keyword without regard to case, a space
/// after the colon tolerated) as the path without brackets and the rest.
fn parse_path(args: &str, keyword: &str) -> Option<(String, String)> {
    let head = args.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = args[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    let path = &rest[..end];
    if path.chars().any(char::is_control) {
        return None;
    }
    Some((path.to_owned(), rest[end + 1..].trim().to_owned()))
}

/// Text fit for one reply line: control characters dropped, at most 200
/// characters.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(chunking: bool) -> Settings {
        let dir = std::env::temp_dir().join(format!("send-capture-test-{}", outbox::entropy(7)));
        Settings {
            outbox: dir,
            chunking,
            auth: true,
            patience: Duration::from_secs(10),
        }
    }

    /// Sends `script` in one write, reads until the server closes.
    fn talk(settings: &Settings, script: &[u8]) -> (String, Report) {
        let server = CaptureServer::start(settings.clone()).unwrap();
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(script).unwrap();
        let mut replies = String::new();
        BufReader::new(&stream)
            .read_to_string(&mut replies)
            .unwrap();
        drop(stream);
        (replies, server.finish())
    }

    fn codes(replies: &str) -> Vec<&str> {
        replies
            .lines()
            .filter(|l| l.as_bytes().get(3) != Some(&b'-'))
            .map(|l| &l[..3])
            .collect()
    }

    #[test]
    fn pipelined_data_with_dot_stuffing_is_stored_exactly() {
        let s = settings(false);
        let (replies, report) = talk(
            &s,
            b"EHLO me\r\nMAIL FROM:<a@x> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<b@y>\r\n\
              RCPT TO:<c@y>\r\nDATA\r\nSubject: t\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n",
        );
        assert_eq!(
            codes(&replies),
            ["220", "250", "250", "250", "250", "354", "250", "221"],
            "{replies}"
        );
        assert!(replies.contains("250-PIPELINING") && replies.contains("250-SIZE 67108864"));
        assert!(!replies.contains("CHUNKING"));
        assert!(report.error.is_none(), "{:?}", report.error);
        let [m] = &report.captured[..] else {
            panic!("{report:?}")
        };
        assert_eq!(m.from, "a@x");
        assert_eq!(m.to, ["b@y", "c@y"]);
        let stored = std::fs::read(&m.path).unwrap();
        assert_eq!(stored, b"Subject: t\r\n\r\n.leading dot\r\n");
        std::fs::remove_dir_all(&s.outbox).unwrap();
    }

    #[test]
    fn bdat_chunks_are_joined() {
        let s = settings(true);
        let (replies, report) = talk(
            &s,
            b"EHLO me\r\nMAIL FROM:<> \r\nRCPT TO:<b@y>\r\nBDAT 6\r\nAB\r\n.\rBDAT 3 LAST\r\nC\r\nQUIT\r\n",
        );
        assert_eq!(
            codes(&replies),
            ["220", "250", "250", "250", "250", "250", "221"],
            "{replies}"
        );
        assert!(replies.contains("250-CHUNKING"));
        let stored = std::fs::read(&report.captured[0].path).unwrap();
        assert_eq!(stored, b"AB\r\n.\rC\r\n");
        std::fs::remove_dir_all(&s.outbox).unwrap();
    }

    #[test]
    fn sequence_and_syntax_errors() {
        let s = settings(false);
        let (replies, report) = talk(
            &s,
            b"MAIL FROM:<a@x>\r\nEHLO\r\nHELO me\r\nRCPT TO:<b@y>\r\nDATA\r\nMAIL FROM:a@x\r\n\
              MAIL FROM:<a@x> SIZE=999999999999\r\nMAIL FROM:<a@x>\r\nMAIL FROM:<a@x>\r\nDATA\r\n\
              RCPT TO:<>\r\nAUTH PLAIN\r\nRSET\r\nAUTH CRAM-MD5\r\nSTARTTLS\r\nFOO\r\nNOOP\r\n\
              VRFY x\r\nQUIT\r\n",
        );
        assert_eq!(
            codes(&replies),
            [
                "220", "503", "501", "250", "503", "503", "501", "552", "250", "503", "554", "501",
                "503", "250", "504", "454", "500", "250", "252", "221"
            ],
            "{replies}"
        );
        assert!(report.captured.is_empty());
    }

    #[test]
    fn auth_takes_any_credentials_and_a_long_line_ends_the_connection() {
        let s = settings(false);
        let (replies, _) = talk(
            &s,
            b"EHLO me\r\nAUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\nAUTH PLAIN AHUAcA==\r\nQUIT\r\n",
        );
        assert_eq!(
            codes(&replies),
            ["220", "250", "334", "334", "235", "503", "221"],
            "{replies}"
        );
        let mut long = b"EHLO ".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_LINE));
        long.extend_from_slice(b"\r\n");
        let (replies, report) = talk(&s, &long);
        assert_eq!(codes(&replies), ["220", "500"], "{replies}");
        assert!(report.error.unwrap().contains("too long"));
    }

    #[test]
    fn stops_waiting_when_told() {
        let server = CaptureServer::start(settings(false)).unwrap();
        let started = Instant::now();
        let report = server.finish();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(report.captured.is_empty() && report.error.is_none());
    }

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("FROM:<a@x> SIZE=1", "FROM:"),
            Some(("a@x".into(), "SIZE=1".into()))
        );
        assert_eq!(
            parse_path("to: <b@y>", "TO:"),
            Some(("b@y".into(), String::new()))
        );
        assert_eq!(parse_path("FROM:a@x", "FROM:"), None);
        assert_eq!(parse_path("TO:<b@y>", "FROM:"), None);
        assert_eq!(parse_path("F", "FROM:"), None);
    }
}

//! What is sent: the envelope, and the message either composed with
//! [`MessageBuilder`] from the options or taken as it is from `--data`.

use crate::cli::Args;
use smtp_dkim::DkimError;
use smtp_proto::message::{Attachment, ComposeError, Mailbox, MessageBuilder};
use smtp_proto::{Address, BodyMode, BodyType, Envelope, SizeCounter};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The most octets read from any one input (a body, an HTML file, all the
/// attachments together, or `--data -` from standard input). Real servers
/// refuse far smaller messages.
pub const MAX_INPUT: u64 = 100 << 20;

/// The sender when none is given (capture server only).
pub const DEFAULT_FROM: &str = "you@example.org";
/// The recipient when none is given (capture server only).
pub const DEFAULT_TO: &str = "friend@example.org";
/// The subject when none is given (capture server only).
pub const DEFAULT_SUBJECT: &str = "Hello from smtp-proto";
/// The body when none is given (capture server only).
pub const DEFAULT_BODY: &str = "Hello!\n\n\
This message was composed with smtp_proto's MessageBuilder and sent\n\
by the smtp-blocking client over a real socket to the capture server\n\
inside the `send` command, which stored it under outbox/.\n";

/// The message's bytes: in memory, or a file streamed as it is sent.
#[derive(Debug)]
pub enum Body {
    /// Composed, or read from standard input.
    Memory(Vec<u8>),
    /// `--data FILE`: read again for each copy, in constant memory.
    File(PathBuf),
}

/// A message ready to send.
#[derive(Debug)]
pub struct Prepared {
    /// Who it is from and to, with size and body type.
    pub envelope: Envelope,
    /// The message.
    pub body: Body,
    /// The Message-ID, for a composed message.
    pub message_id: Option<String>,
}

/// Why the message cannot be made.
#[derive(Debug)]
pub enum InputError {
    /// An address or option value is unusable (exit 64).
    Usage(String),
    /// A file cannot be read (exit 66).
    Read {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// A file is larger than [`MAX_INPUT`] (exit 65).
    TooLarge(PathBuf),
    /// A text file is not UTF-8 (exit 65).
    NotUtf8(PathBuf),
    /// The builder refused a value (exit 65).
    Compose(ComposeError),
    /// The `--dkim-key` file holds no usable key (exit 65).
    Key {
        /// The file.
        path: PathBuf,
        /// Why (never the key itself).
        why: String,
    },
    /// The message cannot be DKIM-signed (exit 65).
    Sign(DkimError),
}

impl InputError {
    /// The exit status for this error (sysexits).
    pub fn exit_code(&self) -> u8 {
        match self {
            InputError::Usage(_) => 64,
            InputError::Read { .. } => 66,
            InputError::TooLarge(_)
            | InputError::NotUtf8(_)
            | InputError::Compose(_)
            | InputError::Key { .. }
            | InputError::Sign(_) => 65,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Usage(m) => f.write_str(m),
            InputError::Read { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            InputError::TooLarge(path) => write!(
                f,
                "{} is larger than the {} MiB this command reads",
                path.display(),
                MAX_INPUT >> 20
            ),
            InputError::NotUtf8(path) => write!(f, "{} is not UTF-8 text", path.display()),
            InputError::Compose(e) => write!(f, "cannot compose the message: {e}"),
            InputError::Key { path, why } => {
                write!(f, "cannot use {} as the DKIM key: {why}", path.display())
            }
            InputError::Sign(e) => write!(f, "cannot DKIM-sign the message: {e}"),
        }
    }
}

/// An option's mailbox, as [`Mailbox`]'s `FromStr` reads it (`Name
/// <addr>`, `"Quoted, Name" <addr>`, `<addr>` or `addr`); the error names
/// the option.
pub fn parse_mailbox(text: &str, option: &str) -> Result<Mailbox, InputError> {
    text.parse()
        .map_err(|e| InputError::Usage(format!("invalid {option} address {text:?}: {e}")))
}

/// Builds the envelope and message from the options. With `defaults` (the
/// capture server), a missing sender, recipient, subject or body gets the
/// demo's.
pub fn prepare(args: &Args, defaults: bool) -> Result<Prepared, InputError> {
    let from = match (&args.from, defaults) {
        (Some(f), _) => parse_mailbox(f, "--from")?,
        (None, true) => parse_mailbox(DEFAULT_FROM, "--from")?,
        (None, false) => return Err(InputError::Usage("--from is needed".into())),
    };
    let parse_all = |list: &[String], option: &str| -> Result<Vec<Mailbox>, InputError> {
        list.iter().map(|t| parse_mailbox(t, option)).collect()
    };
    let mut to = parse_all(&args.to, "--to")?;
    let cc = parse_all(&args.cc, "--cc")?;
    let bcc = parse_all(&args.bcc, "--bcc")?;
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        if !defaults {
            return Err(InputError::Usage("no recipient given".into()));
        }
        to.push(parse_mailbox(DEFAULT_TO, "--to")?);
    }

    if let Some(path) = &args.data {
        return data_message(path, from, &to, &cc, &bcc);
    }

    let mut builder = MessageBuilder::new(from);
    for m in to {
        builder = builder.to(m);
    }
    for m in cc {
        builder = builder.cc(m);
    }
    for m in bcc {
        builder = builder.bcc(m.address().clone());
    }
    match (&args.subject, defaults) {
        (Some(s), _) => builder = builder.subject(s.as_str()),
        (None, true) => builder = builder.subject(DEFAULT_SUBJECT),
        (None, false) => {}
    }
    let text = match (&args.body, &args.body_file) {
        (Some(b), _) => Some(b.clone()),
        (None, Some(path)) => Some(read_text(path)?),
        (None, None) => None,
    };
    let html = args.html_file.as_deref().map(read_text).transpose()?;
    let text = match text {
        None if defaults && html.is_none() && args.attach.is_empty() => {
            Some(DEFAULT_BODY.to_owned())
        }
        t => t,
    };
    if let Some(t) = text {
        builder = builder.text(t);
    }
    if let Some(h) = html {
        builder = builder.html(h);
    }
    for field in &args.headers {
        builder = builder.header(field.clone());
    }
    let mut budget = MAX_INPUT;
    for path in &args.attach {
        builder = builder.attachment(read_file_part(path, &mut budget)?);
    }
    for path in &args.inline {
        // The file name is the Content-ID: what --help tells to write after cid:.
        let part = read_file_part(path, &mut budget)?;
        builder = builder.inline(part.filename().to_owned(), part);
    }
    let message = builder.build_now().map_err(InputError::Compose)?;
    let message_id = message.message_id().to_owned();
    let (envelope, bytes) = message.into_parts();
    Ok(Prepared {
        envelope,
        body: Body::Memory(bytes),
        message_id: Some(message_id),
    })
}

/// `--data`: the envelope from the options, the message as it is.
fn data_message(
    path: &Path,
    from: Mailbox,
    to: &[Mailbox],
    cc: &[Mailbox],
    bcc: &[Mailbox],
) -> Result<Prepared, InputError> {
    let mut recipients: Vec<Address> = Vec::new();
    for m in to.iter().chain(cc).chain(bcc) {
        if !recipients.contains(m.address()) {
            recipients.push(m.address().clone());
        }
    }
    let mut envelope = Envelope::new(from.address().clone(), recipients);
    let (scan, body) = if path == Path::new("-") {
        let bytes = read_limited(path, MAX_INPUT)?;
        let mut scan = Scan::default();
        scan.feed(&bytes);
        (scan, Body::Memory(bytes))
    } else {
        (scan_file(path)?, Body::File(path.to_owned()))
    };
    envelope.size = Some(scan.wire_size());
    if scan.eight_bit {
        envelope.body_type = BodyType::EightBitMime;
    }
    // UTF-8 in the header section (RFC 6532) needs SMTPUTF8.
    envelope.smtputf8 |= scan.eight_bit_header;
    Ok(Prepared {
        envelope,
        body,
        message_id: None,
    })
}

/// What a pass over a ready message finds.
#[derive(Debug, Clone)]
pub struct Scan {
    /// Its size as sent (line ends normalised), for SIZE.
    size: SizeCounter,
    /// Its size on disk.
    pub octets: u64,
    /// An octet has the high bit set.
    pub eight_bit: bool,
    /// One does before the first empty line.
    pub eight_bit_header: bool,
    in_body: bool,
    /// The last two octets seen, to find the empty line across chunks.
    tail: [u8; 2],
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            size: SizeCounter::new(BodyMode::Data),
            octets: 0,
            eight_bit: false,
            eight_bit_header: false,
            in_body: false,
            tail: [0; 2],
        }
    }
}

impl Scan {
    /// The size SIZE declares (RFC 1870 section 5: what is sent, CRLF pairs
    /// included), or, for a body the encoder will refuse anyway (a line over
    /// 998 octets, reported when it is sent), its size on disk.
    pub fn wire_size(&self) -> u64 {
        self.size.clone().finish().unwrap_or(self.octets)
    }

    /// Takes the next chunk.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.octets += chunk.len() as u64;
        self.size.feed(chunk);
        for &b in chunk {
            if b >= 0x80 {
                self.eight_bit = true;
                if !self.in_body {
                    self.eight_bit_header = true;
                }
            }
            if !self.in_body && b == b'\n' && (self.tail[1] == b'\n' || self.tail == *b"\n\r") {
                self.in_body = true;
            }
            self.tail = [self.tail[1], b];
        }
    }
}

fn scan_file(path: &Path) -> Result<Scan, InputError> {
    let read_error = |error| InputError::Read {
        path: path.to_owned(),
        error,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let mut scan = Scan::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(scan),
            Ok(n) => scan.feed(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(e)),
        }
    }
}

/// Reads a file (or standard input for `-`) of at most `limit` octets.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, InputError> {
    let read_error = |error| InputError::Read {
        path: path.to_owned(),
        error,
    };
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        io::stdin()
            .lock()
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    } else {
        let file = File::open(path).map_err(read_error)?;
        if file.metadata().map_err(read_error)?.is_dir() {
            return Err(read_error(io::Error::other("it is a directory")));
        }
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    }
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge(path.to_owned()));
    }
    Ok(bytes)
}

/// A file for `--attach` or `--inline`: its name, its type from its
/// extension, and its bytes, taken from what is left of `budget`.
fn read_file_part(path: &Path, budget: &mut u64) -> Result<Attachment, InputError> {
    let data = read_limited(path, *budget)?;
    *budget -= data.len() as u64;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Attachment::new(name, content_type(path), data))
}

fn read_text(path: &Path) -> Result<String, InputError> {
    String::from_utf8(read_limited(path, MAX_INPUT)?).map_err(|_| InputError::NotUtf8(path.into()))
}

/// The content type of an attachment, from its extension (the
/// `mime_guess` table), or `application/octet-stream`.
pub fn content_type(path: &Path) -> &'static str {
    mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes() {
        let m = parse_mailbox("Alice Example <alice@example.org>", "--from").unwrap();
        assert_eq!(
            (m.name(), m.address().as_str()),
            ("Alice Example", "alice@example.org")
        );
        let m = parse_mailbox("\"Bob, Jr.\" <bob@example.org>", "--to").unwrap();
        assert_eq!(m.name(), "Bob, Jr.");
        let m = parse_mailbox("<c@example.org>", "--to").unwrap();
        assert_eq!((m.name(), m.address().as_str()), ("", "c@example.org"));
        assert_eq!(
            parse_mailbox(" d@x ", "--to").unwrap().address().as_str(),
            "d@x"
        );
        let e = parse_mailbox("a@b\r\nRCPT TO:c@d", "--to").unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(e.to_string().contains("--to"), "{e}");
        assert!(parse_mailbox("nobody", "--to").is_err());
        // The core's parser decides, and says why.
        let e = parse_mailbox("\"Ann <ann@example.org>", "--from").unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.to_string().ends_with(": a quoted name is not closed"),
            "{e}"
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type(Path::new("a/report.PDF")), "application/pdf");
        assert_eq!(content_type(Path::new("photo.jpeg")), "image/jpeg");
        assert_eq!(content_type(Path::new("notes.txt")), "text/plain");
        assert_eq!(content_type(Path::new("logo.png")), "image/png");
        assert_eq!(content_type(Path::new("x.svg")), "image/svg+xml");
        assert_eq!(
            content_type(Path::new("sheet.xlsx")),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert_eq!(content_type(Path::new("blob")), "application/octet-stream");
        assert_eq!(
            content_type(Path::new("x.unknown")),
            "application/octet-stream"
        );
    }

    #[test]
    fn scans_find_eight_bit_and_where() {
        let mut s = Scan::default();
        let message = b"Subject: plain\r\n\r\nbody \xc3\xa9\r\n";
        s.feed(message);
        assert_eq!(s.octets, message.len() as u64);
        assert!(s.eight_bit && !s.eight_bit_header);
        let mut s = Scan::default();
        for b in b"Subject: \xc3\xa9\n\nbody\n" {
            s.feed(&[*b]);
        }
        assert!(s.eight_bit && s.eight_bit_header);
        let mut s = Scan::default();
        s.feed(b"A: b\r\n\r");
        s.feed(b"\nbody\xff");
        assert!(s.eight_bit && !s.eight_bit_header);
        let mut s = Scan::default();
        s.feed(b"A: b\r\n\r\n");
        assert!(!s.eight_bit);
    }

    #[test]
    fn composes_with_defaults_and_refuses_bad_values() {
        let args = Args::default();
        let p = prepare(&args, true).unwrap();
        let Body::Memory(bytes) = &p.body else {
            panic!()
        };
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("Subject: Hello from smtp-proto\r\n"),
            "{text}"
        );
        assert!(text.contains("From: you@example.org\r\n"), "{text}");
        assert_eq!(p.envelope.recipients[0].address.as_str(), DEFAULT_TO);
        assert!(prepare(&args, false).is_err());

        let args = Args {
            from: Some("a@example.org".into()),
            to: vec!["b@example.org".into()],
            bcc: vec!["hidden@example.org".into()],
            subject: Some("bad\r\nBcc: x@y".into()),
            ..Args::default()
        };
        let e = prepare(&args, false).unwrap_err();
        assert_eq!(e.exit_code(), 65, "{e}");
        let args = Args {
            subject: Some("fine".into()),
            ..args
        };
        let p = prepare(&args, false).unwrap();
        assert_eq!(p.envelope.recipients.len(), 2);
        let Body::Memory(bytes) = &p.body else {
            panic!()
        };
        assert!(!String::from_utf8_lossy(bytes).contains("hidden"));

        let args = Args {
            attach: vec!["/nonexistent/file.pdf".into()],
            ..args
        };
        assert_eq!(prepare(&args, false).unwrap_err().exit_code(), 66);
    }
}

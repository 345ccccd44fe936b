//! The conformance cases, written once against [`Harness`], which each
//! adapter's test glue implements (blocking on its runtime for the async
//! ones). [`conformance_suite!`](crate::conformance_suite) turns them into
//! `#[test]` functions.

use crate::body::{Generator, peak_rss};
use crate::server::{Fault, PASSWORD, Point, Record, Server, Spec, USER};
use crate::stream::ScriptedStream;
use smtp_adapter_common::{Error, Options};
use smtp_proto::{
    Address, Client, Config, Credentials, Envelope, ErrorKind, Mechanism, Outcome, Stage, Timeouts,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What the cases need of an adapter. Async adapters block on their
/// executor in each method.
pub trait Harness {
    /// The adapter's session over TCP.
    type Session;
    /// True when calls can be cancelled midway (async adapters: dropping the
    /// future).
    const CANCELLABLE: bool;

    /// `Session::connect("127.0.0.1", port, options)`.
    fn connect(&self, port: u16, options: &Options) -> Result<Self::Session, Error>;
    /// `session.send(envelope, body)`.
    fn send(
        &self,
        s: &mut Self::Session,
        envelope: &Envelope,
        body: &[u8],
    ) -> Result<Outcome, Error>;
    /// `session.send_from(envelope, body)`: the body streamed from a reader.
    fn send_stream(
        &self,
        s: &mut Self::Session,
        envelope: &Envelope,
        body: &mut Generator,
    ) -> Result<Outcome, Error>;
    /// `session.send_many(messages)`.
    fn send_many(
        &self,
        s: &mut Self::Session,
        messages: &[(Envelope, Vec<u8>)],
    ) -> Result<Vec<Outcome>, Error>;
    /// `session.quit()`.
    fn quit(&self, s: Self::Session) -> Result<(), Error>;
    /// `session.client()`.
    fn client<'s>(&self, s: &'s Self::Session) -> &'s Client;
    /// Whether TCP_NODELAY is set on the session's socket.
    fn nodelay(&self, s: &Self::Session) -> bool;
    /// The crate's one-call `send("127.0.0.1", port, options, envelope, body)`.
    fn send_one_call(
        &self,
        port: u16,
        options: &Options,
        envelope: &Envelope,
        body: &[u8],
    ) -> Result<Outcome, Error>;
    /// Opens a session over `stream` (the adapter's "bring your own
    /// stream" entry point), sends `messages` with `send_many`, then quits.
    fn scripted(
        &self,
        stream: ScriptedStream,
        options: &Options,
        messages: &[(Envelope, Vec<u8>)],
    ) -> Result<Vec<Outcome>, Error>;
    /// `session.send(envelope, body)`, cancelled after `limit`: `None` if
    /// it was. Only called when [`Harness::CANCELLABLE`].
    fn send_within(
        &self,
        s: &mut Self::Session,
        envelope: &Envelope,
        body: &[u8],
        limit: Duration,
    ) -> Option<Result<Outcome, Error>>;
}

/// Deadlines for cases that expect no timeout (only reached on failure).
pub const PATIENT: Duration = Duration::from_secs(5);
/// Deadlines for cases that expect one to fire.
pub const SHORT: Duration = Duration::from_millis(300);
/// A timeout that should fire is expected within this (far above
/// [`SHORT`], far below the server's patience).
const FIRES_WITHIN: Duration = Duration::from_secs(4);

/// A small message, with a line that needs dot-stuffing.
pub const MESSAGE: &[u8] =
    b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: test\r\n\r\nHello.\r\n.a dot\r\n";

/// Options that trust the test CA only, with `timeout` for every stage.
pub fn options(timeout: Duration) -> Options {
    let config = Config {
        timeouts: Timeouts::uniform(timeout),
        ..Config::default()
    };
    let mut options = Options::new(config).connect_timeout(Duration::from_secs(2));
    options.webpki_roots = false;
    options.add_root(crate::pki::trusted().ca.clone())
}

fn with_credentials(mut options: Options) -> Options {
    options.config.credentials = Some(Credentials::password(USER, PASSWORD));
    options
}

/// An envelope from alice@example.org to `to`.
pub fn envelope(to: &[&str]) -> Envelope {
    let from = Address::new("alice@example.org").expect("address");
    Envelope::new(from, to.iter().map(|a| Address::new(a).expect("address")))
}

fn bob() -> Envelope {
    envelope(&["bob@example.org"])
}

fn session_kind(e: &Error) -> Option<&ErrorKind> {
    match e {
        Error::Smtp(e) => Some(e.kind()),
        _ => None,
    }
}

/// Connects to a server of `spec`, checks whether the session is
/// encrypted, sends [`MESSAGE`] to bob and quits. Returns the outcome and
/// what the server saw (the message byte for byte checked).
fn deliver<H: Harness>(h: &H, spec: Spec, opts: &Options, encrypted: bool) -> (Outcome, Record) {
    let server = Server::start(spec);
    let mut s = h.connect(server.port(), opts).expect("connect");
    assert_eq!(h.client(&s).is_encrypted(), encrypted);
    let outcome = h.send(&mut s, &bob(), MESSAGE).expect("send");
    assert!(outcome.is_delivered(), "{outcome:?}");
    h.quit(s).expect("quit");
    let record = server.finish();
    assert_eq!(record.messages.len(), 1, "{record:?}");
    assert_eq!(record.messages[0].data.as_deref(), Some(MESSAGE));
    assert_eq!(record.tls, encrypted);
    (outcome, record)
}

/// Plaintext: one message, delivered byte for byte.
pub fn plain<H: Harness>(h: &H) {
    let spec = Spec {
        pipelining: true,
        ..Spec::default()
    };
    let (outcome, record) = deliver(h, spec, &options(PATIENT), false);
    let reply = outcome.result.expect("accepted");
    assert_eq!(reply.message(), b"Ok: queued as M1");
    assert_eq!(record.messages[0].to, ["<bob@example.org>"]);
    assert!(record.error.is_none(), "{record:?}");
}

/// STARTTLS, trusting the test CA read from a PEM file.
pub fn starttls<H: Harness>(h: &H) {
    static FILES: AtomicUsize = AtomicUsize::new(0);
    let pem = std::env::temp_dir().join(format!(
        "smtp-test-ca-{}-{}.pem",
        std::process::id(),
        FILES.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&pem, &crate::pki::trusted().ca_pem).expect("write CA file");
    let mut opts = options(PATIENT);
    opts.extra_roots.clear();
    let opts = opts.ca_file(&pem);
    std::fs::remove_file(&pem).ok();
    let spec = Spec {
        pipelining: true,
        starttls: true,
        ..Spec::default()
    };
    let (_, record) = deliver(h, spec, &opts.expect("CA file"), true);
    assert_eq!(record.plaintext, b"EHLO localhost\r\nSTARTTLS\r\n");
}

/// Implicit TLS from the first byte.
pub fn implicit_tls<H: Harness>(h: &H) {
    let spec = Spec {
        implicit_tls: true,
        ..Spec::default()
    };
    let (_, record) = deliver(h, spec, &options(PATIENT).implicit_tls(true), true);
    assert!(record.plaintext.is_empty(), "{record:?}");
}

/// Connects to a server of `spec`, expecting the session not to open.
/// Returns the error and what the server saw.
fn refused_open<H: Harness>(h: &H, spec: Spec, opts: &Options) -> (Error, Record) {
    let server = Server::start(spec);
    let Err(err) = h.connect(server.port(), opts) else {
        panic!("the session must not open");
    };
    (err, server.finish())
}

/// Implicit TLS to a server whose certificate nobody vouches for.
pub fn implicit_tls_untrusted<H: Harness>(h: &H) {
    let spec = Spec {
        implicit_tls: true,
        untrusted_cert: true,
        ..Spec::default()
    };
    let (err, record) = refused_open(h, spec, &options(PATIENT).implicit_tls(true));
    assert!(
        matches!(
            err,
            Error::Tls {
                stage: Stage::Init,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("TLS handshake failed"), "{err}");
    assert!(record.commands.is_empty(), "{record:?}");
}

/// The certificate is checked against the name asked for: the server's
/// leaf is for `localhost` and `127.0.0.1` only.
pub fn server_name_checked<H: Harness>(h: &H) {
    let spec = Spec {
        implicit_tls: true,
        ..Spec::default()
    };
    let mut opts = options(PATIENT).implicit_tls(true);
    opts.tls_server_name = Some("localhost".into());
    deliver(h, spec.clone(), &opts, true);
    opts.tls_server_name = Some("mail.example.org".into());
    let (err, _) = refused_open(h, spec, &opts);
    let wrong_name = matches!(
        &err,
        Error::Tls { source: rustls::Error::InvalidCertificate(e), .. }
            if matches!(e, rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. })
    );
    assert!(wrong_name, "{err:?}");
}

fn auth_with<H: Harness>(h: &H, mechanism: Option<Mechanism>) {
    let spec = Spec {
        pipelining: true,
        starttls: true,
        auth: true,
        ..Spec::default()
    };
    let mut opts = with_credentials(options(PATIENT));
    opts.config.mechanism = mechanism;
    let (_, record) = deliver(h, spec, &opts, true);
    assert!(record.authenticated, "{record:?}");
    assert!(!record.leaked_credentials());
    let verb = format!("AUTH {}", mechanism.unwrap_or(Mechanism::Plain).name());
    assert!(
        record.commands.iter().any(|c| c.starts_with(&verb)),
        "{record:?}"
    );
}

/// AUTH PLAIN after STARTTLS.
pub fn auth_plain<H: Harness>(h: &H) {
    auth_with(h, None);
}

/// AUTH LOGIN after STARTTLS.
pub fn auth_login<H: Harness>(h: &H) {
    auth_with(h, Some(Mechanism::Login));
}

/// Wrong credentials end the session with a permanent error at AUTH.
pub fn auth_refused<H: Harness>(h: &H) {
    let spec = Spec {
        starttls: true,
        auth: true,
        ..Spec::default()
    };
    let mut opts = options(PATIENT);
    opts.config.credentials = Some(Credentials::password(USER, "wrong"));
    let (err, record) = refused_open(h, spec, &opts);
    let refused = matches!(session_kind(&err), Some(ErrorKind::AuthFailed(_)));
    assert!(refused, "{err:?}");
    assert_eq!(err.stage(), Some(Stage::Auth));
    assert!(!err.is_transient());
    assert!(!record.authenticated);
}

/// TLS is required (credentials are given) but the server offers no
/// STARTTLS: the password never crosses the wire.
pub fn no_password_without_starttls<H: Harness>(h: &H) {
    let spec = Spec {
        auth: true,
        ..Spec::default()
    };
    let (err, record) = refused_open(h, spec, &with_credentials(options(PATIENT)));
    let kind = session_kind(&err);
    assert_eq!(kind, Some(&ErrorKind::TlsUnavailable), "{err:?}");
    assert!(!record.leaked_credentials(), "{record:?}");
    assert!(!record.authenticated);
}

/// The STARTTLS handshake fails (untrusted certificate): the password
/// never crosses the wire.
pub fn no_password_after_failed_handshake<H: Harness>(h: &H) {
    let spec = Spec {
        starttls: true,
        auth: true,
        untrusted_cert: true,
        ..Spec::default()
    };
    let (err, record) = refused_open(h, spec, &with_credentials(options(PATIENT)));
    let handshake = matches!(
        err,
        Error::Tls {
            stage: Stage::TlsHandshake,
            ..
        }
    );
    assert!(handshake, "{err:?}");
    assert!(!record.tls && !record.authenticated);
    assert!(!record.leaked_credentials(), "{record:?}");
}

/// Three recipients, one refused: delivered to the other two, and the
/// refusal reported with its reply.
pub fn one_recipient_refused<H: Harness>(h: &H) {
    let server = Server::start(Spec {
        pipelining: true,
        reject: vec!["nobody@".into()],
        ..Spec::default()
    });
    let mut s = h
        .connect(server.port(), &options(PATIENT))
        .expect("connect");
    let env = envelope(&["bob@example.org", "nobody@example.org", "carol@example.org"]);
    let outcome = h.send(&mut s, &env, MESSAGE).expect("send");
    assert!(outcome.is_delivered(), "{outcome:?}");
    let refused: Vec<_> = outcome.refused().collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].address.as_str(), "nobody@example.org");
    assert_eq!(refused[0].reply().map(|r| r.code().value()), Some(550));
    h.quit(s).expect("quit");
    let record = server.finish();
    assert_eq!(
        record.messages[0].to,
        ["<bob@example.org>", "<carol@example.org>"]
    );
}

fn several_messages_with<H: Harness>(h: &H, pipelining: bool) {
    let server = Server::start(Spec {
        pipelining,
        reject: vec!["nobody@".into()],
        ..Spec::default()
    });
    let mut s = h
        .connect(server.port(), &options(PATIENT))
        .expect("connect");
    let body = |i: usize| format!("Subject: {i}\r\n\r\nmessage {i}\r\n").into_bytes();
    for i in 0..2 {
        let outcome = h.send(&mut s, &bob(), &body(i)).expect("send");
        assert!(outcome.is_delivered(), "{outcome:?}");
    }
    let mut batch: Vec<(Envelope, Vec<u8>)> = (2..5).map(|i| (bob(), body(i))).collect();
    // One message of the batch fails; the session goes on with the next.
    batch.insert(1, (envelope(&["nobody@example.org"]), b"lost\r\n".to_vec()));
    let outcomes = h.send_many(&mut s, &batch).expect("send_many");
    assert_eq!(outcomes.len(), 4);
    let delivered: Vec<bool> = outcomes.iter().map(Outcome::is_delivered).collect();
    assert_eq!(delivered, [true, false, true, true], "{outcomes:?}");
    h.quit(s).expect("quit");
    let record = server.finish();
    let bodies: Vec<_> = record
        .messages
        .iter()
        .map(|m| m.data.clone().unwrap())
        .collect();
    assert_eq!(bodies, (0..5).map(body).collect::<Vec<_>>(), "{record:?}");
}

/// Several messages on one session, pipelined (one of a batch refused).
pub fn several_messages<H: Harness>(h: &H) {
    several_messages_with(h, true);
}

/// Several messages on one session, to a server without PIPELINING.
pub fn several_messages_without_pipelining<H: Harness>(h: &H) {
    several_messages_with(h, false);
}

/// A 50 MiB body streamed from a reader in 64 KiB chunks: it arrives
/// intact, and the process never held it.
pub fn streamed_50_mib<H: Harness>(h: &H) {
    let server = Server::start(Spec {
        pipelining: true,
        ..Spec::default()
    });
    let mut s = h
        .connect(server.port(), &options(PATIENT))
        .expect("connect");
    let mut body = Generator::new(50 << 20);
    let before = peak_rss();
    let outcome = h.send_stream(&mut s, &bob(), &mut body).expect("send");
    let after = peak_rss();
    assert!(outcome.is_delivered(), "{outcome:?}");
    h.quit(s).expect("quit");
    let record = server.finish();
    assert_eq!(record.messages[0].len, body.len());
    assert_eq!(
        record.messages[0].hash,
        Generator::new(50 << 20).expected_hash()
    );
    assert!(body.max_read <= 64 << 10, "read {} at once", body.max_read);
    assert!(
        body.reads >= body.len() / (64 << 10),
        "{} reads",
        body.reads
    );
    if let (Some(before), Some(after)) = (before, after) {
        let grew = after.saturating_sub(before);
        assert!(grew < 24 << 20, "peak memory grew by {grew} bytes");
    }
}

fn assert_fires<T>(started: Instant, result: Result<T, Error>, stage: Stage) -> Error {
    let Err(err) = result else {
        panic!("must time out")
    };
    assert!(
        started.elapsed() < FIRES_WITHIN,
        "took {:?}",
        started.elapsed()
    );
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.is_transient());
    assert_eq!(err.stage(), Some(stage), "{err}");
    assert!(err.to_string().contains(stage.name()), "{err}");
    err
}

/// The server stops answering after MAIL: the deadline fires and names
/// the stage.
pub fn silent_server_times_out<H: Harness>(h: &H) {
    let server = Server::start(Spec {
        pipelining: true,
        fault: Fault::SilentAt(Point::Mail),
        ..Spec::default()
    });
    let mut s = h.connect(server.port(), &options(SHORT)).expect("connect");
    let started = Instant::now();
    assert_fires(started, h.send(&mut s, &bob(), MESSAGE), Stage::SetFrom);
    // The session is over: later calls fail at once.
    assert!(h.send(&mut s, &bob(), MESSAGE).is_err());
    drop(s);
    assert!(server.finish().messages.is_empty());
}

/// No greeting ever comes: connecting fails at Init.
pub fn silent_greeting_times_out<H: Harness>(h: &H) {
    let spec = Spec {
        fault: Fault::SilentAt(Point::Greeting),
        ..Spec::default()
    };
    let started = Instant::now();
    let (err, _) = refused_open(h, spec, &options(SHORT));
    assert_fires::<()>(started, Err(err), Stage::Init);
}

/// The server closes in the middle of its EHLO reply.
pub fn closed_mid_reply<H: Harness>(h: &H) {
    let spec = Spec {
        fault: Fault::CloseMidReplyAt(Point::Ehlo),
        ..Spec::default()
    };
    let (err, _) = refused_open(h, spec, &options(PATIENT));
    let kind = session_kind(&err);
    assert_eq!(kind, Some(&ErrorKind::ConnectionClosed), "{err:?}");
    assert_eq!(err.stage(), Some(Stage::Helo));
}

/// The server closes in the middle of its reply to the end of data: the
/// message is not reported sent.
pub fn closed_mid_data_end_reply<H: Harness>(h: &H) {
    let server = Server::start(Spec {
        pipelining: true,
        fault: Fault::CloseMidReplyAt(Point::DataEnd),
        ..Spec::default()
    });
    let mut s = h
        .connect(server.port(), &options(PATIENT))
        .expect("connect");
    let err = h.send(&mut s, &bob(), MESSAGE).expect_err("must fail");
    assert_eq!(
        session_kind(&err),
        Some(&ErrorKind::ConnectionClosed),
        "{err:?}"
    );
    assert_eq!(err.stage(), Some(Stage::SendData));
    drop(s);
    server.finish();
}

/// Connecting to a port nobody listens on.
pub fn connect_refused<H: Harness>(h: &H) {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let err = h.connect(port, &options(SHORT)).err().expect("must fail");
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1 port {port}")),
        "{err}"
    );
}

/// Connected sockets have TCP_NODELAY set.
pub fn tcp_nodelay<H: Harness>(h: &H) {
    let server = Server::start(Spec::default());
    let s = h
        .connect(server.port(), &options(PATIENT))
        .expect("connect");
    assert!(h.nodelay(&s));
    h.quit(s).expect("quit");
    server.finish();
}

/// The one-call `send`: delivered, then refused.
pub fn one_call_send<H: Harness>(h: &H) {
    let server = Server::start(Spec::default());
    let outcome = h
        .send_one_call(server.port(), &options(PATIENT), &bob(), MESSAGE)
        .expect("send");
    assert!(outcome.is_delivered());
    let record = server.finish();
    assert_eq!(record.messages.len(), 1);
    assert_eq!(record.commands.last().map(String::as_str), Some("QUIT"));

    let server = Server::start(Spec {
        reject: vec!["bob@".into()],
        ..Spec::default()
    });
    let err = h
        .send_one_call(server.port(), &options(PATIENT), &bob(), MESSAGE)
        .expect_err("must fail");
    assert!(
        matches!(&err, Error::Rejected(o) if o.refused().count() == 1),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("<bob@example.org> refused: 550"),
        "{err}"
    );
    assert!(server.finish().messages.is_empty());
}

/// Each command, or pipelined group, leaves the adapter in one write:
/// with PIPELINING, MAIL+RCPT+RCPT+DATA together, and the end of one
/// message's data together with the next MAIL.
pub fn one_write_per_command_group<H: Harness>(h: &H) {
    let stream = ScriptedStream::new([
        &b"220 mem.example ESMTP\r\n"[..],
        b"250-mem.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
        b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No\r\n354 Go\r\n",
        b"250 2.0.0 Ok: 1\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go\r\n",
        b"250 2.0.0 Ok: 2\r\n",
        b"221 Bye\r\n",
    ]);
    let messages = [
        (
            envelope(&["bob@example.org", "nobody@example.org"]),
            b"one\r\n".to_vec(),
        ),
        (bob(), b"two\r\n".to_vec()),
    ];
    let outcomes = h
        .scripted(stream.clone(), &options(PATIENT), &messages)
        .expect("scripted session");
    assert!(outcomes.iter().all(Outcome::is_delivered), "{outcomes:?}");
    let writes: Vec<String> = stream
        .writes()
        .iter()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    assert_eq!(
        writes,
        [
            "EHLO localhost\r\n",
            "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n\
             RCPT TO:<nobody@example.org>\r\nDATA\r\n",
            "one\r\n.\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
            "two\r\n.\r\n",
            "QUIT\r\n",
        ]
    );
}

/// Without PIPELINING, each command is its own write.
pub fn one_write_per_command<H: Harness>(h: &H) {
    let stream = ScriptedStream::new([
        &b"220 mem.example ESMTP\r\n"[..],
        b"250 mem.example\r\n",
        b"250 2.1.0 Ok\r\n",
        b"250 2.1.5 Ok\r\n",
        b"354 Go\r\n",
        b"250 2.0.0 Ok\r\n",
        b"221 Bye\r\n",
    ]);
    let messages = [(bob(), b"one\r\n".to_vec())];
    let outcomes = h
        .scripted(stream.clone(), &options(PATIENT), &messages)
        .expect("scripted session");
    assert!(outcomes[0].is_delivered(), "{outcomes:?}");
    let writes: Vec<&[u8]> = vec![
        b"EHLO localhost\r\n",
        b"MAIL FROM:<alice@example.org>\r\n",
        b"RCPT TO:<bob@example.org>\r\n",
        b"DATA\r\n",
        b"one\r\n.\r\n",
        b"QUIT\r\n",
    ];
    assert_eq!(stream.writes(), writes);
}

/// A send whose future is dropped midway (the server never answers the
/// end of data) is never reported sent, and the session refuses further
/// use instead of guessing. Only for adapters whose calls can be cancelled.
pub fn cancelled_send_is_never_reported_sent<H: Harness>(h: &H) {
    if !H::CANCELLABLE {
        return;
    }
    let server = Server::start(Spec {
        pipelining: true,
        fault: Fault::SilentAt(Point::DataEnd),
        ..Spec::default()
    });
    let mut s = h
        .connect(server.port(), &options(PATIENT))
        .expect("connect");
    let result = h.send_within(&mut s, &bob(), MESSAGE, Duration::from_millis(200));
    assert!(result.is_none(), "must have been cancelled: {result:?}");
    let err = h.send(&mut s, &bob(), MESSAGE).expect_err("must refuse");
    assert!(matches!(err, Error::Interrupted), "{err:?}");
    assert!(matches!(h.quit(s), Err(Error::Interrupted)));
    server.finish();
}

/// Generates one `#[test]` per conformance case for a harness expression
/// (evaluated afresh in each test).
///
/// ```ignore
/// smtp_test_support::conformance_suite!(MyHarness::new());
/// ```
#[macro_export]
macro_rules! conformance_suite {
    ($harness:expr) => {
        $crate::conformance_suite!(@cases $harness;
            plain, starttls, implicit_tls, implicit_tls_untrusted, server_name_checked,
            auth_plain, auth_login,
            auth_refused, no_password_without_starttls, no_password_after_failed_handshake,
            one_recipient_refused, several_messages, several_messages_without_pipelining,
            streamed_50_mib, silent_server_times_out, silent_greeting_times_out,
            closed_mid_reply, closed_mid_data_end_reply, connect_refused, tcp_nodelay,
            one_call_send, one_write_per_command_group, one_write_per_command,
            cancelled_send_is_never_reported_sent
        );
    };
    (@cases $harness:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::cases::$case(&$harness);
            }
        )*
    };
}

//! The conformance cases, written once against [`Harness`], which each
//! adapter's test glue implements (blocking on its runtime for the async
//! ones). [`conformance_suite!`](crate::conformance_suite) turns them into
//! `#[test]` functions.

use crate::body::{Generator, peak_rss};
use crate::server::{Fault, PASSWORD, Point, Record, Server, Spec, TlsFault, USER};
use crate::stream::ScriptedStream;
use smtp_adapter_common::{Error, Options};
use smtp_proto::{
    Address, Client, Config, Credentials, Direction, Envelope, ErrorKind, Event, Mechanism,
    Outcome, Stage, Timeouts, TransactionError, TransactionId,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
    fn connect(&self, port: u16, options: &Options) -> Result<Self::Session, Error> {
        self.connect_to("127.0.0.1", port, options)
    }
    /// `Session::connect(host, port, options)`.
    fn connect_to(&self, host: &str, port: u16, options: &Options) -> Result<Self::Session, Error>;
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
    /// `session.send_many_with(messages, progress)`.
    fn send_many_with(
        &self,
        s: &mut Self::Session,
        messages: &[(Envelope, Vec<u8>)],
        progress: &mut (dyn FnMut(&Outcome) + Send),
    ) -> Result<Vec<Outcome>, Error>;
    /// `session.noop()`.
    fn noop(&self, s: &mut Self::Session) -> Result<(), Error>;
    /// `session.rset()`.
    fn rset(&self, s: &mut Self::Session) -> Result<(), Error>;
    /// `session.close()`.
    fn close(&self, s: &mut Self::Session) -> Result<(), Error>;
    /// `session.events().collect()`.
    fn events(&self, s: &mut Self::Session) -> Vec<Event>;
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
    /// stream" entry point), sends `messages` with `send_many_with`
    /// (recording each progress call with [`Scripted::record`]), then
    /// closes it with `close` and drains its events. Fails only if the
    /// session does not open.
    fn scripted(
        &self,
        stream: ScriptedStream,
        options: &Options,
        messages: &[(Envelope, Vec<u8>)],
    ) -> Result<Scripted, Error>;
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

/// What a scripted session did (see [`Harness::scripted`]).
#[derive(Debug)]
pub struct Scripted {
    /// What `send_many_with` returned.
    pub outcomes: Result<Vec<Outcome>, Error>,
    /// Each call of the progress callback: the message, and how many writes
    /// the client had made by then.
    pub progress: Vec<(TransactionId, usize)>,
    /// What `close` returned.
    pub closed: Result<(), Error>,
    /// The events drained after `close`.
    pub events: Vec<Event>,
}

impl Scripted {
    /// A progress callback's record of `outcome` on `stream`.
    pub fn record(stream: &ScriptedStream, outcome: &Outcome) -> (TransactionId, usize) {
        (outcome.id, stream.writes().len())
    }
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
    let config = {
        let mut built = Config::default();
        built.timeouts = Timeouts::uniform(timeout);
        built
    };
    let mut options = Options::new(config).connect_timeout(Duration::from_secs(2));
    options.webpki_roots = false;
    options.add_root(crate::pki::trusted().ca.clone())
}

fn with_credentials(mut options: Options) -> Options {
    options.config.credentials = Some(Credentials::password(USER, PASSWORD).unwrap());
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
    e.kind()
}

/// Starts a server of `spec` and opens a session to it with patient
/// deadlines.
fn open_to<H: Harness>(h: &H, spec: Spec) -> (Server, H::Session) {
    let server = Server::start(spec);
    let s = h
        .connect(server.port(), &options(PATIENT))
        .expect("connect");
    (server, s)
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
        err.kind() == Some(&ErrorKind::TlsFailed) && err.stage() == Some(Stage::Init),
        "{err:?}"
    );
    assert!(err.tls_error().is_some(), "{err:?}");
    assert!(err.to_string().contains("TLS handshake failed"), "{err}");
    assert!(record.commands.is_empty(), "{record:?}");
}

/// IPv6 loopback: plaintext and STARTTLS to a server on `[::1]`, the
/// certificate checked against that address. (Skipped, and said so, on a
/// machine without IPv6 loopback.)
pub fn ipv6_loopback<H: Harness>(h: &H) {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("SKIPPED ipv6_loopback: no IPv6 loopback on this machine");
        return;
    }
    for starttls in [false, true] {
        let server = Server::start_on(
            "[::1]:0",
            Spec {
                pipelining: true,
                starttls,
                ..Spec::default()
            },
        );
        let opts = options(PATIENT);
        let mut s = h
            .connect_to("::1", server.port(), &opts)
            .expect("connect over IPv6");
        assert_eq!(h.client(&s).is_encrypted(), starttls);
        let outcome = h.send(&mut s, &bob(), MESSAGE).expect("send");
        assert!(outcome.is_delivered(), "{outcome:?}");
        h.quit(s).expect("quit");
        let record = server.finish();
        assert_eq!(record.messages.len(), 1, "{record:?}");
        assert_eq!(record.tls, starttls);
    }
}

/// TLS faults before the session: an expired certificate (from a trusted
/// CA), a handshake the server never answers, plaintext SMTP on an
/// implicit-TLS port. Each ends in a typed error at Init within its
/// deadline, with nothing sent: no command, no credential.
pub fn tls_faults_before_the_session<H: Harness>(h: &H) {
    for fault in [
        TlsFault::ExpiredCert,
        TlsFault::StalledHandshake,
        TlsFault::PlaintextOnImplicitPort,
    ] {
        let spec = Spec {
            implicit_tls: true,
            auth: true,
            tls_fault: fault,
            ..Spec::default()
        };
        let opts = with_credentials(options(SHORT)).implicit_tls(true);
        let started = std::time::Instant::now();
        let (err, record) = refused_open(h, spec, &opts);
        assert!(
            started.elapsed() < FIRES_WITHIN,
            "{fault:?}: {:?}",
            started.elapsed()
        );
        let typed = match fault {
            TlsFault::ExpiredCert => {
                err.stage() == Some(Stage::Init)
                    && matches!(
                        err.tls_error(),
                        Some(rustls::Error::InvalidCertificate(
                            rustls::CertificateError::Expired
                                | rustls::CertificateError::ExpiredContext { .. }
                        ))
                    )
            }
            TlsFault::StalledHandshake => err.is_timeout() && err.stage() == Some(Stage::Init),
            _ => err.stage() == Some(Stage::Init) && err.kind() == Some(&ErrorKind::TlsFailed),
        };
        assert!(typed, "{fault:?}: {err:?}");
        // (A plaintext server reads the ClientHello as lines: no command.)
        let smtp = [
            "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "QUIT",
        ];
        assert!(
            !record.verbs().iter().any(|v| smtp.contains(v)),
            "{fault:?}: {record:?}"
        );
        assert!(!record.leaked_credentials(), "{fault:?}");
        assert!(!record.authenticated && record.messages.is_empty());
    }
}

/// TLS ends (close_notify) in the middle of the body: the message is not
/// delivered and the caller is told (not sent, or a session error).
pub fn tls_close_notify_mid_body<H: Harness>(h: &H) {
    let spec = Spec {
        starttls: true,
        tls_fault: TlsFault::CloseNotifyMidBody,
        ..Spec::default()
    };
    let server = Server::start(spec);
    let mut s = h
        .connect(server.port(), &options(PATIENT))
        .expect("connect");
    assert!(h.client(&s).is_encrypted());
    match h.send(&mut s, &bob(), MESSAGE) {
        Ok(outcome) => assert!(
            !outcome.is_delivered()
                && matches!(
                    outcome.result,
                    Err(smtp_proto::TransactionError::NotSent(_))
                ),
            "{outcome:?}"
        ),
        Err(e) => assert!(e.is_transient(), "{e:?}"),
    }
    let record = server.finish();
    assert!(record.messages.is_empty(), "{record:?}");
}

/// A TLS alert in the middle of the body: the message is not delivered,
/// and the error is the session's, with rustls's reason as its cause, at
/// once (not at a deadline).
pub fn tls_alert_mid_body<H: Harness>(h: &H) {
    let spec = Spec {
        starttls: true,
        tls_fault: TlsFault::AlertMidBody,
        ..Spec::default()
    };
    let server = Server::start(spec);
    let mut s = h
        .connect(server.port(), &options(PATIENT))
        .expect("connect");
    let started = Instant::now();
    let err = h.send(&mut s, &bob(), MESSAGE).expect_err("not delivered");
    assert!(started.elapsed() < FIRES_WITHIN, "{:?}", started.elapsed());
    assert_eq!(err.stage(), Some(Stage::SendData), "{err:?}");
    assert!(err.tls_error().is_some(), "{err:?}");
    // The whole body and its end went out before the alert was read.
    assert!(err.is_fate_unknown(), "{err:?}");
    let record = server.finish();
    assert!(record.messages.is_empty(), "{record:?}");
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
        err.tls_error(),
        Some(rustls::Error::InvalidCertificate(e))
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

/// SCRAM-SHA-256-PLUS, chosen by preference over PLAIN after STARTTLS and
/// over implicit TLS: the server checks the proof against the password and
/// the channel binding against its own TLS exporter, so this passes only if
/// the adapter handed the core this connection's exporter (and fresh
/// entropy for the nonce).
pub fn scram_plus_binds_the_tls_connection<H: Harness>(h: &H) {
    for implicit in [false, true] {
        let spec = Spec {
            starttls: !implicit,
            implicit_tls: implicit,
            auth: true,
            scram: true,
            ..Spec::default()
        };
        let opts = with_credentials(options(PATIENT)).implicit_tls(implicit);
        let (_, record) = deliver(h, spec, &opts, true);
        assert!(record.authenticated && record.channel_bound, "{record:?}");
        assert!(
            record
                .commands
                .iter()
                .any(|c| c.starts_with("AUTH SCRAM-SHA-256-PLUS ")),
            "{record:?}"
        );
        // The password itself never crossed the connection.
        assert!(!record.commands.iter().any(|c| c.contains(PASSWORD)));
    }
}

/// Wrong credentials end the session with a permanent error at AUTH.
pub fn auth_refused<H: Harness>(h: &H) {
    let spec = Spec {
        starttls: true,
        auth: true,
        ..Spec::default()
    };
    let mut opts = options(PATIENT);
    opts.config.credentials = Some(Credentials::password(USER, "wrong").unwrap());
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
    let handshake = err.stage() == Some(Stage::TlsHandshake)
        && err.kind() == Some(&ErrorKind::TlsFailed)
        && err.tls_error().is_some();
    assert!(handshake, "{err:?}");
    assert!(!record.tls && !record.authenticated);
    assert!(!record.leaked_credentials(), "{record:?}");
}

/// Three recipients, one refused: delivered to the other two, and the
/// refusal reported with its reply.
pub fn one_recipient_refused<H: Harness>(h: &H) {
    let (server, mut s) = open_to(
        h,
        Spec {
            pipelining: true,
            reject: vec!["nobody@".into()],
            ..Spec::default()
        },
    );
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
    let run = h
        .scripted(stream.clone(), &options(PATIENT), &messages)
        .expect("scripted session");
    let outcomes = run.outcomes.expect("send_many");
    assert!(outcomes.iter().all(Outcome::is_delivered), "{outcomes:?}");
    run.closed.expect("close");
    // Each outcome was reported as soon as it was known: the first one
    // before the second message's end of data was written (the fourth
    // write), the second one before QUIT (the fifth).
    let ids: Vec<_> = outcomes.iter().map(|o| o.id).collect();
    assert_eq!(run.progress, [(ids[0], 3), (ids[1], 4)]);
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
    let run = h
        .scripted(stream.clone(), &options(PATIENT), &messages)
        .expect("scripted session");
    let outcomes = run.outcomes.expect("send_many");
    assert!(outcomes[0].is_delivered(), "{outcomes:?}");
    run.closed.expect("close");
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

fn not_sent_kind(o: &Outcome) -> Option<&ErrorKind> {
    match &o.result {
        Err(TransactionError::NotSent(e)) => Some(e.kind()),
        _ => None,
    }
}

/// The connection fails (a reset, not an end of stream) with two
/// pipelined messages in flight: both are reported not sent because the
/// transport failed, each handed to the progress callback, and `close`
/// returns the I/O error.
pub fn transport_error_reports_not_sent<H: Harness>(h: &H) {
    let stream = ScriptedStream::new([
        &b"220 mem.example ESMTP\r\n"[..],
        b"250-mem.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
        b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go\r\n",
    ])
    .then_fail(std::io::ErrorKind::ConnectionReset);
    let messages = [(bob(), b"one\r\n".to_vec()), (bob(), b"two\r\n".to_vec())];
    let run = h
        .scripted(stream.clone(), &options(PATIENT), &messages)
        .expect("scripted session");
    let outcomes = run.outcomes.expect("send_many reports outcomes");
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        assert_eq!(not_sent_kind(o), Some(&ErrorKind::TransportFailed), "{o:?}");
        assert!(o.result.as_ref().unwrap_err().is_transient());
    }
    let reported: Vec<_> = run.progress.iter().map(|(id, _)| *id).collect();
    assert_eq!(reported, outcomes.iter().map(|o| o.id).collect::<Vec<_>>());
    let err = run.closed.expect_err("the session is broken");
    assert!(
        err.io_error().map(std::io::Error::kind) == Some(std::io::ErrorKind::ConnectionReset),
        "{err:?}"
    );
    assert!(err.is_transient());
    // Nothing was written after the failure: no QUIT on a dead connection.
    assert!(!stream.writes().iter().any(|w| w.starts_with(b"QUIT")));
}

/// A write times out with two messages queued: both are reported not
/// sent because the transport failed, and `close` returns the timeout,
/// naming the stage.
pub fn write_timeout_reports_not_sent<H: Harness>(h: &H) {
    let stream = ScriptedStream::new([
        &b"220 mem.example ESMTP\r\n"[..],
        b"250-mem.example\r\n250 PIPELINING\r\n",
    ])
    .fail_writes_after(1, std::io::ErrorKind::TimedOut);
    let messages = [(bob(), b"one\r\n".to_vec()), (bob(), b"two\r\n".to_vec())];
    let run = h
        .scripted(stream.clone(), &options(PATIENT), &messages)
        .expect("scripted session");
    let outcomes = run.outcomes.expect("send_many reports outcomes");
    let kinds: Vec<_> = outcomes.iter().map(not_sent_kind).collect();
    let failed = Some(&ErrorKind::TransportFailed);
    assert_eq!(kinds, [failed, failed], "{outcomes:?}");
    assert_eq!(run.progress.len(), 2);
    let err = run.closed.expect_err("the session is broken");
    assert!(
        err.is_timeout() && err.stage() == Some(Stage::SetFrom),
        "{err:?}"
    );
    assert_eq!(stream.writes(), [b"EHLO localhost\r\n"]);
}

/// `close` keeps the session, so the events of QUIT (its transcript
/// lines) can still be drained; later sends fail.
pub fn close_keeps_the_last_events<H: Harness>(h: &H) {
    let server = Server::start(Spec::default());
    let mut opts = options(PATIENT);
    opts.config.transcript = true;
    let mut s = h.connect(server.port(), &opts).expect("connect");
    assert!(
        h.send(&mut s, &bob(), MESSAGE)
            .expect("send")
            .is_delivered()
    );
    let _ = h.events(&mut s);
    h.close(&mut s).expect("close");
    let lines: Vec<String> = h
        .events(&mut s)
        .iter()
        .filter_map(|e| match e {
            Event::Transcript(line) => Some(line.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines,
        ["[Quit] C: QUIT", "[Quit] S: 221 2.0.0 Bye"],
        "{lines:?}"
    );
    assert!(h.client(&s).is_closed());
    let err = h.send(&mut s, &bob(), MESSAGE).expect_err("closed");
    assert!(matches!(err, Error::Usage(_)), "{err:?}");
    h.close(&mut s).expect("closing twice changes nothing");
    drop(s);
    assert_eq!(server.finish().messages.len(), 1);
}

/// An event sink sees the whole dialogue of a session that failed to open
/// (here at AUTH), which the caller gets no session to drain.
pub fn event_sink_sees_a_failed_open<H: Harness>(h: &H) {
    let spec = Spec {
        starttls: true,
        auth: true,
        ..Spec::default()
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut opts = options(PATIENT).on_event(move |e| sink.lock().unwrap().push(e.clone()));
    opts.config.transcript = true;
    opts.config.credentials = Some(Credentials::password(USER, "wrong").unwrap());
    let (err, _) = refused_open(h, spec, &opts);
    assert!(
        matches!(session_kind(&err), Some(ErrorKind::AuthFailed(_))),
        "{err:?}"
    );
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter().any(|e| matches!(e, Event::Greeting(_))),
        "{seen:?}"
    );
    let lines: Vec<(Direction, String)> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Transcript(l) => Some((l.direction, String::from_utf8_lossy(&l.text).into())),
            _ => None,
        })
        .collect();
    let said =
        |who: Direction, start: &str| lines.iter().any(|(d, t)| *d == who && t.starts_with(start));
    assert!(said(Direction::Server, "220 localhost"), "{lines:?}");
    assert!(said(Direction::Client, "EHLO"), "{lines:?}");
    assert!(said(Direction::Client, "STARTTLS"), "{lines:?}");
    assert!(said(Direction::Client, "AUTH PLAIN"), "{lines:?}");
    assert!(said(Direction::Server, "535"), "{lines:?}");
    assert!(
        !lines.iter().any(|(_, t)| t.contains("wrong")),
        "redacted: {lines:?}"
    );
}

/// The progress callback of `send_many_with` is called once per message,
/// in order, with the outcome `send_many_with` then returns.
pub fn progress_per_message<H: Harness>(h: &H) {
    let (server, mut s) = open_to(
        h,
        Spec {
            pipelining: true,
            reject: vec!["nobody@".into()],
            ..Spec::default()
        },
    );
    let batch = [
        (bob(), b"one\r\n".to_vec()),
        (envelope(&["nobody@example.org"]), b"two\r\n".to_vec()),
        (bob(), b"three\r\n".to_vec()),
    ];
    let mut seen = Vec::new();
    let outcomes = h
        .send_many_with(&mut s, &batch, &mut |o| seen.push(o.clone()))
        .expect("send_many_with");
    assert_eq!(seen, outcomes);
    let delivered: Vec<bool> = seen.iter().map(Outcome::is_delivered).collect();
    assert_eq!(delivered, [true, false, true]);
    h.quit(s).expect("quit");
    assert_eq!(server.finish().messages.len(), 2);
}

/// NOOP and RSET on an idle session, then a message: all answered, and
/// the session goes on.
pub fn noop_and_rset<H: Harness>(h: &H) {
    let (server, mut s) = open_to(h, Spec::default());
    h.noop(&mut s).expect("noop");
    h.rset(&mut s).expect("rset");
    assert!(
        h.send(&mut s, &bob(), MESSAGE)
            .expect("send")
            .is_delivered()
    );
    h.noop(&mut s).expect("noop after a message");
    h.quit(s).expect("quit");
    assert_eq!(
        server.finish().verbs(),
        [
            "EHLO", "NOOP", "RSET", "MAIL", "RCPT", "DATA", "NOOP", "QUIT"
        ]
    );
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
            tls_faults_before_the_session, tls_close_notify_mid_body, tls_alert_mid_body, ipv6_loopback,
            auth_plain, auth_login, scram_plus_binds_the_tls_connection,
            auth_refused, no_password_without_starttls, no_password_after_failed_handshake,
            one_recipient_refused, several_messages, several_messages_without_pipelining,
            streamed_50_mib, silent_server_times_out, silent_greeting_times_out,
            closed_mid_reply, closed_mid_data_end_reply, connect_refused, tcp_nodelay,
            one_call_send, one_write_per_command_group, one_write_per_command,
            cancelled_send_is_never_reported_sent, transport_error_reports_not_sent,
            write_timeout_reports_not_sent,
            close_keeps_the_last_events, event_sink_sees_a_failed_open, progress_per_message,
            noop_and_rset
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

/// Writes the [`Harness`] methods that an async adapter's test glue shares
/// with the other's, inside its `impl Harness`: each runs the adapter's
/// call to completion with `self.0.block_on(..)`. `$krate` is the adapter
/// crate (`smtp_tokio`, `smtp_asyncstd`); the glue writes `nodelay` and
/// `send_within` itself.
///
/// ```ignore
/// impl Harness for MyRuntime {
///     type Session = my_adapter::Session<TcpStream>;
///     const CANCELLABLE: bool = true;
///     smtp_test_support::async_harness_methods!(my_adapter);
///     fn nodelay(&self, s: &Self::Session) -> bool { /* ... */ }
///     fn send_within(/* ... */) { /* ... */ }
/// }
/// ```
#[macro_export]
macro_rules! async_harness_methods {
    ($krate:ident) => {
        fn connect_to(
            &self,
            host: &str,
            port: u16,
            options: &$krate::Options,
        ) -> Result<Self::Session, $krate::Error> {
            self.0
                .block_on($krate::Session::connect(host, port, options))
        }

        fn send(
            &self,
            s: &mut Self::Session,
            envelope: &$krate::Envelope,
            body: &[u8],
        ) -> Result<$krate::Outcome, $krate::Error> {
            self.0.block_on(s.send(envelope, body))
        }

        fn send_stream(
            &self,
            s: &mut Self::Session,
            envelope: &$krate::Envelope,
            body: &mut $crate::Generator,
        ) -> Result<$krate::Outcome, $krate::Error> {
            self.0.block_on(s.send_from(envelope, body))
        }

        fn send_many(
            &self,
            s: &mut Self::Session,
            messages: &[($krate::Envelope, Vec<u8>)],
        ) -> Result<Vec<$krate::Outcome>, $krate::Error> {
            self.0
                .block_on(s.send_many($crate::cases::bodies(messages)))
        }

        fn send_many_with(
            &self,
            s: &mut Self::Session,
            messages: &[($krate::Envelope, Vec<u8>)],
            progress: &mut (dyn FnMut(&$krate::Outcome) + Send),
        ) -> Result<Vec<$krate::Outcome>, $krate::Error> {
            let bodies = $crate::cases::bodies(messages);
            self.0.block_on(s.send_many_with(bodies, progress))
        }

        fn noop(&self, s: &mut Self::Session) -> Result<(), $krate::Error> {
            self.0.block_on(s.noop())
        }

        fn rset(&self, s: &mut Self::Session) -> Result<(), $krate::Error> {
            self.0.block_on(s.rset())
        }

        fn close(&self, s: &mut Self::Session) -> Result<(), $krate::Error> {
            self.0.block_on(s.close())
        }

        fn events(&self, s: &mut Self::Session) -> Vec<$krate::Event> {
            s.events().collect()
        }

        fn quit(&self, s: Self::Session) -> Result<(), $krate::Error> {
            self.0.block_on(s.quit())
        }

        fn client<'s>(&self, s: &'s Self::Session) -> &'s $krate::Client {
            s.client()
        }

        fn send_one_call(
            &self,
            port: u16,
            options: &$krate::Options,
            envelope: &$krate::Envelope,
            body: &[u8],
        ) -> Result<$krate::Outcome, $krate::Error> {
            let send = $krate::send("127.0.0.1", port, options, envelope, body);
            self.0.block_on(send)
        }

        fn scripted(
            &self,
            stream: $crate::ScriptedStream,
            options: &$krate::Options,
            messages: &[($krate::Envelope, Vec<u8>)],
        ) -> Result<$crate::Scripted, $krate::Error> {
            self.0.block_on(async {
                let mut s = $krate::Session::over(stream.clone(), "localhost", options).await?;
                let mut progress = Vec::new();
                let outcomes = s
                    .send_many_with($crate::cases::bodies(messages), |o| {
                        progress.push($crate::Scripted::record(&stream, o))
                    })
                    .await;
                let closed = s.close().await;
                let events = s.events().collect();
                Ok($crate::Scripted {
                    outcomes,
                    progress,
                    closed,
                    events,
                })
            })
        }
    };
}

/// The messages as `(envelope, body)` pairs, as `send_many` takes them.
pub fn bodies(messages: &[(Envelope, Vec<u8>)]) -> impl Iterator<Item = (&Envelope, &[u8])> {
    messages.iter().map(|(e, b)| (e, b.as_slice()))
}

//! The `tracing` feature (on here through the dev-dependency): a subscriber
//! captures the dialogue, the session's span, refusals and failures, and
//! no credential, nor the body.

use smtp_blocking::smtp_proto::Mechanism;
use smtp_blocking::{Credentials, Envelope, Error, Event, NoTimeouts, Options, Session};
use smtp_test_support::cases::{PATIENT, envelope, options};
use smtp_test_support::server::{PASSWORD, USER};
use smtp_test_support::{ScriptedStream, Server, Spec};
use std::io;
use std::sync::{Arc, Mutex};

/// Text of the body that must not reach the log.
const BODY_TEXT: &str = "the-body-text-stays-out-of-logs";
/// The token of the OAuth session.
const TOKEN: &str = "ya29.oauth-token-never-logged";

/// A message with a Message-ID and [`BODY_TEXT`].
fn message() -> Vec<u8> {
    format!(
        "From: alice@example.org\r\nTo: bob@example.org\r\n\
         Message-ID: <tracing-test@example.org>\r\nSubject: test\r\n\r\n{BODY_TEXT}\r\n"
    )
    .into_bytes()
}

/// What the subscriber wrote, shared with the test.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a `debug` subscriber on this thread; returns its output.
fn captured(f: impl FnOnce()) -> String {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let text = log.0.lock().unwrap().clone();
    String::from_utf8(text).expect("UTF-8 log")
}

fn b64(bytes: &[u8]) -> String {
    let mut out = Vec::new();
    smtp_blocking::smtp_proto::base64::encode_into(bytes, &mut out);
    String::from_utf8(out).unwrap()
}

/// Neither a secret, nor a base64 form of it, nor the body's text.
fn assert_no_secrets(log: &str, secrets: &[&str]) {
    for secret in secrets {
        let forms = [
            secret.to_string(),
            b64(secret.as_bytes()),
            b64(format!("\0{USER}\0{secret}").as_bytes()),
            b64(format!("user={USER}\x01auth=Bearer {secret}\x01\x01").as_bytes()),
        ];
        for form in forms {
            assert!(!log.contains(&form), "{form:?} in the log:\n{log}");
        }
    }
    assert!(!log.contains(BODY_TEXT), "the body in the log:\n{log}");
}

/// Every line with `needle` in it.
fn lines_with<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(needle)).collect()
}

fn to_bob_and_nobody() -> Envelope {
    envelope(&["bob@example.org", "nobody@example.org"])
}

/// AUTH PLAIN, LOGIN and SCRAM after STARTTLS, one message with a refused
/// recipient: the log has the dialogue, the spans and the refusal, and no
/// credential.
#[test]
fn a_subscriber_captures_the_dialogue_with_no_credential_in_it() {
    for mechanism in [Mechanism::Plain, Mechanism::Login, Mechanism::ScramSha256] {
        let server = Server::start(Spec {
            pipelining: true,
            starttls: true,
            auth: true,
            scram: true,
            reject: vec!["nobody@".into()],
            ..Spec::default()
        });
        let port = server.port();
        let mut opts = options(PATIENT);
        opts.config.credentials = Some(Credentials::password(USER, PASSWORD).unwrap());
        opts.config.mechanism = Some(mechanism);
        let mut events = Vec::new();
        let log = captured(|| {
            let mut s = Session::connect("127.0.0.1", port, &opts).expect("connect");
            let outcome = s.send(&to_bob_and_nobody(), &message()).expect("send");
            assert!(outcome.is_delivered(), "{outcome:?}");
            s.close().expect("close");
            events = s.events().collect();
        });
        let record = server.finish();
        assert!(record.authenticated, "{record:?}");

        // The caller did not ask for the transcript: it got none.
        assert!(
            !events.iter().any(|e| matches!(e, Event::Transcript(_))),
            "{events:?}"
        );
        // The session's span, with the server, the port and TLS.
        let span = format!("smtp_session{{host=\"127.0.0.1\" port={port} tls=true}}");
        assert!(log.contains(&span), "{span} not in:\n{log}");
        // Every command and reply, at debug.
        for said in [
            "C: EHLO ",
            "S: 250-",
            "C: STARTTLS",
            "S: 220 ",
            &format!("C: AUTH {}", mechanism.name()),
            "<redacted>",
            "C: MAIL FROM:<alice@example.org>",
            "C: RCPT TO:<bob@example.org>",
            "C: RCPT TO:<nobody@example.org>",
            "C: DATA",
            "S: 354 ",
            "octets of message data>",
            "S: 250 2.0.0 Ok: queued as",
            "C: QUIT",
            "S: 221 ",
        ] {
            let lines = lines_with(&log, said);
            assert!(!lines.is_empty(), "{said:?} not in:\n{log}");
            assert!(lines.iter().all(|l| l.contains("DEBUG")), "{lines:?}");
        }
        // The message's commands and replies in the message's span, with
        // its Message-ID once the body is handed over.
        for said in ["C: MAIL FROM:", "S: 550 ", "S: 354 "] {
            let line = lines_with(&log, said)[0];
            assert!(line.contains(":smtp_message{id=1"), "{line}");
        }
        let data = lines_with(&log, "octets of message data>")[0];
        let message_id = "message_id=\"<tracing-test@example.org>\"";
        assert!(data.contains(message_id), "{data}");
        // The refused recipient, at warn, in the message's span.
        let refused = lines_with(&log, "recipient refused");
        assert_eq!(refused.len(), 1, "{log}");
        assert!(refused[0].contains(" WARN "), "{refused:?}");
        assert!(refused[0].contains("recipient=<nobody@example.org>"));
        assert!(refused[0].contains("reply=550"));
        assert!(refused[0].contains("smtp_message{id=1"));
        assert!(lines_with(&log, " ERROR ").is_empty(), "{log}");

        assert_no_secrets(&log, &[PASSWORD]);
    }
}

/// A refused password fails the session: an error, and neither password.
#[test]
fn a_failing_session_is_an_error_without_its_password() {
    const WRONG: &str = "wr0ng-Secret-99";
    let server = Server::start(Spec {
        starttls: true,
        auth: true,
        ..Spec::default()
    });
    let port = server.port();
    let mut opts = options(PATIENT);
    opts.config.credentials = Some(Credentials::password(USER, WRONG).unwrap());
    opts.config.transcript = true;
    let log = captured(|| {
        let err = Session::connect("127.0.0.1", port, &opts).expect_err("refused");
        assert!(matches!(err, Error::Smtp { .. }), "{err:?}");
    });
    server.finish();
    assert!(log.contains("C: AUTH PLAIN <redacted>"), "{log}");
    let errors = lines_with(&log, " ERROR ");
    assert_eq!(errors.len(), 1, "{log}");
    assert!(errors[0].contains("session failed"), "{errors:?}");
    assert!(errors[0].contains("535"), "{errors:?}");
    assert!(errors[0].contains(&format!("port={port}")), "{errors:?}");
    assert_no_secrets(&log, &[WRONG, PASSWORD]);
}

/// XOAUTH2 over an in-memory connection, the caller asking for the
/// transcript too: it gets it, and the log has no token; a message
/// rejected is a warn.
#[test]
fn an_oauth_token_stays_out_of_the_log() {
    // One reply per write: the greeting, EHLO, AUTH, MAIL, RCPT, DATA,
    // the end of data, QUIT.
    let script = "220 localhost|250-localhost\r\n250 AUTH XOAUTH2|235 ok|250 ok|250 ok|354 go on\
                  |554 no thanks|221 bye";
    let replies: Vec<String> = script.split('|').map(|r| format!("{r}\r\n")).collect();
    let stream = ScriptedStream::new(replies.iter().map(String::as_bytes));
    let mut opts = Options::new(Default::default());
    opts.config.credentials = Some(Credentials::oauth2(USER, TOKEN).unwrap());
    opts.config.allow_plaintext_auth = true;
    opts.config.tls = Some(smtp_blocking::TlsPolicy::Off);
    opts.config.pipelining = false;
    opts.config.transcript = true;
    let mut events = Vec::new();
    let log = captured(|| {
        let mut s = Session::over(NoTimeouts(stream), "localhost", &opts).expect("open");
        let outcome = s.send(&envelope(&["bob@example.org"]), &message());
        assert!(!outcome.expect("decided").is_delivered());
        s.close().expect("close");
        events = s.events().collect();
    });
    assert!(
        events.iter().any(|e| matches!(e, Event::Transcript(_))),
        "{events:?}"
    );
    assert!(log.contains("C: AUTH XOAUTH2 <redacted>"), "{log}");
    assert!(log.contains("smtp_session{host=\"localhost\"}"), "{log}");
    let rejected = lines_with(&log, "message not accepted");
    assert_eq!(rejected.len(), 1, "{log}");
    assert!(rejected[0].contains(" WARN ") && rejected[0].contains("554"));
    assert_no_secrets(&log, &[TOKEN]);
}

/// A write that fails midway fails the session: one error, with its cause.
#[test]
fn a_connection_failing_midway_is_one_error() {
    let stream = ScriptedStream::new([&b"220 localhost\r\n"[..], b"250 localhost\r\n"])
        .fail_writes_after(1, io::ErrorKind::BrokenPipe);
    let log = captured(|| {
        let mut s =
            Session::over(NoTimeouts(stream), "localhost", &options(PATIENT)).expect("open");
        let err = s.send(&envelope(&["bob@example.org"]), &message());
        assert!(err.is_err(), "{err:?}");
        assert!(s.noop().is_err());
    });
    let errors = lines_with(&log, " ERROR ");
    assert_eq!(errors.len(), 1, "{log}");
    assert!(errors[0].contains("session failed"), "{errors:?}");
    assert!(errors[0].contains("broken pipe"), "{errors:?}");
    let not_sent = lines_with(&log, "message not accepted");
    assert_eq!(not_sent.len(), 1, "{log}");
    assert!(not_sent[0].contains("fate_unknown=false"), "{not_sent:?}");
}

/// Two messages pipelined: each message's commands and replies are in its
/// own span, although they cross on the wire.
#[test]
fn pipelined_messages_each_have_their_span() {
    let server = Server::start(Spec {
        pipelining: true,
        ..Spec::default()
    });
    let port = server.port();
    let log = captured(|| {
        let mut s = Session::connect("127.0.0.1", port, &options(PATIENT)).expect("connect");
        let bob = envelope(&["bob@example.org"]);
        let outcomes = s.send_many([(&bob, message()), (&bob, message())]);
        assert!(outcomes.expect("sent").iter().all(|o| o.is_delivered()));
        s.quit().expect("quit");
    });
    assert_eq!(server.finish().messages.len(), 2);
    for said in ["C: MAIL FROM:", "S: 250 2.1.0 ", "C: DATA", "S: 250 2.0.0 "] {
        let lines = lines_with(&log, said);
        assert_eq!(lines.len(), 2, "{said:?}:\n{log}");
        assert!(lines[0].contains(":smtp_message{id=1"), "{}", lines[0]);
        assert!(lines[1].contains(":smtp_message{id=2"), "{}", lines[1]);
    }
}

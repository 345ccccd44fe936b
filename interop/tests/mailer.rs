//! The everyday entry point against real servers: a pool made from a URL
//! (aiosmtpd with STARTTLS and AUTH, Postfix with implicit TLS), and one
//! application function, generic over the sending trait, run unchanged
//! against the stub, the file transport and a real server.

use interop::peers::{Aiosmtpd, Postfix};
use interop::{TEST_PASSWORD, TEST_USER, require};
use smtp_blocking::{Address, Envelope, FileTransport, Outcome, StubTransport, Transport};
use smtp_tokio::AsyncTransport;

fn envelope(to: &[&str]) -> Envelope {
    let from = Address::new("app@example.org").unwrap();
    Envelope::new(from, to.iter().map(|a| Address::new(a).unwrap()))
}

fn message(to: &str) -> Vec<u8> {
    format!("From: app@example.org\r\nTo: {to}\r\nSubject: Welcome\r\n\r\nHello {to}.\r\n")
        .into_bytes()
}

/// The application's code: a welcome mail to each user; how many got it.
fn welcome(transport: &impl Transport, users: &[&str]) -> Result<usize, smtp_blocking::Error> {
    let mut delivered = 0;
    for user in users {
        let outcome: Outcome = transport.send(&envelope(&[user]), &message(user))?;
        delivered += usize::from(outcome.is_delivered());
    }
    Ok(delivered)
}

/// The same, async.
async fn welcome_async(
    transport: &impl AsyncTransport,
    users: &[&str],
) -> Result<usize, smtp_tokio::Error> {
    let mut delivered = 0;
    for user in users {
        let outcome = transport.send(&envelope(&[user]), &message(user)).await?;
        delivered += usize::from(outcome.is_delivered());
    }
    Ok(delivered)
}

const USERS: [&str; 3] = ["ann@example.org", "bob@example.org", "cy@example.org"];

fn url(scheme: &str, port: u16, query: &str) -> String {
    format!("{scheme}://{TEST_USER}:{TEST_PASSWORD}@localhost:{port}?timeout=20s{query}")
}

#[test]
fn one_function_against_the_stub_the_file_transport_and_aiosmtpd() {
    // The stub: one user refused.
    let stub = StubTransport::new().refusing("bob@example.org");
    assert_eq!(welcome(&stub, &USERS).unwrap(), 2);
    let taken: Vec<String> = stub
        .messages()
        .iter()
        .map(|(e, _)| e.recipients[0].address.as_str().to_owned())
        .collect();
    assert_eq!(taken, ["ann@example.org", "cy@example.org"]);
    // The file transport: each message and its envelope in a directory.
    let dir = std::env::temp_dir().join(format!("interop-file-transport-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(welcome(&FileTransport::new(&dir), &USERS).unwrap(), 3);
    let mut emls: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    emls.sort();
    assert_eq!(emls.len(), 3);
    for (eml, user) in emls.iter().zip(USERS) {
        assert_eq!(std::fs::read(eml).unwrap(), message(user));
        let (from, to) = smtp_blocking::outbox::read_envelope(eml).unwrap();
        assert_eq!(
            (from.as_str(), to),
            ("app@example.org", vec![user.to_owned()])
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // A real server, through a pool made from a URL: STARTTLS, then AUTH.
    let server = require!("mailer_aiosmtpd", Aiosmtpd::start());
    let pool = smtp_blocking::Pool::builder(&url("smtp", server.starttls_port, "&tls=required"))
        .unwrap()
        .options(|o| o.webpki_roots = false)
        .ca_file(server.certs.ca())
        .unwrap()
        .build();
    assert_eq!(welcome(&pool, &USERS).unwrap(), 3);
    // The async function against the stub and a tokio pool from a URL.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stub = StubTransport::new();
    assert_eq!(rt.block_on(welcome_async(&stub, &USERS)).unwrap(), 3);
    let tokio_pool = smtp_tokio::Pool::builder(&url("smtp", server.starttls_port, ""))
        .unwrap()
        .only_root(server.certs.ca_der())
        .build();
    assert_eq!(rt.block_on(welcome_async(&tokio_pool, &USERS)).unwrap(), 3);
    rt.block_on(tokio_pool.close());
    pool.close();
    let stored = server.messages();
    assert_eq!(stored.len(), 6, "three from each pool");
    for (m, user) in stored.iter().zip(USERS.iter().chain(USERS.iter())) {
        assert_eq!(m.content, message(user), "byte for byte");
        assert!(m.tls(), "STARTTLS");
        assert_eq!(m.auth_user(), TEST_USER);
        assert_eq!(m.rcpt_tos(), [user.to_string()]);
    }
}

#[test]
fn a_pool_from_an_smtps_url_delivers_to_postfix_over_implicit_tls() {
    let server = require!("mailer_postfix", Postfix::start());
    let pool = smtp_blocking::Pool::builder(&url("smtps", server.smtps_port, ""))
        .unwrap()
        .only_root(server.certs.ca_der())
        .build();
    assert!(pool.config().max_sessions >= 1);
    let to = "someone@interop.test";
    let outcome = Transport::send(&pool, &envelope(&[to]), &message(to)).unwrap();
    assert!(outcome.is_delivered(), "{outcome:?}");
    pool.close();
    let delivered = server.wait_deliveries(1, std::time::Duration::from_secs(20));
    assert_eq!(delivered.len(), 1, "{}", server.log_tail());
    let content = String::from_utf8_lossy(&delivered[0].content);
    assert!(content.contains("Hello someone@interop.test."), "{content}");
    assert!(
        content.contains("ESMTPSA"),
        "sent over TLS with AUTH: {content}"
    );
}

#[test]
fn a_pool_with_a_rustls_config_of_its_own_delivers_to_aiosmtpd() {
    use smtp_blocking::rustls::{ClientConfig, RootCertStore};
    let server = require!("mailer_tls_config_aiosmtpd", Aiosmtpd::start());
    // Only the test CA: the webpki roots the pool would use otherwise do
    // not trust the server, so delivery proves this configuration was used.
    let mut roots = RootCertStore::empty();
    roots.add(server.certs.ca_der()).unwrap();
    let tls = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let timeouts = {
        let mut built = smtp_blocking::Timeouts::default();
        built.init = std::time::Duration::from_secs(20);
        built
    };
    let pool = smtp_blocking::Pool::builder(&url("smtp", server.starttls_port, "&tls=required"))
        .unwrap()
        .tls_config(std::sync::Arc::new(tls))
        .timeouts(timeouts)
        .connect_timeout(std::time::Duration::from_secs(10))
        .build();
    let to = "ann@example.org";
    let outcome = pool.send(&envelope(&[to]), message(to)).unwrap();
    assert!(outcome.is_delivered(), "{outcome:?}");
    pool.close();
    let stored = server.messages();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].tls(), "STARTTLS");
    // Without it (the webpki roots alone) the handshake fails.
    let untrusting = smtp_blocking::Pool::from_url(&url("smtp", server.starttls_port, "")).unwrap();
    let e = untrusting.send(&envelope(&[to]), message(to)).unwrap_err();
    assert!(e.tls_error().is_some(), "{e}");
}

#[test]
fn a_pool_with_short_timeouts_gives_up_on_a_silent_server() {
    // A server that accepts the connection and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _silent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        std::thread::sleep(std::time::Duration::from_secs(10));
        drop(conn);
    });
    let timeouts = {
        let mut built = smtp_blocking::Timeouts::default();
        built.init = std::time::Duration::from_millis(300);
        built
    };
    let pool = smtp_blocking::Pool::builder(&format!("smtp://127.0.0.1:{port}?tls=off"))
        .unwrap()
        .timeouts(timeouts)
        .connect_timeout(std::time::Duration::from_secs(2))
        .build();
    let started = std::time::Instant::now();
    let to = "ann@example.org";
    let e = pool.send(&envelope(&[to]), message(to)).unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert_eq!(e.stage(), Some(smtp_blocking::Stage::Init), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

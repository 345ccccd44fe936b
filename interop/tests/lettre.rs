//! The `lettre` feature against a real server: a `lettre::Message` built
//! with lettre's own builder (a text part and an attachment) sent as it is
//! through the blocking and the tokio pool, and stored by aiosmtpd byte for
//! byte as `Message::formatted` made it, to the envelope lettre computed.

use interop::peers::Aiosmtpd;
use interop::{TEST_PASSWORD, TEST_USER, require};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use smtp_blocking::Transport;
use smtp_tokio::AsyncTransport;

/// Every byte value, so the attachment's base64 covers them all.
fn attachment_bytes() -> Vec<u8> {
    (0..=255u8).cycle().take(5000).collect()
}

fn message(subject: &str) -> lettre::Message {
    let text = "Hello Bob,\r\n\
                .a line that starts with a dot (dot-stuffed on the wire)\r\n\
                the report is attached.\r\n";
    lettre::Message::builder()
        .from("Alice Example <alice@example.org>".parse().unwrap())
        .to("Bob <bob@example.org>".parse().unwrap())
        .cc("carol@example.org".parse().unwrap())
        .bcc("dave@example.org".parse().unwrap())
        .subject(subject)
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(text.to_owned()))
                .singlepart(Attachment::new("report.bin".to_owned()).body(
                    attachment_bytes(),
                    ContentType::parse("application/octet-stream").unwrap(),
                )),
        )
        .unwrap()
}

fn url(port: u16, query: &str) -> String {
    format!("smtp://{TEST_USER}:{TEST_PASSWORD}@localhost:{port}?timeout=20s{query}")
}

#[test]
fn lettres_message_with_an_attachment_arrives_byte_exact_at_aiosmtpd() {
    let server = require!("lettre_aiosmtpd", Aiosmtpd::start());
    let blocking = message("Sent by the blocking pool");
    let tokio_message = message("Sent by the tokio pool, größer");
    for m in [&blocking, &tokio_message] {
        assert_eq!(m.formatted(), m.formatted(), "formatted is deterministic");
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(
            text.contains("\r\n.a line that starts with a dot"),
            "{text}"
        );
        assert!(text.contains("filename=\"report.bin\""), "{text}");
        assert!(!text.contains("dave@example.org"), "no Bcc in the bytes");
    }

    // The blocking pool from a URL: STARTTLS, then AUTH.
    let pool = smtp_blocking::Pool::builder(&url(server.starttls_port, "&tls=required"))
        .unwrap()
        .options(|o| o.webpki_roots = false)
        .ca_file(server.certs.ca())
        .unwrap()
        .build();
    let outcome = pool.send_message(&blocking).unwrap();
    assert!(outcome.is_delivered(), "{outcome:?}");
    assert_eq!(outcome.refused().count(), 0);
    pool.close();

    // The tokio pool, the same message type through the async trait.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tokio_pool = smtp_tokio::Pool::builder(&url(server.starttls_port, ""))
        .unwrap()
        .only_root(server.certs.ca_der())
        .build();
    let outcome = rt
        .block_on(tokio_pool.send_message(&tokio_message))
        .unwrap();
    assert!(outcome.is_delivered(), "{outcome:?}");
    rt.block_on(tokio_pool.close());

    let stored = server.messages();
    assert_eq!(stored.len(), 2, "{}", server.stderr());
    for (got, sent) in stored.iter().zip([&blocking, &tokio_message]) {
        assert!(
            got.content == sent.formatted(),
            "byte for byte:\n--- stored\n{}\n--- formatted\n{}",
            String::from_utf8_lossy(&got.content),
            String::from_utf8_lossy(&sent.formatted()),
        );
        assert_eq!(got.mail_from(), "alice@example.org");
        assert_eq!(
            got.rcpt_tos(),
            ["bob@example.org", "carol@example.org", "dave@example.org"],
            "To, Cc and Bcc, in lettre's order"
        );
        let lettre_to: Vec<String> = sent.envelope().to().iter().map(|a| a.to_string()).collect();
        assert_eq!(got.rcpt_tos(), lettre_to, "the envelope lettre computed");
        assert!(got.tls(), "STARTTLS");
        assert_eq!(got.auth_user(), TEST_USER);
    }
}

//! The `send` command run as a process: the capture-server default end to
//! end, a message composed from every option, `--data` as it is (DATA and
//! BDAT), a refused recipient, an unreachable server, a silent one,
//! `--count 100` on one session, AUTH transcripts that must never show
//! the password (plaintext on loopback, and implicit TLS), and header
//! fields of one's own with an inline image.

mod common;

use common::{PASSWORD, Spec, TempDir, TestServer, USER, closed_port, secret_forms, send};
use mail_parser::{HeaderForm, MessageParser, MimeHeaders};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The `.eml` files in `dir/outbox`.
fn outbox(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("outbox"))
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "eml"));
    files.sort();
    files
}

/// The one `.eml` file, checked against the `Stored ...` line printed.
fn only_eml(dir: &Path, stdout: &str) -> Vec<u8> {
    let files = outbox(dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap();
    assert!(name.ends_with(".eml"));
    assert!(
        stdout.contains(&format!("Stored outbox/{name} (")),
        "{stdout}"
    );
    // Its envelope beside it, as the file transport writes it.
    let (from, to) = smtp_blocking::outbox::read_envelope(&files[0]).unwrap();
    assert!(!from.is_empty() || !to.is_empty(), "{from} {to:?}");
    std::fs::read(&files[0]).unwrap()
}

#[test]
fn default_run_shows_the_reference_dialogue_and_stores_the_message() {
    let dir = TempDir::new("default");
    let run = send(dir.path(), &[], &[]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    // The reference walkthrough's stages, by name and number, in order.
    let mut at = 0;
    for stage in [
        "Stage: Init (0)",
        "Stage: Helo (1)",
        "Stage: SetFrom (5)",
        "Stage: SetTo (6)",
        "Stage: StartSendData (7)",
        "Stage: SendData (8)",
        "Stage: Quit (9)",
        "Stage: Finish (10)",
    ] {
        let found = run.stdout[at..].find(stage);
        assert!(
            found.is_some(),
            "{stage} missing after {at}:\n{}",
            run.stdout
        );
        at += found.unwrap();
    }
    for line in [
        "  S: 220 localhost ESMTP",
        "  C: EHLO localhost",
        "  S: 250-PIPELINING",
        "  C: MAIL FROM:<you@example.org>",
        "  C: RCPT TO:<friend@example.org>",
        "  C: DATA",
        "  S: 354 ",
        "  C: .",
        "  S: 250 2.0.0 Ok: saved as ",
        "  C: QUIT",
        // The server's own 221, from the session's events.
        "  S: 221 2.0.0 Bye",
    ] {
        assert!(
            run.stdout.contains(line),
            "{line:?} missing:\n{}",
            run.stdout
        );
    }

    let eml = only_eml(dir.path(), &run.stdout);
    assert!(eml.ends_with(b"\r\n"));
    assert!(
        eml.split(|&b| b == b'\n')
            .all(|l| l.is_empty() || l.ends_with(b"\r")),
        "every line ends in CRLF"
    );
    let m = MessageParser::default().parse(&eml).expect("parses");
    assert_eq!(m.subject(), Some("Hello from smtp-proto"));
    assert_eq!(
        m.from().unwrap().first().unwrap().address(),
        Some("you@example.org")
    );
    assert_eq!(
        m.to().unwrap().first().unwrap().address(),
        Some("friend@example.org")
    );
    assert!(m.date().is_some());
    let id = m.message_id().expect("a Message-ID");
    assert!(
        run.stdout.contains(&format!("(Message-ID <{id}>)")),
        "{}",
        run.stdout
    );
    let body = m.body_text(0).unwrap();
    assert!(
        body.starts_with("Hello!\r\n\r\nThis message was composed"),
        "{body}"
    );

    // A second run stores a second file beside the first.
    let again = send(dir.path(), &["--quiet"], &[]);
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert!(again.stdout.is_empty(), "{}", again.stdout);
    assert_eq!(outbox(dir.path()).len(), 2);
}

#[test]
fn a_message_from_every_option_round_trips_through_the_capture_server() {
    let dir = TempDir::new("compose");
    let blob: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    std::fs::write(dir.path().join("data.bin"), &blob).unwrap();
    std::fs::write(dir.path().join("notes.pdf"), b"%PDF-1.4 not really\n").unwrap();
    std::fs::write(
        dir.path().join("page.html"),
        "<p>Hello <b>HTML</b> – with a dash</p>\n",
    )
    .unwrap();
    let body = "Line one\n.leading dot\n..two dots\n.\nlast line ünïcode\n";
    let run = send(
        dir.path(),
        &[
            "--from",
            "Alice Example <alice@example.org>",
            "--to",
            "bob@example.org",
            "carol@example.org",
            "--cc",
            "\"Dave, Jr.\" <dave@example.org>",
            "--bcc",
            "hidden@example.org",
            "--subject",
            "Grüße – a test",
            "--body",
            body,
            "--html-file",
            "page.html",
            "--attach",
            "data.bin",
            "--attach",
            "notes.pdf",
            "--ehlo",
            "client.example.org",
        ],
        &[],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    for line in [
        "  C: EHLO client.example.org",
        "  C: MAIL FROM:<alice@example.org>",
        "  C: RCPT TO:<bob@example.org>",
        "  C: RCPT TO:<carol@example.org>",
        "  C: RCPT TO:<dave@example.org>",
        "  C: RCPT TO:<hidden@example.org>",
    ] {
        assert!(
            run.stdout.contains(line),
            "{line:?} missing:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains(
            "to <bob@example.org>, <carol@example.org>, <dave@example.org>, <hidden@example.org>)"
        ),
        "{}",
        run.stdout
    );
    let eml = only_eml(dir.path(), &run.stdout);
    assert!(
        !String::from_utf8_lossy(&eml).contains("hidden"),
        "Bcc stays out of the headers"
    );
    let m = MessageParser::default().parse(&eml).expect("parses");
    assert_eq!(m.subject(), Some("Grüße – a test"));
    let from = m.from().unwrap().first().unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("Alice Example"), Some("alice@example.org"))
    );
    assert_eq!(m.to().unwrap().iter().count(), 2);
    let cc = m.cc().unwrap().first().unwrap();
    assert_eq!(
        (cc.name(), cc.address()),
        (Some("Dave, Jr."), Some("dave@example.org"))
    );
    assert_eq!(m.body_text(0).unwrap(), body.replace('\n', "\r\n"));
    assert_eq!(
        m.body_html(0).unwrap(),
        "<p>Hello <b>HTML</b> – with a dash</p>\r\n"
    );
    assert_eq!(m.attachment_count(), 2);
    let a = m.attachment(0).unwrap();
    assert_eq!(a.attachment_name(), Some("data.bin"));
    assert_eq!(a.content_type().unwrap().subtype(), Some("octet-stream"));
    assert_eq!(a.contents(), &blob[..]);
    let b = m.attachment(1).unwrap();
    assert_eq!(b.attachment_name(), Some("notes.pdf"));
    let ct = b.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("application", Some("pdf")));
}

/// The one value of header `name`, decoded as unstructured text.
fn text_header(m: &mail_parser::Message<'_>, name: &str) -> String {
    let values = m.header_as(name.to_owned(), HeaderForm::Text);
    assert_eq!(values.len(), 1, "{name}: {values:?}");
    values[0].as_text().unwrap_or_default().to_owned()
}

#[test]
fn header_and_inline_options_reach_the_stored_message() {
    let dir = TempDir::new("inline");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..=255u8).rev());
    std::fs::write(dir.path().join("logo.png"), &png).unwrap();
    let html = "<p>Our logo: <img src=\"cid:logo.png\"></p>\n";
    std::fs::write(dir.path().join("page.html"), html).unwrap();
    std::fs::write(dir.path().join("report.pdf"), b"%PDF-1.4 not really\n").unwrap();
    let long = "a value long enough to need folding: ".repeat(4);
    let long = long.trim_end();
    let long_arg = format!("X-Long: {long}");
    let run = send(
        dir.path(),
        &[
            "--subject",
            "With a logo",
            "--body",
            "The text version.",
            "--html-file",
            "page.html",
            "--inline",
            "logo.png",
            "--attach",
            "report.pdf",
            "--header",
            "X-Mailer: send",
            "--header",
            &long_arg,
            "--header",
            "X-Greeting:  Grüße, Zoë ",
        ],
        &[],
    );
    assert_eq!(run.code, Some(0), "{}", run.all());
    let eml = only_eml(dir.path(), &run.stdout);
    let text = String::from_utf8(eml.clone()).unwrap();
    assert!(
        text.split("\r\n")
            .take_while(|l| !l.is_empty())
            .all(|l| l.len() <= 78),
        "headers folded:\n{text}"
    );
    let m = MessageParser::default().parse(&eml).expect("parses");
    assert_eq!(text_header(&m, "X-Mailer"), "send");
    assert_eq!(text_header(&m, "X-Long"), long);
    assert_eq!(text_header(&m, "X-Greeting"), "Grüße, Zoë");

    // mixed(alternative(text, related(html, logo)), report)
    let part = |id: u32| &m.parts[id as usize];
    let mime_type = |id: u32| {
        let ct = part(id).content_type().unwrap();
        format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default())
    };
    let top = m.root_part().sub_parts().unwrap().to_vec();
    assert_eq!(mime_type(0), "multipart/mixed");
    assert_eq!(mime_type(top[0]), "multipart/alternative");
    let alternative = part(top[0]).sub_parts().unwrap().to_vec();
    assert_eq!(mime_type(alternative[1]), "multipart/related");
    let related = part(alternative[1]).sub_parts().unwrap().to_vec();
    assert_eq!(related.len(), 2);
    assert_eq!(mime_type(related[0]), "text/html");
    assert_eq!(
        part(related[0]).text_contents(),
        Some(html.replace('\n', "\r\n").as_str())
    );
    let logo = part(related[1]);
    assert_eq!(mime_type(related[1]), "image/png");
    assert_eq!(logo.content_id(), Some("logo.png"));
    assert!(logo.content_disposition().unwrap().is_inline());
    assert_eq!(logo.contents(), &png[..]);
    assert_eq!(mime_type(top[1]), "application/pdf");
}

#[test]
fn header_and_inline_mistakes_are_named_in_one_line() {
    let dir = TempDir::new("inline-bad");
    std::fs::write(dir.path().join("page.html"), "<p>hi</p>").unwrap();
    std::fs::write(dir.path().join("my logo.png"), b"x").unwrap();
    let hint = "send: try 'send --help'";
    for (args, first_line) in [
        (
            &["--header", "Subject: sneaky"][..],
            "send: invalid --header \"Subject: sneaky\": the Subject header field is set by the builder, not by hand",
        ),
        (
            &["--header", "X-Mailer send"],
            "send: invalid --header \"X-Mailer send\": write it as 'Name: value'",
        ),
        (
            &["--inline", "logo.png"],
            "send: --inline needs --html-file: only HTML can refer to an inline part",
        ),
    ] {
        let run = send(dir.path(), args, &[]);
        assert_eq!(run.code, Some(64), "{args:?}: {}", run.all());
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines, [first_line, hint], "{args:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    // A file name that cannot be a Content-ID: the message cannot be composed.
    let run = send(
        dir.path(),
        &["--html-file", "page.html", "--inline", "my logo.png"],
        &[],
    );
    assert_eq!(run.code, Some(65), "{}", run.all());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("send: cannot compose the message: invalid Content-ID \"my logo.png\""),
        "{}",
        run.stderr
    );
    assert!(outbox(dir.path()).is_empty());
    // The help says how the HTML refers to an inline file.
    let help = send(dir.path(), &["--help"], &[]);
    assert!(
        help.stdout.contains("<img src=\"cid:logo.png\">"),
        "{}",
        help.stdout
    );
}

#[test]
fn data_is_sent_as_it_is_with_data_and_with_bdat() {
    let dir = TempDir::new("data");
    let message = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: ready-made\r\n\r\n\
                    .starts with a dot\r\n..two\r\n.\r\nend\r\n";
    std::fs::write(dir.path().join("ready.eml"), message).unwrap();
    let base = [
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--data",
        "ready.eml",
    ];

    let run = send(dir.path(), &base, &[]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("  C: DATA"), "{}", run.stdout);
    assert_eq!(only_eml(dir.path(), &run.stdout), message);

    let dir = TempDir::new("bdat");
    std::fs::write(dir.path().join("ready.eml"), message).unwrap();
    let mut args = base.to_vec();
    args.push("--capture-chunking");
    let run = send(dir.path(), &args, &[]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(run.stdout.contains("  C: BDAT "), "{}", run.stdout);
    assert!(!run.stdout.contains("  C: DATA"), "{}", run.stdout);
    assert_eq!(only_eml(dir.path(), &run.stdout), message);

    // A missing file: exit 66, one line.
    let run = send(
        dir.path(),
        &["--data", "missing.eml", "--to", "b@example.org"],
        &[],
    );
    assert_eq!(run.code, Some(66), "{}", run.all());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("missing.eml"), "{}", run.stderr);
}

/// RFC 1870 section 5: SIZE declares what is sent, CRLF pairs included. An
/// LF-only file of 10 lines is 70 octets on disk and 80 on the wire.
#[test]
fn size_declares_the_octets_sent_not_the_file() {
    let dir = TempDir::new("size");
    std::fs::write(dir.path().join("lf.eml"), b"Subj: \n".repeat(10)).unwrap();
    let args = |url: &str| {
        [
            "--server",
            url,
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--data",
            "lf.eml",
            "--timeout",
            "10",
        ]
        .map(str::to_owned)
    };
    let roomy = TestServer::start(Spec {
        size: Some(1000),
        ..Spec::default()
    });
    let url = roomy.url();
    let run = send(dir.path(), &args(&url).each_ref().map(String::as_str), &[]);
    let seen = roomy.finish();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(
        seen.commands
            .iter()
            .any(|c| c == "MAIL FROM:<a@example.org> SIZE=80"),
        "{:?}",
        seen.commands
    );
    assert_eq!(seen.messages[0].data.len(), 80);

    // With a 75-octet limit the message is refused before MAIL: nothing of
    // it is sent (the file's own 70 octets would have passed).
    let tight = TestServer::start(Spec {
        size: Some(75),
        ..Spec::default()
    });
    let url = tight.url();
    let run = send(dir.path(), &args(&url).each_ref().map(String::as_str), &[]);
    let seen = tight.finish();
    assert_ne!(run.code, Some(0), "{}", run.all());
    assert!(
        !seen.commands.iter().any(|c| c.starts_with("MAIL")),
        "{:?}",
        seen.commands
    );
    assert!(seen.messages.is_empty());
}

#[test]
fn a_refused_recipient_is_named_with_the_servers_reply() {
    let dir = TempDir::new("refused");
    let server = TestServer::start(Spec {
        pipelining: true,
        reject: vec!["nobody@example.org".into()],
        ..Spec::default()
    });
    let url = server.url();
    let run = send(
        dir.path(),
        &[
            "--server",
            &url,
            "--from",
            "a@example.org",
            "--to",
            "ok@example.org",
            "--to",
            "nobody@example.org",
            "--timeout",
            "10",
        ],
        &[],
    );
    let seen = server.finish();
    assert_eq!(run.code, Some(69), "{}", run.all());
    assert!(
        run.stderr.contains(
            "send: recipient <nobody@example.org> refused: 550 5.1.1 <nobody@example.org>: \
             Recipient address rejected (permanent)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("message delivered to 1 of 2 recipients (1 refused, permanent)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("Message accepted: 250 2.0.0 Ok: queued as T1")
    );
    assert_eq!(seen.messages.len(), 1);
    assert_eq!(seen.messages[0].to, ["ok@example.org"]);

    // Every recipient refused: nothing delivered, still exit 69.
    let server = TestServer::start(Spec {
        pipelining: true,
        reject: vec!["nobody@example.org".into()],
        ..Spec::default()
    });
    let url = server.url();
    let run = send(
        dir.path(),
        &[
            "--server",
            &url,
            "--from",
            "a@example.org",
            "--to",
            "nobody@example.org",
        ],
        &[],
    );
    let seen = server.finish();
    assert_eq!(run.code, Some(69), "{}", run.all());
    assert!(
        run.stderr
            .contains("recipient <nobody@example.org> refused: 550")
    );
    assert!(
        run.stderr
            .contains("message not delivered: no recipient was accepted (permanent)"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("Message accepted"));
    assert!(seen.messages.is_empty());
}

#[test]
fn lmtp_reports_each_recipients_delivery() {
    let dir = TempDir::new("lmtp");
    let server = TestServer::start(Spec {
        lmtp: true,
        pipelining: true,
        defer: vec!["full@example.org".into()],
        ..Spec::default()
    });
    let url = format!("lmtp://127.0.0.1:{}", server.port());
    let run = send(
        dir.path(),
        &[
            "--server",
            &url,
            "--from",
            "a@example.org",
            "--to",
            "ok@example.org",
            "--to",
            "full@example.org",
            "--transcript",
        ],
        &[],
    );
    let seen = server.finish();
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert!(run.stdout.contains("  C: LHLO localhost"), "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "send: recipient <full@example.org> not delivered: 452 4.2.2 <full@example.org>: \
             Mailbox full (transient)"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("message delivered to 1 of 2 recipients (1 refused, transient)"),
        "{}",
        run.stderr
    );
    assert_eq!(seen.messages.len(), 1);
}

#[test]
fn an_unreachable_server_fails_at_once_with_one_line() {
    let dir = TempDir::new("unreachable");
    let port = closed_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let run = send(
        dir.path(),
        &[
            "--server",
            &url,
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--timeout",
            "10",
        ],
        &[],
    );
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with(&format!("send: cannot connect to 127.0.0.1 port {port}: ")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.trim_end().ends_with("(transient)"),
        "{}",
        run.stderr
    );
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);
}

#[test]
fn a_silent_server_times_out_at_the_greeting_within_timeout() {
    let dir = TempDir::new("silent");
    let server = TestServer::start(Spec {
        silent: true,
        ..Spec::default()
    });
    let url = server.url();
    let run = send(
        dir.path(),
        &[
            "--server",
            &url,
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--timeout",
            "1",
        ],
        &[],
    );
    server.finish();
    assert_eq!(run.code, Some(75), "{}", run.all());
    assert_eq!(
        run.stderr.trim_end(),
        "send: transient failure at stage Init (0): no reply from the server before the deadline"
    );
    assert!(
        run.elapsed >= Duration::from_millis(900),
        "{:?}",
        run.elapsed
    );
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
}

#[test]
fn count_100_goes_on_one_pipelined_session() {
    let dir = TempDir::new("count");
    let server = TestServer::start(Spec {
        pipelining: true,
        ..Spec::default()
    });
    let url = server.url();
    let run = send(
        dir.path(),
        &[
            "--server",
            &url,
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--subject",
            "load",
            "--body",
            "copy",
            "--count",
            "100",
        ],
        &[],
    );
    let seen = server.finish();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert_eq!(seen.messages.len(), 100);
    let ehlo = seen
        .commands
        .iter()
        .filter(|c| c.starts_with("EHLO"))
        .count();
    assert_eq!(ehlo, 1, "one session");
    assert!(
        seen.messages
            .iter()
            .all(|m| m.data == seen.messages[0].data)
    );
    // Pipelined: MAIL, RCPT and DATA in one write, the end of data with the
    // next MAIL: about one read per message (each DATA still waits for its
    // 354), where one command per write would take 400.
    assert!(seen.reads < 200, "{} reads", seen.reads);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("messages/s"))
        .unwrap_or_else(|| panic!("no rate in {}", run.stdout));
    assert!(
        line.starts_with("100 of 100 messages accepted in ")
            && line.contains(" s on one session: "),
        "{line}"
    );
    let rate: f64 = line
        .rsplit(": ")
        .next()
        .and_then(|r| r.strip_suffix(" messages/s"))
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(rate > 0.0, "{line}");
    eprintln!("{line}");
}

/// Runs `send` with AUTH against the plaintext test server, opting in.
fn plaintext_auth(extra: &[&str], env: &[(&str, &str)]) -> (common::Run, common::Seen) {
    let dir = TempDir::new("auth");
    let server = TestServer::start(Spec {
        pipelining: true,
        auth: true,
        ..Spec::default()
    });
    let url = server.url();
    let mut args = vec![
        "--server",
        &url,
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--user",
        USER,
        "--allow-plaintext-auth",
        "--transcript",
        "--timeout",
        "10",
    ];
    args.extend_from_slice(extra);
    let run = send(dir.path(), &args, env);
    (run, server.finish())
}

fn assert_no_secret(run: &common::Run) {
    let all = run.all();
    for secret in secret_forms() {
        assert!(!all.contains(&secret), "{secret:?} printed:\n{all}");
    }
}

#[test]
fn the_transcript_never_shows_the_password_with_auth_login() {
    let (run, seen) = plaintext_auth(&["--auth", "login"], &[("SMTP_PASSWORD", PASSWORD)]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(seen.authenticated, "the server got the right credentials");
    for line in [
        "Stage: AuthLogin (2)",
        "  C: AUTH LOGIN",
        "  S: 334 VXNlcm5hbWU6",
        "Stage: AuthLoginUsername (3)",
        "Stage: AuthLoginPassword (4)",
        "  C: <redacted>",
        "  S: 235 2.7.0 Authentication successful",
    ] {
        assert!(
            run.stdout.contains(line),
            "{line:?} missing:\n{}",
            run.stdout
        );
    }
    assert_no_secret(&run);
}

#[test]
fn the_transcript_never_shows_the_password_with_auth_plain() {
    let (run, seen) = plaintext_auth(&["--auth", "plain", "--password", PASSWORD], &[]);
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(seen.authenticated);
    assert!(
        run.stdout.contains("  C: AUTH PLAIN <redacted>"),
        "{}",
        run.stdout
    );
    assert_no_secret(&run);

    // Refused credentials: exit 77, one error line, still no secret.
    let (run, seen) = plaintext_auth(&["--auth", "plain"], &[("SMTP_PASSWORD", "wrong-Zq7")]);
    assert_eq!(run.code, Some(77), "{}", run.all());
    assert!(!seen.authenticated);
    assert_eq!(
        run.stderr.trim_end(),
        "send: permanent failure at stage Auth: authentication failed: \
         535 5.7.8 Authentication credentials invalid"
    );
    assert!(!run.all().contains("wrong-Zq7"));
    assert!(
        !run.all()
            .contains(&common::b64(format!("\0{USER}\0wrong-Zq7").as_bytes()))
    );
}

#[test]
fn credentials_never_cross_plaintext_without_the_opt_in() {
    let dir = TempDir::new("noauth");
    let server = TestServer::start(Spec {
        pipelining: true,
        auth: true,
        ..Spec::default()
    });
    let url = server.url();
    let run = send(
        dir.path(),
        &[
            "--server",
            &url,
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--user",
            USER,
        ],
        &[("SMTP_PASSWORD", PASSWORD)],
    );
    let seen = server.finish();
    assert_eq!(run.code, Some(69), "{}", run.all());
    assert!(run.stderr.contains("STARTTLS"), "{}", run.stderr);
    assert!(
        !seen.commands.iter().any(|c| c.starts_with("AUTH")),
        "{:?}",
        seen.commands
    );
    assert_no_secret(&run);

    // With --tls off, the core still holds the password back.
    let server = TestServer::start(Spec {
        auth: true,
        ..Spec::default()
    });
    let url = server.url();
    let run = send(
        dir.path(),
        &[
            "--server",
            &url,
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--user",
            USER,
            "--tls",
            "off",
        ],
        &[("SMTP_PASSWORD", PASSWORD)],
    );
    let seen = server.finish();
    assert_eq!(run.code, Some(77), "{}", run.all());
    assert!(
        run.stderr.contains("refusing to send credentials"),
        "{}",
        run.stderr
    );
    assert!(!seen.commands.iter().any(|c| c.starts_with("AUTH")));

    // And the opt-in is refused for a server that is not on loopback.
    let run = send(
        dir.path(),
        &[
            "--server",
            "smtp://mail.example.org",
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--user",
            USER,
            "--allow-plaintext-auth",
        ],
        &[("SMTP_PASSWORD", PASSWORD)],
    );
    assert_eq!(run.code, Some(64), "{}", run.all());
    assert_no_secret(&run);
}

#[test]
fn implicit_tls_with_auth_and_a_private_ca() {
    use smtp_test_support::server::{Server, Spec as TlsSpec};
    let dir = TempDir::new("tls");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &smtp_test_support::pki::trusted().ca_pem).unwrap();
    let server = Server::start(TlsSpec {
        implicit_tls: true,
        auth: true,
        pipelining: true,
        ..TlsSpec::default()
    });
    let url = format!("smtps://127.0.0.1:{}", server.port());
    let run = send(
        dir.path(),
        &[
            "--server",
            &url,
            "--ca-file",
            ca.to_str().unwrap(),
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--user",
            smtp_test_support::server::USER,
            "--transcript",
            "--timeout",
            "10",
        ],
        &[("SMTP_PASSWORD", smtp_test_support::server::PASSWORD)],
    );
    let record = server.finish();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(record.tls && record.authenticated, "{record:?}");
    assert_eq!(record.messages.len(), 1);
    assert!(run.stdout.contains("<redacted>"), "{}", run.stdout);
    let all = run.all();
    let password = smtp_test_support::server::PASSWORD;
    assert!(!all.contains(password));
    assert!(!all.contains(&common::b64(password.as_bytes())));
    let plain = format!("\0{}\0{password}", smtp_test_support::server::USER);
    assert!(!all.contains(&common::b64(plain.as_bytes())));

    // Without the CA, the handshake fails: exit 69, one line.
    let server = Server::start(TlsSpec {
        implicit_tls: true,
        ..TlsSpec::default()
    });
    let url = format!("smtps://127.0.0.1:{}", server.port());
    let run = send(
        dir.path(),
        &[
            "--server",
            &url,
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--timeout",
            "10",
        ],
        &[],
    );
    drop(server);
    assert_eq!(run.code, Some(69), "{}", run.all());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("TLS handshake failed"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_errors_exit_64_with_a_hint() {
    let dir = TempDir::new("usage");
    for args in [
        &["--bogus"][..],
        &["--server", "smtp://127.0.0.1:25", "--to", "b@example.org"],
        &["--count", "0"],
        &["--to", "not an address"],
        &["--user", USER],
    ] {
        let run = send(dir.path(), args, &[]);
        assert_eq!(run.code, Some(64), "{args:?}: {}", run.all());
        assert!(run.stderr.starts_with("send: "), "{}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    let help = send(dir.path(), &["--help"], &[]);
    assert_eq!(help.code, Some(0));
    assert!(help.stdout.contains("--allow-plaintext-auth"));
    assert!(outbox(dir.path()).is_empty());
}

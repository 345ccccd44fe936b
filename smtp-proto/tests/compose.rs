//! Message composition: golden files for fixed inputs, a parse-back with a
//! real MIME parser (mail-parser), and property tests.
//!
//! Set `SMTP_PROTO_BLESS=1` to rewrite the golden files after an intended
//! change of output, then review the diff.
#![cfg(feature = "compose")]

use mail_parser::{HeaderForm, MessageParser, MimeHeaders, PartType};
use proptest::prelude::*;
use smtp_proto::message::{
    Attachment, ComposeError, Field, HeaderField, Mailbox, Message, MessageBuilder,
};
use smtp_proto::{Address, BodyType};

const NOW: i64 = 1_700_000_000; // Tue, 14 Nov 2023 22:13:20 UTC
const ENTROPY: [u8; 16] = *b"0123456789abcdef";

fn addr(s: &str) -> Address {
    Address::new(s).unwrap()
}

fn named(name: &str, a: &str) -> Mailbox {
    Mailbox::new(name, addr(a))
}

fn golden(name: &str, message: &Message) {
    let path = format!("{}/tests/golden/{name}.eml", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("SMTP_PROTO_BLESS").is_some() {
        std::fs::write(&path, message.as_bytes()).unwrap();
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        expected == message.as_bytes(),
        "{name} differs from {path}:\n{}",
        String::from_utf8_lossy(message.as_bytes())
    );
}

/// Structural rules every composed message keeps.
fn check_shape(bytes: &[u8]) {
    // CRLF everywhere: no bare CR or LF.
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert_eq!(bytes.get(i.wrapping_sub(1)), Some(&b'\r'), "bare LF at {i}");
        }
        if b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
    }
    assert!(bytes.ends_with(b"\r\n") || !bytes.contains(&b'\n'));
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    for line in head.split("\r\n") {
        assert!(line.len() <= 998, "header line of {} octets", line.len());
        assert!(line.len() <= 78, "header line over 78: {line:?}");
        if line.contains("=?") {
            assert!(line.len() <= 76, "encoded-word line over 76: {line:?}");
        }
    }
    assert!(body.is_ascii(), "the body is always 7-bit");
    // Part headers fold at 78 like message headers; content lines (7bit,
    // quoted-printable, base64) stay within 76.
    let mut in_part_header = false;
    for line in body.split("\r\n") {
        if line.starts_with("--=_") {
            in_part_header = !line.ends_with("--");
        } else if in_part_header {
            in_part_header = !line.is_empty();
            assert!(line.len() <= 78, "part header line over 78: {line:?}");
        } else {
            assert!(line.len() <= 76, "body line over 76: {line:?}");
        }
    }
    for name in ["Date:", "Message-ID:", "MIME-Version: 1.0", "From:"] {
        assert!(head.lines().any(|l| l.starts_with(name)), "{name} missing");
    }
    assert!(!head.to_ascii_lowercase().contains("\nbcc:"));
    // Encoded-words are at most 75 characters.
    for word in head.split(|c: char| c.is_ascii_whitespace()) {
        if word.starts_with("=?") {
            assert!(word.trim_end_matches(',').len() <= 75, "{word}");
        }
    }
    // A multipart has no Content-Transfer-Encoding of its own.
    if head.contains("multipart/") {
        assert!(!head.contains("Content-Transfer-Encoding"));
    }
}

fn plain() -> MessageBuilder {
    MessageBuilder::new(named("Alice Example", "alice@example.org"))
        .to(named("Bob", "bob@example.net"))
        .subject("Lunch tomorrow")
        .text("Hi Bob,\n\nLunch at noon?\n\n-- \nAlice\n")
        .date(NOW, 60)
}

fn utf8() -> MessageBuilder {
    MessageBuilder::new(named("Jürgen Müller", "juergen@example.org"))
        .to(named("José Álvarez", "jose@example.com"))
        .cc(named("Smith, John", "john@example.com"))
        .cc(addr("plain@example.com"))
        .bcc(addr("secret@example.com"))
        .reply_to(named("Büro", "buero@example.org"))
        .subject("Grüße aus Köln – ein etwas längerer Betreff, der gefaltet werden muss ✓")
        .text(
            "Hallo José,\n\nschöne Grüße! Dieser Absatz ist absichtlich so lang, dass er in \
             quoted-printable umbrochen werden muss, und er enthält = und Umlaute: äöüß.\n\n\
             日本語のテキストも。\n",
        )
        .date(NOW, -300)
}

fn html() -> MessageBuilder {
    plain()
        .subject("Newsletter")
        .text("Hello!\nThis is the text version.\n")
        .html("<html><body><p>Hello!</p><p>This is the <b>HTML</b> version – with a dash.</p></body></html>\n")
}

/// Bytes that cannot be 7bit: every byte value, twice.
fn binary_blob() -> Vec<u8> {
    (0..=255u8).chain((0..=255u8).rev()).collect()
}

fn attachments() -> MessageBuilder {
    plain()
        .subject("Two files")
        .text("Two files attached.\n")
        .html("<p>Two files attached.</p>")
        .attachment(Attachment::new(
            "notes.txt",
            "text/plain",
            "first line\r\nsecond line\r\n",
        ))
        .attachment(Attachment::new(
            "Übersicht 2023.bin",
            "application/octet-stream",
            binary_blob(),
        ))
}

/// A value long enough to be folded several times.
const LONG_VALUE: &str = "This header value is long enough that it has to be folded \
    over several lines of at most seventy-eight columns, and it must come back unfolded \
    as one line with every word in its place";

/// Bytes standing for an image: a PNG signature and binary.
fn logo_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..200u8).map(|b| b.wrapping_mul(37)));
    png
}

/// A reply with fields of its own and an inline logo, plus an attachment.
fn reply() -> MessageBuilder {
    attachments()
        .subject("Re: Two files")
        .in_reply_to("<parent.1@example.net>")
        .references("root.0@example.net")
        .references("<parent.1@example.net>")
        .header(HeaderField::new("X-Mailer", "smtp-proto").unwrap())
        .header(HeaderField::new("X-Long", LONG_VALUE).unwrap())
        .header(HeaderField::new("X-Greeting", "Grüße aus Köln, Zoë ✓").unwrap())
        .html("<p>Our logo: <img src=\"cid:logo.png\" alt=\"logo\"></p>\n")
        .inline(
            "logo.png",
            Attachment::new("logo.png", "image/png", logo_png()),
        )
}

#[test]
fn golden_plain_text() {
    let m = plain().build(ENTROPY).unwrap();
    check_shape(m.as_bytes());
    golden("plain", &m);
}

#[test]
fn golden_utf8() {
    let m = utf8().build(ENTROPY).unwrap();
    check_shape(m.as_bytes());
    golden("utf8", &m);
}

#[test]
fn golden_html_alternative() {
    let m = html().build(ENTROPY).unwrap();
    check_shape(m.as_bytes());
    golden("html", &m);
}

#[test]
fn golden_attachments() {
    let m = attachments().build(ENTROPY).unwrap();
    check_shape(m.as_bytes());
    golden("attachments", &m);
}

#[test]
fn golden_reply_with_inline_image() {
    let m = reply().build(ENTROPY).unwrap();
    check_shape(m.as_bytes());
    golden("reply", &m);
}

fn parse(m: &Message) -> mail_parser::Message<'_> {
    MessageParser::default()
        .parse(m.as_bytes())
        .expect("mail-parser parses it")
}

#[test]
fn parse_back_plain() {
    let m = plain().build(ENTROPY).unwrap();
    let p = parse(&m);
    assert_eq!(p.subject(), Some("Lunch tomorrow"));
    let from = p.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Alice Example"));
    assert_eq!(from.address(), Some("alice@example.org"));
    let to = p.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("Bob"));
    assert_eq!(to.address(), Some("bob@example.net"));
    assert_eq!(p.date().unwrap().to_timestamp(), NOW);
    assert_eq!(p.message_id(), Some(m.message_id()));
    assert_eq!(
        p.body_text(0).unwrap(),
        "Hi Bob,\r\n\r\nLunch at noon?\r\n\r\n-- \r\nAlice\r\n"
    );
    assert_eq!(p.attachment_count(), 0);
    let env = m.envelope();
    assert_eq!(env.from, addr("alice@example.org"));
    assert_eq!(env.body_type, BodyType::SevenBit);
    assert!(!m.needs_smtputf8());
}

#[test]
fn parse_back_utf8() {
    let m = utf8().build(ENTROPY).unwrap();
    let p = parse(&m);
    assert_eq!(
        p.subject(),
        Some("Grüße aus Köln – ein etwas längerer Betreff, der gefaltet werden muss ✓")
    );
    let from = p.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Jürgen Müller"));
    assert_eq!(from.address(), Some("juergen@example.org"));
    let to = p.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("José Álvarez"));
    let cc: Vec<_> = p
        .cc()
        .unwrap()
        .iter()
        .map(|a| (a.name().map(str::to_owned), a.address().unwrap().to_owned()))
        .collect();
    assert_eq!(
        cc,
        [
            (
                Some("Smith, John".to_owned()),
                "john@example.com".to_owned()
            ),
            (None, "plain@example.com".to_owned()),
        ]
    );
    let reply_to = p.reply_to().unwrap().first().unwrap();
    assert_eq!(reply_to.name(), Some("Büro"));
    assert!(p.bcc().is_none());
    assert_eq!(p.date().unwrap().to_timestamp(), NOW);
    assert_eq!(
        p.body_text(0).unwrap(),
        "Hallo José,\r\n\r\nschöne Grüße! Dieser Absatz ist absichtlich so lang, dass er in \
         quoted-printable umbrochen werden muss, und er enthält = und Umlaute: äöüß.\r\n\r\n\
         日本語のテキストも。\r\n"
    );
    let recipients: Vec<_> = m
        .envelope()
        .recipients
        .iter()
        .map(|r| r.address.clone())
        .collect();
    assert_eq!(
        recipients,
        [
            addr("jose@example.com"),
            addr("john@example.com"),
            addr("plain@example.com"),
            addr("secret@example.com"),
        ]
    );
    assert!(!String::from_utf8_lossy(m.as_bytes()).contains("secret"));
}

#[test]
fn parse_back_html() {
    let m = html().build(ENTROPY).unwrap();
    let p = parse(&m);
    let root = p.root_part();
    let ct = root.content_type().unwrap();
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("multipart", Some("alternative"))
    );
    assert_eq!(p.text_body_count(), 1);
    assert_eq!(p.html_body_count(), 1);
    assert_eq!(
        p.body_text(0).unwrap(),
        "Hello!\r\nThis is the text version.\r\n"
    );
    assert_eq!(
        p.body_html(0).unwrap(),
        "<html><body><p>Hello!</p><p>This is the <b>HTML</b> version – with a dash.</p></body></html>\r\n"
    );
    assert_eq!(p.attachment_count(), 0);
}

#[test]
fn parse_back_attachments() {
    let m = attachments().build(ENTROPY).unwrap();
    let p = parse(&m);
    let ct = p.root_part().content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("mixed")));
    assert_eq!(p.body_text(0).unwrap(), "Two files attached.\r\n");
    assert_eq!(p.body_html(0).unwrap(), "<p>Two files attached.</p>\r\n");
    assert_eq!(p.attachment_count(), 2);
    let notes = p.attachment(0).unwrap();
    assert_eq!(notes.attachment_name(), Some("notes.txt"));
    assert_eq!(notes.content_type().unwrap().ctype(), "text");
    assert_eq!(notes.contents(), b"first line\r\nsecond line\r\n");
    assert_eq!(notes.content_transfer_encoding(), Some("7bit"));
    let blob = p.attachment(1).unwrap();
    assert_eq!(blob.attachment_name(), Some("Übersicht 2023.bin"));
    let ct = blob.content_type().unwrap();
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("application", Some("octet-stream"))
    );
    assert_eq!(blob.content_transfer_encoding(), Some("base64"));
    assert!(matches!(blob.body, PartType::Binary(_)));
    assert_eq!(blob.contents(), binary_blob().as_slice());
}

/// The one value of the header `name`, decoded as unstructured text.
fn text_header(p: &mail_parser::Message<'_>, name: &str) -> String {
    let values = p.header_as(name.to_owned(), HeaderForm::Text);
    assert_eq!(values.len(), 1, "{name}: {values:?}");
    values[0].as_text().unwrap_or_default().to_owned()
}

#[test]
fn parse_back_own_header_fields() {
    let m = reply().build(ENTROPY).unwrap();
    let text = String::from_utf8(m.as_bytes().to_vec()).unwrap();
    assert!(
        text.contains("\r\nX-Long: This header value"),
        "the long value is folded, not encoded"
    );
    let p = parse(&m);
    assert_eq!(text_header(&p, "X-Mailer"), "smtp-proto");
    assert_eq!(text_header(&p, "X-Long"), LONG_VALUE);
    assert_eq!(text_header(&p, "X-Greeting"), "Grüße aus Köln, Zoë ✓");
}

#[test]
fn parse_back_in_reply_to_and_references() {
    let m = reply().build(ENTROPY).unwrap();
    let p = parse(&m);
    assert_eq!(p.in_reply_to().as_text(), Some("parent.1@example.net"));
    let references: Vec<&str> = p
        .references()
        .as_text_list()
        .unwrap()
        .iter()
        .map(|r| r.as_ref())
        .collect();
    assert_eq!(references, ["root.0@example.net", "parent.1@example.net"]);
    assert_eq!(p.message_id(), Some(m.message_id()));
}

/// The content type of a part as `type/subtype`.
fn mime_type(part: &mail_parser::MessagePart<'_>) -> String {
    let ct = part.content_type().unwrap();
    format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default())
}

#[test]
fn parse_back_inline_image_in_multipart_related() {
    let m = reply().build(ENTROPY).unwrap();
    let p = parse(&m);
    let part = |id: u32| &p.parts[id as usize];
    let children = |id: u32| part(id).sub_parts().unwrap().to_vec();
    // mixed(alternative(text, related(html, logo)), notes, blob)
    let root = p.root_part();
    assert_eq!(mime_type(root), "multipart/mixed");
    let top = root.sub_parts().unwrap().to_vec();
    assert_eq!(top.len(), 3);
    assert_eq!(mime_type(part(top[0])), "multipart/alternative");
    let alternative = children(top[0]);
    assert_eq!(alternative.len(), 2);
    assert_eq!(mime_type(part(alternative[0])), "text/plain");
    let related_part = part(alternative[1]);
    assert_eq!(mime_type(related_part), "multipart/related");
    assert_eq!(
        related_part.content_type().unwrap().attribute("type"),
        Some("text/html")
    );
    let related = children(alternative[1]);
    assert_eq!(related.len(), 2);
    let html = part(related[0]);
    assert_eq!(mime_type(html), "text/html");
    assert!(
        html.text_contents()
            .unwrap()
            .contains("src=\"cid:logo.png\"")
    );
    let logo = part(related[1]);
    assert_eq!(mime_type(logo), "image/png");
    assert_eq!(logo.content_id(), Some("logo.png"));
    assert!(logo.content_disposition().unwrap().is_inline());
    assert_eq!(logo.attachment_name(), Some("logo.png"));
    assert_eq!(logo.contents(), logo_png().as_slice());
    // The HTML body is the related one, and the attachments are still there.
    assert_eq!(
        p.body_html(0).unwrap(),
        "<p>Our logo: <img src=\"cid:logo.png\" alt=\"logo\"></p>\r\n"
    );
    assert_eq!(mime_type(part(top[1])), "text/plain");
    assert_eq!(part(top[2]).contents(), binary_blob().as_slice());
}

#[test]
fn utf8_addresses_need_smtputf8() {
    let m = MessageBuilder::new(named("Zhang", "用户@例子.中国"))
        .to(addr("bob@example.net"))
        .text("hi")
        .date(NOW, 0)
        .build(ENTROPY)
        .unwrap();
    assert!(m.needs_smtputf8());
    assert_eq!(m.envelope().body_type, BodyType::EightBitMime);
    let text = String::from_utf8(m.as_bytes().to_vec()).unwrap();
    assert!(text.contains("From: Zhang <用户@例子.中国>\r\n"));
    let p = parse(&m);
    assert_eq!(
        p.from().unwrap().first().unwrap().address(),
        Some("用户@例子.中国")
    );
}

#[test]
fn header_injection_refused() {
    let err = plain()
        .subject("x\r\nBcc: victim@example.com")
        .build(ENTROPY)
        .unwrap_err();
    assert_eq!(
        err,
        ComposeError::ForbiddenCharacter {
            field: Field::Subject,
            ch: '\r'
        }
    );
    let err = plain()
        .to(named("Eve\nBcc: victim@example.com", "eve@example.com"))
        .build(ENTROPY)
        .unwrap_err();
    assert_eq!(
        err,
        ComposeError::ForbiddenCharacter {
            field: Field::DisplayName,
            ch: '\n'
        }
    );
    let err = attachments()
        .attachment(Attachment::new("a\r\n.pdf", "application/pdf", [1]))
        .build(ENTROPY)
        .unwrap_err();
    assert!(matches!(
        err,
        ComposeError::ForbiddenCharacter {
            field: Field::Filename,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "attachment file name contains the control character '\\r'"
    );
}

#[test]
fn boundary_in_content_is_avoided() {
    // Put the boundary the fixed entropy would give first into a 7bit part.
    let first = attachments().build(ENTROPY).unwrap();
    let text = String::from_utf8(first.as_bytes().to_vec()).unwrap();
    let start = text.find("boundary=\"").unwrap() + 10;
    let boundary = &text[start..start + 26];
    let m = attachments()
        .text(format!("line\n--{boundary}\nmore\n"))
        .attachment(Attachment::new(
            "b.txt",
            "text/plain",
            format!("--{boundary}--"),
        ))
        .build(ENTROPY)
        .unwrap();
    check_shape(m.as_bytes());
    let p = parse(&m);
    assert_eq!(
        p.body_text(0).unwrap(),
        format!("line\r\n--{boundary}\r\nmore\r\n")
    );
    assert_eq!(p.attachment_count(), 3);
    assert_eq!(
        p.attachment(2).unwrap().contents(),
        format!("--{boundary}--").as_bytes()
    );
}

/// What the text becomes: CRLF line ends and a final CRLF.
fn normalized(text: &str) -> String {
    let mut s = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n");
    if !s.is_empty() && !s.ends_with("\r\n") {
        s.push_str("\r\n");
    }
    s
}

/// Header text without control characters (TAB excepted).
fn header_text() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{0,120}|[ -~]{0,120}|[a-zA-Z ]{1,200}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn text_round_trips(text in "(?s).{0,400}|[ -~\\r\\n]{0,400}") {
        let m = MessageBuilder::new(addr("a@example.org"))
            .to(addr("b@example.org"))
            .text(text.clone())
            .date(NOW, 0)
            .build(ENTROPY)
            .unwrap();
        check_shape(m.as_bytes());
        let p = parse(&m);
        prop_assert_eq!(p.body_text(0).unwrap_or_default(), normalized(&text));
    }

    #[test]
    fn attachment_bytes_round_trip(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        ascii in "[ -~\\r\\n]{0,300}",
        name in "[^\\p{Cc}/]{1,80}",
        entropy in any::<[u8; 16]>(),
    ) {
        let m = MessageBuilder::new(addr("a@example.org"))
            .to(addr("b@example.org"))
            .text("see attached")
            .attachment(Attachment::new(name.clone(), "application/octet-stream", data.clone()))
            .attachment(Attachment::new("t.txt", "application/x-test", ascii.clone()))
            .date(NOW, 0)
            .build(entropy)
            .unwrap();
        check_shape(m.as_bytes());
        let p = parse(&m);
        prop_assert_eq!(p.attachment_count(), 2);
        let a = p.attachment(0).unwrap();
        prop_assert_eq!(a.contents(), data.as_slice());
        prop_assert_eq!(a.attachment_name(), Some(name.as_str()));
        prop_assert_eq!(p.attachment(1).unwrap().contents(), ascii.as_bytes());
    }

    #[test]
    fn inline_bytes_round_trip(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        html in "[ -~\\r\\n]{0,300}",
        entropy in any::<[u8; 16]>(),
    ) {
        let m = MessageBuilder::new(addr("a@example.org"))
            .to(addr("b@example.org"))
            .text("text")
            .html(html.clone())
            .inline("img1@example.org", Attachment::new("i.bin", "image/x-test", data.clone()))
            .date(NOW, 0)
            .build(entropy)
            .unwrap();
        check_shape(m.as_bytes());
        let p = parse(&m);
        let found: Vec<_> = p
            .parts
            .iter()
            .filter(|part| part.content_id() == Some("img1@example.org"))
            .collect();
        prop_assert_eq!(found.len(), 1);
        prop_assert_eq!(found[0].contents(), data.as_slice());
        prop_assert_eq!(p.body_html(0).unwrap_or_default(), normalized(&html));
    }

    #[test]
    fn header_text_round_trips(subject in header_text(), name in header_text()) {
        let m = MessageBuilder::new(named(&name, "a@example.org"))
            .to(addr("b@example.org"))
            .subject(subject.clone())
            .date(NOW, 0)
            .build(ENTROPY)
            .unwrap();
        check_shape(m.as_bytes());
        let p = parse(&m);
        prop_assert_eq!(p.subject().unwrap_or_default(), subject);
        let from = p.from().unwrap().first().unwrap();
        prop_assert_eq!(from.address(), Some("a@example.org"));
        prop_assert_eq!(from.name().unwrap_or_default(), name);
    }

    #[test]
    fn control_characters_never_pass(prefix in "[a-z]{0,5}", c in "\\p{Cc}", suffix in "[a-z]{0,5}") {
        let bad = format!("{prefix}{c}{suffix}");
        prop_assume!(bad.chars().all(|c| c != '\t'));
        let base = MessageBuilder::new(addr("a@example.org")).to(addr("b@example.org")).date(NOW, 0);
        let subject = base.clone().subject(bad.clone()).build(ENTROPY);
        let is_forbidden = matches!(subject, Err(ComposeError::ForbiddenCharacter { .. }));
        prop_assert!(is_forbidden);
        let name = base.clone().cc(named(&bad, "c@example.org")).build(ENTROPY);
        let is_forbidden = matches!(name, Err(ComposeError::ForbiddenCharacter { .. }));
        prop_assert!(is_forbidden);
        let file = base.attachment(Attachment::new(bad, "text/plain", "x")).build(ENTROPY);
        let is_forbidden = matches!(file, Err(ComposeError::ForbiddenCharacter { .. }));
        prop_assert!(is_forbidden);
    }
}

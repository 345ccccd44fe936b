//! The message builder: collects the parts of a message and composes the
//! RFC 5322 text.

use super::attachment::Attachment;
use super::composed::Message;
use super::date;
use super::error::{ComposeError, Field};
use super::field::HeaderField;
use super::header::{self, HARD_LIMIT, HeaderWriter};
use super::ids;
use super::mailbox::Mailbox;
use super::mime::{self, BoundaryRng, Kind, Part};
use crate::address::Address;
use crate::envelope::{BodyType, Envelope};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// Builds a MIME message (RFC 5322, 2045-2049) and its envelope.
///
/// Setters never fail; every value is checked by [`build`](Self::build),
/// which returns the first problem as a [`ComposeError`]. The builder has no
/// clock and no random source: the date is given with [`date`](Self::date)
/// and 16 bytes of entropy to [`build`](Self::build) (they make the
/// Message-ID and the MIME boundaries), so the same inputs always give the
/// same bytes. With the `std` feature, `build_now` reads the clock and makes
/// the entropy itself.
///
/// ```
/// use smtp_proto::Address;
/// use smtp_proto::message::{Attachment, Mailbox, MessageBuilder};
///
/// let alice = Address::new("alice@example.org").unwrap();
/// let bob = Address::new("bob@example.org").unwrap();
/// let message = MessageBuilder::new(Mailbox::new("Alice", alice))
///     .to(bob)
///     .subject("Grüße")
///     .text("Hello Bob!")
///     .attachment(Attachment::new("data.bin", "application/octet-stream", [0u8, 1, 2]))
///     .date(1_700_000_000, 60)
///     .build([42; 16])
///     .unwrap();
/// let text = core::str::from_utf8(message.as_bytes()).unwrap();
/// assert!(text.starts_with("Date: Tue, 14 Nov 2023 23:13:20 +0100\r\n"));
/// assert!(text.contains("Subject: =?utf-8?B?R3LDvMOfZQ==?=\r\n"));
/// assert_eq!(message.envelope().recipients.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    from: Mailbox,
    envelope_from: Option<Address>,
    reply_to: Vec<Mailbox>,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    bcc: Vec<Address>,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<Attachment>,
    /// Inline parts with their Content-IDs, as given.
    inline: Vec<(String, Attachment)>,
    date: Option<(i64, i16)>,
    message_id: Option<String>,
    in_reply_to: Vec<String>,
    references: Vec<String>,
    headers: Vec<HeaderField>,
}

impl MessageBuilder {
    /// A message from `from` (an [`Address`] or a [`Mailbox`] with a name).
    pub fn new(from: impl Into<Mailbox>) -> Self {
        MessageBuilder {
            from: from.into(),
            envelope_from: None,
            reply_to: Vec::new(),
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            subject: None,
            text: None,
            html: None,
            attachments: Vec::new(),
            inline: Vec::new(),
            date: None,
            message_id: None,
            in_reply_to: Vec::new(),
            references: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Adds a `To` recipient.
    pub fn to(mut self, mailbox: impl Into<Mailbox>) -> Self {
        self.to.push(mailbox.into());
        self
    }

    /// Adds a `Cc` recipient.
    pub fn cc(mut self, mailbox: impl Into<Mailbox>) -> Self {
        self.cc.push(mailbox.into());
        self
    }

    /// Adds a blind recipient: in the envelope only, never in a header.
    pub fn bcc(mut self, address: Address) -> Self {
        self.bcc.push(address);
        self
    }

    /// Adds a `Reply-To` mailbox.
    pub fn reply_to(mut self, mailbox: impl Into<Mailbox>) -> Self {
        self.reply_to.push(mailbox.into());
        self
    }

    /// Sets the envelope sender (MAIL FROM), when it is not the `From`
    /// address (a bounce address, say). It never appears in a header.
    pub fn envelope_from(mut self, address: Address) -> Self {
        self.envelope_from = Some(address);
        self
    }

    /// Sets the subject. UTF-8 is sent as RFC 2047 encoded-words; CR, LF
    /// and other control characters but TAB are refused by
    /// [`build`](Self::build).
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the plain-text body. Its line ends become CRLF, and it ends with
    /// one.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Sets the HTML body: with a text body it goes in a
    /// `multipart/alternative` after it.
    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }

    /// Adds an attachment (the message becomes `multipart/mixed`).
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// Adds an inline part (an image, say) that the HTML body shows where
    /// it refers to `cid:` and `content_id`, as in
    /// `<img src="cid:logo.png">`. The HTML and its inline parts go in a
    /// `multipart/related`, inside the `multipart/alternative` when there
    /// is a text body too.
    ///
    /// [`build`](Self::build) checks that the Content-ID (angle brackets
    /// optional) is ASCII letters, digits, `-._~+=` and one `@` inside,
    /// that no two are the same ignoring case, and that there is an HTML
    /// body.
    pub fn inline(mut self, content_id: impl Into<String>, part: Attachment) -> Self {
        self.inline.push((content_id.into(), part));
        self
    }

    /// Sets the `Date`: `unix_seconds` since 1970-01-01 UTC, shown in the
    /// time zone `tz_offset_minutes` east of UTC (`60` for +0100).
    pub fn date(mut self, unix_seconds: i64, tz_offset_minutes: i16) -> Self {
        self.date = Some((unix_seconds, tz_offset_minutes));
        self
    }

    /// Sets the `Message-ID` (`left@right`, angle brackets optional)
    /// instead of making one from the entropy given to
    /// [`build`](Self::build).
    pub fn message_id(mut self, id: impl Into<String>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// Adds a message id to `In-Reply-To`: the Message-ID of the message
    /// this one answers (RFC 5322 section 3.6.4). Checked like
    /// [`message_id`](Self::message_id) by [`build`](Self::build).
    pub fn in_reply_to(mut self, id: impl Into<String>) -> Self {
        self.in_reply_to.push(id.into());
        self
    }

    /// Adds a message id to `References`, in order: for a reply, the
    /// parent's References and then its Message-ID. Checked like
    /// [`message_id`](Self::message_id) by [`build`](Self::build).
    pub fn references(mut self, id: impl Into<String>) -> Self {
        self.references.push(id.into());
        self
    }

    /// Adds a header field of the caller's own (already checked by
    /// [`HeaderField::new`]), after the builder's fields and before the
    /// MIME ones. Fields of the same name are all kept, in order.
    pub fn header(mut self, field: HeaderField) -> Self {
        self.headers.push(field);
        self
    }

    /// The envelope recipients: the To, Cc and Bcc addresses in that order,
    /// each once.
    pub fn envelope_recipients(&self) -> Vec<Address> {
        let mut out: Vec<Address> = Vec::new();
        let all = self.to.iter().chain(&self.cc).map(Mailbox::address);
        for a in all.chain(&self.bcc) {
            if !out.contains(a) {
                out.push(a.clone());
            }
        }
        out
    }

    /// The envelope to send the message with: the envelope sender (or the
    /// From address), [`envelope_recipients`](Self::envelope_recipients),
    /// and `BODY=8BITMIME` with SMTPUTF8 when a header will hold a UTF-8
    /// address (the body itself is always 7-bit). The size is known only after
    /// [`build`](Self::build), whose [`Message::envelope`] has it too.
    pub fn envelope(&self) -> Envelope {
        let from = self
            .envelope_from
            .clone()
            .unwrap_or_else(|| self.from.address().clone());
        let mut envelope = Envelope::new(from, self.envelope_recipients());
        let mut in_headers = core::iter::once(&self.from)
            .chain(&self.reply_to)
            .chain(&self.to)
            .chain(&self.cc);
        if in_headers.any(|m| m.address().needs_smtputf8()) {
            envelope.body_type = BodyType::EightBitMime;
            envelope.smtputf8 = true;
        }
        envelope
    }

    /// Composes the message. `entropy` must be fresh for every message: it
    /// makes the Message-ID (unless one was set) and the MIME boundaries.
    pub fn build(&self, entropy: [u8; 16]) -> Result<Message, ComposeError> {
        let (unix, offset) = self.date.ok_or(ComposeError::MissingDate)?;
        let mut envelope = self.envelope();
        if envelope.recipients.is_empty() {
            return Err(ComposeError::NoRecipients);
        }
        let message_id = match &self.message_id {
            Some(id) => ids::checked_message_id(id)?,
            None => self.default_message_id(unix, &entropy),
        };
        let checked_all = |list: &[String]| -> Result<Vec<String>, ComposeError> {
            list.iter().map(|id| ids::checked_message_id(id)).collect()
        };
        let in_reply_to = checked_all(&self.in_reply_to)?;
        let references = checked_all(&self.references)?;

        let mut out = Vec::new();
        let mut w = HeaderWriter::new(&mut out, "Date");
        w.token(&date::format(unix, offset)?);
        w.finish();
        mailbox_list(&mut out, "From", core::slice::from_ref(&self.from))?;
        mailbox_list(&mut out, "Reply-To", &self.reply_to)?;
        mailbox_list(&mut out, "To", &self.to)?;
        mailbox_list(&mut out, "Cc", &self.cc)?;
        if let Some(subject) = &self.subject {
            unstructured_field(&mut out, "Subject", subject, Field::Subject)?;
        }
        ids::write_ids(&mut out, "Message-ID", [message_id.as_str()]);
        ids::write_ids(
            &mut out,
            "In-Reply-To",
            in_reply_to.iter().map(String::as_str),
        );
        ids::write_ids(
            &mut out,
            "References",
            references.iter().map(String::as_str),
        );
        for field in &self.headers {
            unstructured_field(&mut out, field.name(), field.value(), Field::HeaderValue)?;
        }
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");

        let root = mime::render(self.body()?, &mut BoundaryRng::new(entropy))?;
        out.extend_from_slice(&root.headers);
        if out.split(|&b| b == b'\n').any(|l| l.len() > HARD_LIMIT + 1) {
            return Err(ComposeError::LineTooLong);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&root.body);

        envelope.size = u64::try_from(out.len()).ok();
        envelope.body_type = BodyType::detect(&out);
        Ok(Message::new(out, envelope, message_id))
    }

    /// Composes the message dated now (UTC) unless a date was set, with
    /// entropy made from the process's random hash keys, the clock and a
    /// counter.
    #[cfg(feature = "std")]
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    pub fn build_now(&self) -> Result<Message, ComposeError> {
        let now = date::now_unix();
        let mut builder = self.clone();
        if builder.date.is_none() {
            builder.date = Some((now, 0));
        }
        builder.build(std_entropy())
    }

    /// The body: text, HTML (with its inline parts) or both as
    /// alternatives, and the attachments after it in a `multipart/mixed`.
    fn body(&self) -> Result<Part, ComposeError> {
        let html = self
            .html
            .as_deref()
            .map(|h| self.html_part(h))
            .transpose()?;
        if html.is_none() && !self.inline.is_empty() {
            return Err(ComposeError::InlineWithoutHtml);
        }
        let content = match (&self.text, html) {
            (Some(t), Some(h)) => Part::Multipart {
                kind: Kind::Alternative,
                parts: vec![mime::text("plain", t), h],
            },
            (None, Some(h)) => h,
            (Some(t), None) => mime::text("plain", t),
            (None, None) => mime::text("plain", ""),
        };
        if self.attachments.is_empty() {
            return Ok(content);
        }
        let mut parts = Vec::with_capacity(self.attachments.len() + 1);
        parts.push(content);
        for a in &self.attachments {
            parts.push(mime::attachment(a)?);
        }
        Ok(Part::Multipart {
            kind: Kind::Mixed,
            parts,
        })
    }

    /// The HTML part, or with inline parts a `multipart/related` of the
    /// HTML and then them (RFC 2387), each Content-ID checked and unique.
    fn html_part(&self, html: &str) -> Result<Part, ComposeError> {
        let html = mime::text("html", html);
        if self.inline.is_empty() {
            return Ok(html);
        }
        let mut parts = Vec::with_capacity(self.inline.len() + 1);
        parts.push(html);
        let mut seen: Vec<String> = Vec::with_capacity(self.inline.len());
        for (id, part) in &self.inline {
            let id = ids::checked_content_id(id)?;
            if seen.iter().any(|s| s.eq_ignore_ascii_case(&id)) {
                return Err(ComposeError::DuplicateContentId(id));
            }
            parts.push(mime::inline(part, &id)?);
            seen.push(id);
        }
        Ok(Part::Multipart {
            kind: Kind::Related,
            parts,
        })
    }

    /// `<hex of entropy>.<unix time>@<domain of From>` (or `@localhost`
    /// when that domain is not an ASCII dot-atom).
    fn default_message_id(&self, unix: i64, entropy: &[u8; 16]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = String::with_capacity(80);
        for &b in entropy {
            for n in [b >> 4, b & 15] {
                id.push(char::from(HEX.get(usize::from(n)).copied().unwrap_or(b'0')));
            }
        }
        let domain = self
            .from
            .address()
            .as_str()
            .rsplit_once('@')
            .map(|(_, d)| d)
            .filter(|d| header::ascii_dot_atom(d))
            .unwrap_or("localhost");
        id.push_str(&alloc::format!(".{unix}@{domain}"));
        id
    }
}

/// Writes `name: text` as unstructured text meant for `field`.
fn unstructured_field(
    out: &mut Vec<u8>,
    name: &str,
    text: &str,
    field: Field,
) -> Result<(), ComposeError> {
    let mut w = HeaderWriter::new(out, name);
    header::unstructured(&mut w, text, field)?;
    w.finish();
    Ok(())
}

/// Writes `name: a, b, ...` (nothing for an empty list).
fn mailbox_list(out: &mut Vec<u8>, name: &str, list: &[Mailbox]) -> Result<(), ComposeError> {
    if list.is_empty() {
        return Ok(());
    }
    let mut w = HeaderWriter::new(out, name);
    let n = list.len();
    for (i, m) in list.iter().enumerate() {
        let suffix = if i + 1 < n { "," } else { "" };
        header::mailbox(&mut w, m.name(), m.address(), suffix)?;
    }
    w.finish();
    Ok(())
}

/// 16 bytes for [`MessageBuilder::build_now`]: std has no random source, but
/// each `RandomState` is seeded from the OS once per thread and then
/// stepped, so hashing the clock and a process-wide counter with fresh ones
/// gives values unique to this message.
#[cfg(feature = "std")]
fn std_entropy() -> [u8; 16] {
    use core::hash::{BuildHasher, Hasher};
    use core::sync::atomic::{AtomicU64, Ordering};
    use std::collections::hash_map::RandomState;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut out = [0u8; 16];
    for (i, half) in out.chunks_mut(8).enumerate() {
        let mut h = RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u64(count);
        h.write_u128(nanos);
        for (d, s) in half.iter_mut().zip(h.finish().to_le_bytes()) {
            *d = s;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Address {
        Address::new(s).unwrap()
    }

    fn base() -> MessageBuilder {
        MessageBuilder::new(addr("a@example.org"))
            .to(addr("b@example.org"))
            .date(0, 0)
    }

    #[test]
    fn needs_date_and_recipient() {
        let b = MessageBuilder::new(addr("a@example.org")).to(addr("b@example.org"));
        assert_eq!(b.build([0; 16]).unwrap_err(), ComposeError::MissingDate);
        let b = MessageBuilder::new(addr("a@example.org")).date(0, 0);
        assert_eq!(b.build([0; 16]).unwrap_err(), ComposeError::NoRecipients);
        assert!(base().build([0; 16]).is_ok());
    }

    #[test]
    fn recipients_deduplicated_bcc_hidden() {
        let b = base()
            .cc(addr("c@example.org"))
            .cc(addr("b@example.org"))
            .bcc(addr("hidden@example.org"))
            .bcc(addr("c@example.org"));
        assert_eq!(
            b.envelope_recipients(),
            [
                addr("b@example.org"),
                addr("c@example.org"),
                addr("hidden@example.org")
            ]
        );
        let m = b.build([0; 16]).unwrap();
        let text = core::str::from_utf8(m.as_bytes()).unwrap();
        assert!(!text.contains("hidden"));
        assert!(!text.to_ascii_lowercase().contains("bcc"));
        assert_eq!(m.envelope().recipients.len(), 3);
    }

    #[test]
    fn message_ids() {
        let m = base().build([0xab; 16]).unwrap();
        assert_eq!(
            m.message_id(),
            "abababababababababababababababab.0@example.org"
        );
        let m = base().message_id("<x.y@z>").build([0; 16]).unwrap();
        assert_eq!(m.message_id(), "x.y@z");
        for bad in ["x", "x@", "@y", "a b@c", "a@b\r\nX: y", "<a@b", "a..b@c"] {
            assert_eq!(
                base().message_id(bad).build([0; 16]).unwrap_err(),
                ComposeError::InvalidMessageId(bad.into())
            );
        }
        let m = MessageBuilder::new(addr("a@例子.中国"))
            .to(addr("b@example.org"))
            .date(0, 0)
            .build([0; 16])
            .unwrap();
        assert!(m.message_id().ends_with("@localhost"));
    }

    #[test]
    fn envelope_and_smtputf8() {
        let m = base().build([0; 16]).unwrap();
        assert_eq!(m.envelope().body_type, BodyType::SevenBit);
        assert_eq!(m.envelope().size, Some(m.as_bytes().len() as u64));
        assert!(!m.needs_smtputf8());
        assert_eq!(base().envelope().body_type, BodyType::SevenBit);
        let b = base().to(addr("用户@例子.中国"));
        assert_eq!(b.envelope().body_type, BodyType::EightBitMime);
        assert_eq!(b.envelope().size, None);
        let m = b.build([0; 16]).unwrap();
        assert_eq!(m.envelope().body_type, BodyType::EightBitMime);
        assert!(m.needs_smtputf8());
        assert!(m.envelope().needs_smtputf8());
        // A UTF-8 Reply-To is not in the envelope, but the message needs SMTPUTF8.
        let b = base().reply_to(addr("用户@例子.中国"));
        assert_eq!(b.envelope().body_type, BodyType::EightBitMime);
        let m = b.build([0; 16]).unwrap();
        assert!(m.needs_smtputf8());
        assert!(
            m.envelope().needs_smtputf8(),
            "the envelope declares SMTPUTF8 for UTF-8 headers"
        );
        let m = base()
            .envelope_from(addr("bounce@example.org"))
            .build([0; 16])
            .unwrap();
        assert_eq!(m.envelope().from, addr("bounce@example.org"));
    }

    #[test]
    fn refuses_bad_input() {
        let err = base().subject("hi\r\nBcc: x@y").build([0; 16]).unwrap_err();
        assert!(matches!(
            err,
            ComposeError::ForbiddenCharacter { ch: '\r', .. }
        ));
        let err = base()
            .attachment(Attachment::new("a\nb", "text/plain", "x"))
            .build([0; 16])
            .unwrap_err();
        assert!(matches!(
            err,
            ComposeError::ForbiddenCharacter { ch: '\n', .. }
        ));
        let err = base()
            .attachment(Attachment::new("a", "text", "x"))
            .build([0; 16])
            .unwrap_err();
        assert_eq!(err, ComposeError::InvalidContentType("text".into()));
        let err = MessageBuilder::new(Address::null())
            .to(addr("b@example.org"))
            .date(0, 0)
            .build([0; 16])
            .unwrap_err();
        assert_eq!(err, ComposeError::InvalidAddress(Address::null()));
        let err = base().date(i64::MAX, 0).build([0; 16]).unwrap_err();
        assert_eq!(err, ComposeError::DateOutOfRange);
    }

    #[test]
    fn no_top_level_transfer_encoding_on_multipart() {
        let m = base()
            .text("é")
            .html("<b>é</b>")
            .attachment(Attachment::new("x", "application/octet-stream", [0xff]))
            .build([0; 16])
            .unwrap();
        let text = core::str::from_utf8(m.as_bytes()).unwrap();
        let (head, _) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("Content-Type: multipart/mixed;"));
        assert!(!head.contains("Content-Transfer-Encoding"));
    }

    #[test]
    fn html_only_and_nameless_attachment() {
        let m = base().html("<p>x</p>").build([0; 16]).unwrap();
        let text = core::str::from_utf8(m.as_bytes()).unwrap();
        assert!(text.contains("Content-Type: text/html; charset=utf-8\r\n"));
        assert!(!text.contains("multipart"));
        let m = base()
            .attachment(Attachment::new("", "application/pdf", "%PDF"))
            .build([0; 16])
            .unwrap();
        let text = core::str::from_utf8(m.as_bytes()).unwrap();
        assert!(
            text.contains("Content-Type: application/pdf\r\nContent-Disposition: attachment\r\n")
        );
        // No text given: an empty text/plain part comes first.
        assert!(text.contains("Content-Type: text/plain; charset=utf-8\r\n"));
    }

    #[test]
    fn longest_address_stays_within_998() {
        let local = "x".repeat(240);
        let long = addr(&alloc::format!("{local}@example.org"));
        let m = base()
            .to(Mailbox::new(
                "A Name That Is Rather Long Indeed",
                long.clone(),
            ))
            .cc(long)
            .build([0; 16])
            .unwrap();
        let text = core::str::from_utf8(m.as_bytes()).unwrap();
        assert!(text.split("\r\n").all(|l| l.len() <= HARD_LIMIT));
        assert!(text.contains(&alloc::format!("\r\n <{local}@example.org>")));
    }

    #[test]
    fn error_messages() {
        let e = ComposeError::ForbiddenCharacter {
            field: super::super::Field::Subject,
            ch: '\n',
        };
        assert_eq!(
            alloc::string::ToString::to_string(&e),
            "subject contains the control character '\\n'"
        );
        let e = ComposeError::InvalidAddress(Address::null());
        assert_eq!(
            alloc::string::ToString::to_string(&e),
            "address <> cannot be used in a header"
        );
    }

    fn field(name: &str, value: &str) -> HeaderField {
        HeaderField::new(name, value).unwrap()
    }

    fn text_of(b: MessageBuilder) -> String {
        String::from_utf8(b.build([0; 16]).unwrap().into_bytes()).unwrap()
    }

    #[test]
    fn own_header_fields_go_before_the_mime_fields() {
        let text = text_of(
            base()
                .header(field("X-Mailer", "smtp-proto"))
                .header(field("X-Tag", "a"))
                .header(field("x-tag", "b")),
        );
        assert!(
            text.contains(
                "\r\nX-Mailer: smtp-proto\r\nX-Tag: a\r\nx-tag: b\r\nMIME-Version: 1.0\r\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn own_header_values_are_folded_and_encoded() {
        let long = "word ".repeat(40);
        let text = text_of(
            base()
                .header(field("X-Long", long.trim_end()))
                .header(field("X-Name", "Zoë")),
        );
        let (head, _) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.split("\r\n").all(|l| l.len() <= 78), "{head}");
        let unfolded = head.replace("\r\n ", " ");
        assert!(unfolded.contains(&alloc::format!("X-Long: {}\r\n", long.trim_end())));
        assert!(head.contains("X-Name: =?utf-8?Q?Zo=C3=AB?=\r\n"), "{head}");
        // A name of the longest length: the value starts on the next line.
        let name = "N".repeat(super::super::field::MAX_NAME_LEN);
        let text = text_of(base().header(field(&name, "value")));
        assert!(
            text.contains(&alloc::format!("{name}:\r\n value\r\n")),
            "{text}"
        );
    }

    #[test]
    fn in_reply_to_and_references() {
        let text = text_of(
            base()
                .in_reply_to("<parent@example.org>")
                .references("root@example.org")
                .references("<parent@example.org>"),
        );
        assert!(
            text.contains(
                "\r\nIn-Reply-To: <parent@example.org>\r\n\
                 References: <root@example.org> <parent@example.org>\r\n"
            ),
            "{text}"
        );
        assert!(!text_of(base()).contains("In-Reply-To"));
        for bad in ["parent", "a b@c", "<a@b>\r\nBcc: x@y", "a@b>"] {
            let e = base().in_reply_to(bad).build([0; 16]).unwrap_err();
            assert_eq!(e, ComposeError::InvalidMessageId(bad.into()));
            let e = base().references(bad).build([0; 16]).unwrap_err();
            assert_eq!(e, ComposeError::InvalidMessageId(bad.into()));
        }
    }

    fn logo() -> Attachment {
        Attachment::new("logo.png", "image/png", [0x89u8, b'P', b'N', b'G'])
    }

    #[test]
    fn inline_parts_are_related_to_the_html() {
        let text = text_of(
            base()
                .text("see the logo")
                .html("<img src=\"cid:logo.png\">")
                .inline("<logo.png>", logo())
                .attachment(Attachment::new("a.pdf", "application/pdf", "%PDF")),
        );
        // The layout, in order: mixed(alternative(text, related(html, image)), pdf).
        let types: Vec<&str> = text
            .split("\r\n")
            .filter_map(|l| l.strip_prefix("Content-Type: "))
            .map(|t| t.split(';').next().unwrap_or(t))
            .collect();
        assert_eq!(
            types,
            [
                "multipart/mixed",
                "multipart/alternative",
                "text/plain",
                "multipart/related",
                "text/html",
                "image/png",
                "application/pdf"
            ]
        );
        assert!(text.contains("Content-Type: multipart/related; type=\"text/html\";"));
        assert!(text.contains(
            "Content-Type: image/png; name=\"logo.png\"\r\n\
             Content-Disposition: inline; filename=\"logo.png\"\r\n\
             Content-ID: <logo.png>\r\n\
             Content-Transfer-Encoding: base64\r\n"
        ));
        // HTML only: the related part is the whole body.
        let text = text_of(base().html("<img src=\"cid:a\">").inline("a", logo()));
        let (head, _) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("Content-Type: multipart/related;"), "{head}");
    }

    #[test]
    fn inline_parts_are_checked() {
        let html = || base().html("<img src=\"cid:logo.png\">");
        let e = base()
            .text("no html")
            .inline("logo.png", logo())
            .build([0; 16]);
        assert_eq!(e.unwrap_err(), ComposeError::InlineWithoutHtml);
        let e = html()
            .inline("logo.png", logo())
            .inline("<Logo.PNG>", logo())
            .build([0; 16]);
        assert_eq!(
            e.unwrap_err(),
            ComposeError::DuplicateContentId("Logo.PNG".into())
        );
        let e = html().inline("my logo.png", logo()).build([0; 16]);
        assert_eq!(
            e.unwrap_err(),
            ComposeError::InvalidContentId("my logo.png".into())
        );
        let e = html()
            .inline("x", Attachment::new("x", "image", [1]))
            .build([0; 16]);
        assert_eq!(
            e.unwrap_err(),
            ComposeError::InvalidContentType("image".into())
        );
        let e = html()
            .inline("x", Attachment::new("a\nb", "image/png", [1]))
            .build([0; 16]);
        assert!(matches!(
            e.unwrap_err(),
            ComposeError::ForbiddenCharacter {
                field: Field::Filename,
                ch: '\n'
            }
        ));
    }

    #[cfg(feature = "std")]
    #[test]
    fn build_now_differs() {
        let b = MessageBuilder::new(addr("a@example.org")).to(addr("b@example.org"));
        let x = b.build_now().unwrap();
        let y = b.build_now().unwrap();
        assert_ne!(x.message_id(), y.message_id());
    }
}

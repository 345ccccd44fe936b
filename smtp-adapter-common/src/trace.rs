//! Logging through `tracing` (the `tracing` feature; what it logs is in
//! the crate docs): what the session engine calls at a few points
//! (opened, each event it collects, messages queued, a body handed over,
//! a failure on this side). Without the feature, [`Trace`] is empty and
//! every call an inlined no-op.

#[cfg(not(feature = "tracing"))]
pub(crate) use off::Trace;
#[cfg(feature = "tracing")]
pub(crate) use on::Trace;

/// The target of every span and event.
#[cfg(feature = "tracing")]
pub(crate) const TARGET: &str = "smtp";

#[cfg(feature = "tracing")]
mod on {
    use super::TARGET;
    use crate::Error;
    use smtp_proto::{
        Client, Config, Direction, Event, Outcome, Stage, TransactionId, TranscriptLine,
    };
    use std::collections::VecDeque;
    use std::fmt::Display;
    use tracing::{Level, Span, field};

    /// How much of an in-memory body is searched for its Message-ID.
    const MESSAGE_ID_WITHIN: usize = 4 * 1024;

    /// One session's spans, and which message the dialogue is about.
    #[derive(Debug)]
    pub(crate) struct Trace {
        session: Span,
        /// Transcript lines go to tracing.
        forward: bool,
        /// The caller asked for transcript events.
        keep: bool,
        /// `tls` is recorded.
        tls: bool,
        /// The failure is logged.
        failed: bool,
        /// The spans of the messages queued whose outcome is not in yet.
        messages: VecDeque<(TransactionId, Span)>,
        /// The message of the client's last MAIL FROM.
        client_at: Option<TransactionId>,
        /// The message of the server's last reply to MAIL FROM.
        server_at: Option<TransactionId>,
        /// The server's last line was not the last of its reply.
        server_continues: bool,
    }

    impl Trace {
        /// A session to `host:port` (`port` 0: unknown) opens with
        /// `config`: its transcript is turned on if a subscriber wants it.
        pub(crate) fn open(host: &str, port: u16, config: &mut Config) -> Self {
            let port = (port != 0).then_some(port);
            let session =
                tracing::info_span!(target: TARGET, "smtp_session", host, port, tls = field::Empty);
            let forward = tracing::enabled!(target: TARGET, Level::DEBUG);
            let keep = config.transcript;
            config.transcript |= forward;
            Trace {
                session,
                forward,
                keep,
                tls: false,
                failed: false,
                messages: VecDeque::new(),
                client_at: None,
                server_at: None,
                server_continues: false,
            }
        }

        /// An event the engine collected from `client`; false when the
        /// caller should not see it (a transcript line only tracing wanted).
        pub(crate) fn event(&mut self, event: &Event, client: &Client) -> bool {
            if !self.tls && client.is_encrypted() {
                self.tls = true;
                self.session.record("tls", true);
            }
            match event {
                Event::Transcript(line) => {
                    if self.forward {
                        self.line(line);
                    }
                    return self.keep;
                }
                Event::Outcome(outcome) => self.outcome(outcome),
                Event::Closed(Err(e)) => self.fail(e),
                Event::Closed(Ok(())) => {
                    tracing::debug!(target: TARGET, parent: &self.session, "session closed");
                }
                _ => {}
            }
            true
        }

        /// Messages `first`, `first + 1`, ... (`count` of them) are queued.
        pub(crate) fn queued(&mut self, first: u64, count: usize) {
            for id in (first..).take(count) {
                let span = tracing::info_span!(target: TARGET, parent: &self.session,
                    "smtp_message", id, message_id = field::Empty);
                if !span.is_disabled() {
                    self.messages.push_back((TransactionId(id), span));
                }
            }
        }

        /// Message `id`'s body, whole, is handed to the core.
        pub(crate) fn body(&mut self, id: TransactionId, body: &[u8]) {
            let Some(span) = self.span(Some(id)) else {
                return;
            };
            let head = &body[..body.len().min(MESSAGE_ID_WITHIN)];
            if let Some(value) = message_id(head) {
                span.record("message_id", String::from_utf8_lossy(value).as_ref());
            }
        }

        /// The session failed on this side with `error` (logged unless it
        /// is a misuse): returned as it is.
        pub(crate) fn failed(&mut self, error: Error) -> Error {
            if !matches!(error, Error::Usage(_)) {
                self.fail(&error);
            }
            error
        }

        fn fail(&mut self, error: &dyn Display) {
            if !std::mem::replace(&mut self.failed, true) {
                tracing::error!(target: TARGET, parent: &self.session, error = %error, "session failed");
            }
        }

        fn span(&self, id: Option<TransactionId>) -> Option<&Span> {
            let id = id?;
            self.messages
                .iter()
                .find(|(at, _)| *at == id)
                .map(|(_, s)| s)
        }

        /// The queued message after `at` (the first one if `None`).
        fn after(&self, at: Option<TransactionId>) -> Option<TransactionId> {
            let mut ids = self.messages.iter().map(|(id, _)| *id);
            ids.find(|id| at.is_none_or(|at| *id > at))
        }

        /// A transcript line, in the span of the message it is about: the
        /// n-th MAIL FROM (and the n-th reply to one) is the n-th message's,
        /// and so is what follows it in the same direction until the next.
        fn line(&mut self, line: &TranscriptLine) {
            let server = line.direction == Direction::Server;
            if line.stage == Stage::SetFrom {
                match server {
                    false => self.client_at = self.after(self.client_at),
                    true if !self.server_continues => self.server_at = self.after(self.server_at),
                    true => {}
                }
            }
            if server {
                self.server_continues = line.text.get(3) == Some(&b'-');
            }
            let of_message = matches!(
                line.stage,
                Stage::SetFrom
                    | Stage::SetTo
                    | Stage::StartSendData
                    | Stage::SendData
                    | Stage::Bdat
            );
            let at = match server {
                false => self.client_at,
                true => self.server_at,
            };
            let span = self.span(at.filter(|_| of_message));
            let parent = span.unwrap_or(&self.session);
            tracing::debug!(target: TARGET, parent: parent, "{line}");
        }

        /// A message's outcome, in its span, which then closes.
        fn outcome(&mut self, outcome: &Outcome) {
            let at = self.messages.iter().position(|(id, _)| *id == outcome.id);
            let span = at.and_then(|at| self.messages.remove(at)).map(|(_, s)| s);
            let parent = span.as_ref().unwrap_or(&self.session);
            for r in &outcome.recipients {
                if let Some(reply) = r.reply().filter(|reply| !reply.is_success()) {
                    tracing::warn!(target: TARGET, parent: parent,
                        recipient = %r.address, reply = %reply, "recipient refused");
                }
            }
            match &outcome.result {
                Ok(reply) => {
                    tracing::debug!(target: TARGET, parent: parent, reply = %reply, "message accepted");
                }
                Err(e) => tracing::warn!(target: TARGET, parent: parent, error = %e,
                    fate_unknown = outcome.fate_unknown(), "message not accepted"),
            }
        }
    }

    /// The value of the first Message-ID field in the header of `head`
    /// (the start of a message), without its spaces.
    fn message_id(head: &[u8]) -> Option<&[u8]> {
        const NAME: &[u8] = b"message-id:";
        for line in head.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                return None; // the end of the header
            }
            if line.len() > NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME) {
                let value = line[NAME.len()..].trim_ascii();
                return (!value.is_empty()).then_some(value);
            }
        }
        None
    }

    #[cfg(test)]
    mod tests {
        use super::message_id;

        #[test]
        fn the_message_id_is_found_in_the_header_only() {
            let m = b"From: a@b\r\nMessage-ID:  <1@b> \r\nSubject: x\r\n\r\nbody";
            assert_eq!(message_id(m), Some(&b"<1@b>"[..]));
            let m = b"from: a@b\nmessage-id: <2@b>\n\nbody";
            assert_eq!(message_id(m), Some(&b"<2@b>"[..]));
            let m = b"From: a@b\r\n\r\nMessage-ID: <3@b>\r\n";
            assert_eq!(message_id(m), None);
            assert_eq!(message_id(b"Message-ID:\r\n\r\n"), None);
        }
    }
}

#[cfg(not(feature = "tracing"))]
mod off {
    use crate::Error;
    use smtp_proto::{Client, Config, Event, TransactionId};

    /// Nothing: the `tracing` feature is off.
    #[derive(Debug)]
    pub(crate) struct Trace;

    impl Trace {
        #[inline(always)]
        pub(crate) fn open(_: &str, _: u16, _: &mut Config) -> Self {
            Trace
        }

        #[inline(always)]
        pub(crate) fn event(&mut self, _: &Event, _: &Client) -> bool {
            true
        }

        #[inline(always)]
        pub(crate) fn queued(&mut self, _: u64, _: usize) {}

        #[inline(always)]
        pub(crate) fn body(&mut self, _: TransactionId, _: &[u8]) {}

        #[inline(always)]
        pub(crate) fn failed(&mut self, error: Error) -> Error {
            error
        }
    }
}

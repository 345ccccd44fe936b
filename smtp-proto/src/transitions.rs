//! Every transition of the client, in one place: what each reply to each
//! command does (`on_reply`), what a chunk of body does (`on_body`), when
//! the next message starts (`pump`) and how a session or message ends.

use crate::body::BodyMode;
use crate::capabilities::{Capabilities, Mechanism};
use crate::client::{Client, Cmd, Phase, TxState};
use crate::command;
use crate::config::{Protocol, RecipientPolicy, TlsPolicy};
use crate::credentials::Credentials;
use crate::envelope::{BodyType, Envelope};
use crate::error::{Error, ErrorKind, ProtocolError, TransactionError};
use crate::event::{Direction, Event, TransactionId};
use crate::reply::{Reply, ReplyClass};
use crate::stage::Stage;
use alloc::vec::Vec;

impl Client {
    /// The transition table: one reply, matched to the oldest pending command.
    pub(crate) fn on_reply(&mut self, reply: Reply) {
        let Some(pending) = self.pending.pop_front() else {
            // Unsolicited: only a server closing the session may speak unasked.
            return match reply.code().value() {
                421 | 221 => self.fail(ErrorKind::Rejected(reply)),
                _ => self.fail(ErrorKind::Protocol(ProtocolError::UnexpectedBytes)),
            };
        };
        let cmd = pending.cmd;
        if reply.code().value() == 421 && cmd != Cmd::Quit {
            // Service closing: the session is over whatever was asked.
            self.pending.push_front(pending);
            return self.fail(ErrorKind::Rejected(reply));
        }
        if reply.class() == ReplyClass::Preliminary {
            self.pending.push_front(pending);
            return self.fail(ErrorKind::Protocol(ProtocolError::UnexpectedReply(reply)));
        }
        let code = reply.code().value();
        let ok = reply.is_success();
        match cmd {
            Cmd::Greeting if code == 220 => {
                self.events.push_back(Event::Greeting(reply));
                self.send_hello();
            }
            Cmd::Ehlo if ok => {
                self.caps = Some(Capabilities::from_ehlo(&reply));
                self.events.push_back(Event::Capabilities);
                self.after_hello();
            }
            Cmd::Ehlo if (code == 500 || code == 502) && self.config.protocol == Protocol::Smtp => {
                let name = self.config.client_name.as_str();
                let mut line = Vec::new();
                command::hello(&mut line, b"HELO", name);
                self.write_command(Cmd::Helo, &line);
            }
            Cmd::Helo if ok => {
                self.caps = Some(Capabilities::default());
                self.events.push_back(Event::Capabilities);
                self.after_hello();
            }
            Cmd::StartTls if code == 220 => {
                if self.parser.is_mid_reply() {
                    return self.fail(ErrorKind::Protocol(ProtocolError::StartTlsInjection));
                }
                // Any byte from now until the handshake is an injection
                // attempt (`handle_input` refuses it).
                self.phase = Phase::TlsHandshake;
            }
            Cmd::StartTls if self.config.tls_policy() == TlsPolicy::Opportunistic => {
                self.starttls_refused = true;
                self.after_hello();
            }
            Cmd::Auth | Cmd::AuthLoginPassword if code == 235 => {
                self.events.push_back(Event::Authenticated);
                self.open();
            }
            Cmd::Auth if code == 334 && self.auth_mechanism() == Some(Mechanism::XOAuth2) => {
                // An XOAUTH2 error challenge: answer empty to get the final reply.
                self.write_command(Cmd::AuthAbort, b"\r\n");
            }
            Cmd::AuthLogin if code == 334 => self.send_login_step(Cmd::AuthLoginUsername),
            Cmd::AuthLoginUsername if code == 334 => self.send_login_step(Cmd::AuthLoginPassword),
            Cmd::Greeting
            | Cmd::Ehlo
            | Cmd::Helo
            | Cmd::StartTls
            | Cmd::Auth
            | Cmd::AuthAbort
            | Cmd::AuthLogin
            | Cmd::AuthLoginUsername
            | Cmd::AuthLoginPassword => {
                let stage = cmd.stage();
                let kind = match cmd {
                    Cmd::Auth
                    | Cmd::AuthAbort
                    | Cmd::AuthLogin
                    | Cmd::AuthLoginUsername
                    | Cmd::AuthLoginPassword
                        if reply.class() != ReplyClass::Transient =>
                    {
                        ErrorKind::AuthFailed(reply)
                    }
                    _ => ErrorKind::Rejected(reply),
                };
                return self.fail_at(stage, kind);
            }
            Cmd::Mail(id) => self.on_mail_reply(id, reply),
            Cmd::Rcpt(id, i) => self.on_rcpt_reply(id, i, reply),
            Cmd::Data(id) => self.on_data_reply(id, reply),
            Cmd::DataEnd(id) => {
                if let Some(tx) = self.tx_mut(id) {
                    tx.ended = true;
                    if tx.failure.is_none() {
                        if ok {
                            tx.final_reply = Some(reply);
                        } else {
                            tx.failure = Some(TransactionError::MessageRejected(reply));
                        }
                    }
                }
            }
            Cmd::Delivery(id, i) => {
                if let Some(tx) = self.tx_mut(id) {
                    tx.ended = true;
                    if ok && tx.final_reply.is_none() {
                        tx.final_reply = Some(reply.clone());
                    }
                    if !ok && tx.failure.is_none() {
                        // Stays the verdict only if no recipient gets the message.
                        tx.failure = Some(TransactionError::MessageRejected(reply.clone()));
                    }
                    if let Some(r) = tx.recipients.get_mut(i) {
                        r.delivery_reply = Some(reply);
                    }
                }
            }
            Cmd::Bdat(id, last) => {
                self.bdat_in_flight = self.bdat_in_flight.saturating_sub(1);
                if let Some(tx) = self.tx_mut(id) {
                    tx.ended |= last;
                    if !ok && tx.failure.is_none() {
                        tx.failure = Some(
                            if tx.accepted == 0
                                && tx.recipients.iter().all(|r| r.rcpt_reply.is_some())
                            {
                                TransactionError::NoRecipientAccepted
                            } else if last {
                                TransactionError::MessageRejected(reply)
                            } else {
                                TransactionError::DataRejected(reply)
                            },
                        );
                    } else if ok && last && tx.failure.is_none() {
                        tx.final_reply = Some(reply);
                    }
                }
                if !ok {
                    if let Some(b) = self.body.as_mut().filter(|b| b.tx == id) {
                        b.discard = true;
                    }
                }
            }
            Cmd::Rset | Cmd::Noop if ok => {}
            Cmd::Rset | Cmd::Noop => return self.fail_at(cmd.stage(), ErrorKind::Rejected(reply)),
            Cmd::Quit => {
                self.pending.clear();
                self.close_cleanly();
                return;
            }
        }
        if let Some(id) = cmd.tx() {
            if let Some(tx) = self.tx_mut(id) {
                tx.outstanding = tx.outstanding.saturating_sub(1);
            }
            self.settle(id);
        }
        self.pump();
    }

    fn on_mail_reply(&mut self, id: TransactionId, reply: Reply) {
        let pipelined = self.pipelining();
        let Some(tx) = self.tx_mut(id) else { return };
        if !reply.is_success() {
            tx.failure
                .get_or_insert(TransactionError::MailRejected(reply));
            return;
        }
        if !pipelined && tx.failure.is_none() {
            self.send_rcpt(id, 0);
        }
    }

    fn on_rcpt_reply(&mut self, id: TransactionId, i: usize, reply: Reply) {
        let pipelined = self.pipelining();
        let all_or_nothing = self.config.recipient_policy == RecipientPolicy::AllOrNothing;
        let Some(tx) = self.tx_mut(id) else { return };
        let ok = reply.is_success();
        if ok {
            tx.accepted += 1;
        }
        if let Some(r) = tx.recipients.get_mut(i) {
            r.rcpt_reply = Some(reply);
        }
        if tx.failure.is_some() {
            return;
        }
        let last = i + 1 == tx.recipients.len();
        if all_or_nothing && !ok {
            tx.failure = Some(TransactionError::RecipientsRejected);
            return;
        }
        if !last {
            if !pipelined {
                self.send_rcpt(id, i + 1);
            }
            return;
        }
        if tx.accepted == 0 {
            tx.failure = Some(TransactionError::NoRecipientAccepted);
            return;
        }
        // With all recipients known: DATA (or the body) goes now, unless it
        // was pipelined already.
        let data_sent = pipelined && !all_or_nothing;
        if tx.bdat {
            if !data_sent {
                self.begin_body(id, self.body_mode(id));
            }
        } else if !data_sent {
            self.write_command(Cmd::Data(id), b"DATA\r\n");
        }
    }

    fn on_data_reply(&mut self, id: TransactionId, reply: Reply) {
        let Some(tx) = self.tx_mut(id) else { return };
        if reply.code().value() == 354 {
            if tx.failure.is_some() || tx.accepted == 0 {
                // RFC 2920 section 3.1: no recipient, yet DATA went through:
                // end the empty message at once; it is reported failed.
                tx.failure
                    .get_or_insert(TransactionError::NoRecipientAccepted);
                let start = self.out.len();
                self.out.extend_from_slice(b".\r\n");
                self.await_reply(Cmd::DataEnd(id), start);
                if let Some(tx) = self.tx_mut(id) {
                    tx.state = TxState::Ending;
                }
            } else {
                self.begin_body(id, BodyMode::Data);
            }
            return;
        }
        let all_answered = tx.recipients.iter().all(|r| r.rcpt_reply.is_some());
        let failure = if tx.accepted == 0 && all_answered {
            TransactionError::NoRecipientAccepted
        } else {
            TransactionError::DataRejected(reply)
        };
        tx.failure.get_or_insert(failure);
    }

    /// Takes a chunk of body from the caller.
    pub(crate) fn on_body(&mut self, chunk: &[u8], last: bool) {
        let Some(mut body) = self.body.take() else {
            return;
        };
        let id = body.tx;
        // The transcript reports the message's size as given, before
        // stuffing and without the terminator.
        body.octets += chunk.len() as u64;
        if !body.discard {
            let mode = body.encoder.mode();
            let result = if mode == BodyMode::Data {
                let r = body.encoder.encode(chunk, &mut self.out);
                if last {
                    body.encoder.finish(&mut self.out);
                }
                r
            } else {
                self.scratch.clear();
                let r = body.encoder.encode(chunk, &mut self.scratch);
                if last {
                    body.encoder.finish(&mut self.scratch);
                }
                if r.is_ok() && (last || !self.scratch.is_empty()) {
                    let start = self.out.len();
                    command::bdat(&mut self.out, self.scratch.len(), last);
                    let header_end = self.out.len();
                    self.out.extend_from_slice(&self.scratch);
                    self.expect_bdat(id, last, start, header_end);
                }
                r
            };
            if let Err(e) = result {
                // Part of the body may be out: the only safe end is to drop
                // the connection, so the server discards the message.
                let stage = if mode == BodyMode::Data {
                    Stage::SendData
                } else {
                    Stage::Bdat
                };
                return self.fail_at(stage, ErrorKind::Body(e));
            }
        }
        if !last {
            self.body = Some(body);
            return;
        }
        if self.config.transcript {
            let text = alloc::format!("<{} octets of message data>", body.octets).into_bytes();
            let stage = if body.encoder.mode() == BodyMode::Data {
                Stage::SendData
            } else {
                Stage::Bdat
            };
            self.transcript(stage, Direction::Client, text);
        }
        if body.encoder.mode() == BodyMode::Data && !body.discard {
            self.expect_data_end(id);
        }
        if let Some(tx) = self.tx_mut(id) {
            tx.state = TxState::Ending;
            tx.end_sent |= !body.discard;
        }
        self.settle(id);
        self.pump();
    }

    fn expect_bdat(&mut self, id: TransactionId, last: bool, start: usize, header_end: usize) {
        // The transcript shows the BDAT line, not the data after it.
        let transcript = core::mem::replace(&mut self.config.transcript, false);
        self.await_reply(Cmd::Bdat(id, last), start);
        self.config.transcript = transcript;
        if transcript {
            let line = self.out[start..header_end - 2].to_vec();
            self.transcript(Stage::Bdat, Direction::Client, line);
        }
    }

    /// After the end of data: one reply, or with LMTP one per accepted
    /// recipient.
    fn expect_data_end(&mut self, id: TransactionId) {
        let start = self.out.len() - 3;
        let lmtp = self.config.protocol == Protocol::Lmtp;
        let accepted: Vec<usize> = match self.tx(id) {
            Some(tx) if lmtp => tx
                .recipients
                .iter()
                .enumerate()
                .filter(|(_, r)| r.rcpt_reply.as_ref().is_some_and(Reply::is_success))
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        };
        if accepted.is_empty() {
            self.await_reply(Cmd::DataEnd(id), start);
        } else {
            for (n, i) in accepted.into_iter().enumerate() {
                self.await_reply(
                    Cmd::Delivery(id, i),
                    if n == 0 { start } else { self.out.len() },
                );
            }
        }
    }

    /// Finishes a transaction once nothing more is due for it.
    fn settle(&mut self, id: TransactionId) {
        let Some(pos) = self.txs.iter().position(|t| t.id == id) else {
            return;
        };
        let tx = &self.txs[pos];
        let waiting_for_body = tx.state == TxState::Body;
        if tx.outstanding > 0 || waiting_for_body || tx.state == TxState::Queued {
            return;
        }
        // A transaction that failed before its body was asked for: the
        // caller's body is not wanted.
        let Some(mut tx) = self.txs.remove(pos) else {
            return;
        };
        if self.body.as_ref().is_some_and(|b| b.tx == id) {
            self.body = None;
        }
        let result = match (tx.failure.take(), tx.final_reply.take()) {
            (None, Some(reply)) => Ok(reply),
            (Some(TransactionError::MessageRejected(_)), Some(reply))
                if self.config.protocol == Protocol::Lmtp =>
            {
                Ok(reply)
            }
            (Some(e), _) => Err(e),
            (None, None) => Err(TransactionError::NoRecipientAccepted),
        };
        // Started messages come first in `txs`, queued ones last.
        let later_started = self.txs.len() > self.queued;
        if result.is_err()
            && !tx.ended
            && !later_started
            && !self.quit_sent
            && self.phase == Phase::Open
        {
            self.write_command(Cmd::Rset, b"RSET\r\n");
        }
        self.events
            .push_back(Event::Outcome(tx.into_outcome(result)));
    }

    /// Starts the next message (or QUIT) when the session allows it.
    pub(crate) fn pump(&mut self) {
        if self.phase != Phase::Open {
            return;
        }
        // Only the message started last can still be before its end of data
        // (the next one starts only when it is past it).
        let last_started_busy = |c: &Client| {
            let started = c.txs.len() - c.queued;
            started > 0
                && c.txs
                    .get(started - 1)
                    .is_some_and(|t| matches!(t.state, TxState::Started | TxState::Body))
        };
        while self.queued > 0 {
            if last_started_busy(self) || (!self.pipelining() && !self.pending.is_empty()) {
                break;
            }
            let Some(id) = self.txs.get(self.txs.len() - self.queued).map(|t| t.id) else {
                break;
            };
            self.start_transaction(id);
        }
        // Every message has had its body sent (QUIT may follow the last end
        // of data in the same write when pipelining).
        let done = self.queued == 0 && !last_started_busy(self) && self.body.is_none();
        if self.quit_asked
            && done
            && !self.quit_sent
            && (self.pipelining() || self.pending.is_empty())
        {
            self.write_command(Cmd::Quit, b"QUIT\r\n");
        }
    }

    /// Checks what the envelope needs, then sends MAIL (and, pipelined,
    /// every RCPT and DATA, or starts BDAT).
    fn start_transaction(&mut self, id: TransactionId) {
        // It leaves the queue whatever happens next.
        self.queued = self.queued.saturating_sub(1);
        let no_caps = Capabilities::default();
        let caps = self.caps.as_ref().unwrap_or(&no_caps);
        let Some(tx) = self.txs.iter().find(|t| t.id == id) else {
            return;
        };
        let use_bdat = self.config.chunking
            && caps.chunking
            && self.config.protocol == Protocol::Smtp
            && (caps.pipelining || tx.envelope.body_type == BodyType::BinaryMime);
        if let Some(err) = precheck(&tx.envelope, caps, use_bdat, self.encrypted) {
            if let Some(tx) = self.tx_mut(id) {
                tx.failure = Some(err);
                tx.state = TxState::Ending;
                tx.ended = true;
            }
            return self.settle(id);
        }
        let start = self.out.len();
        command::mail(&mut self.out, &tx.envelope, caps, use_bdat);
        let n = tx.envelope.recipients.len();
        let pipelined = self.pipelining();
        let all_or_nothing = self.config.recipient_policy == RecipientPolicy::AllOrNothing;
        if let Some(tx) = self.tx_mut(id) {
            tx.state = TxState::Started;
            tx.bdat = use_bdat;
        }
        self.await_reply(Cmd::Mail(id), start);
        if !pipelined {
            return;
        }
        for i in 0..n {
            self.send_rcpt(id, i);
        }
        if all_or_nothing {
            return;
        }
        if use_bdat {
            let mode = self.body_mode(id);
            self.begin_body(id, mode);
        } else {
            self.write_command(Cmd::Data(id), b"DATA\r\n");
        }
    }

    fn body_mode(&self, id: TransactionId) -> BodyMode {
        match self.tx(id).map(|t| t.envelope.body_type) {
            Some(BodyType::BinaryMime) => BodyMode::Binary,
            _ => BodyMode::Bdat,
        }
    }

    fn send_rcpt(&mut self, id: TransactionId, i: usize) {
        let start = self.out.len();
        let tx = self.txs.iter().find(|t| t.id == id);
        let Some(r) = tx.and_then(|t| t.envelope.recipients.get(i)) else {
            return;
        };
        let no_caps = Capabilities::default();
        command::rcpt(&mut self.out, r, self.caps.as_ref().unwrap_or(&no_caps));
        self.await_reply(Cmd::Rcpt(id, i), start);
    }

    pub(crate) fn send_hello(&mut self) {
        let (verb, cmd): (&[u8], Cmd) = match self.config.protocol {
            Protocol::Smtp => (b"EHLO", Cmd::Ehlo),
            Protocol::Lmtp => (b"LHLO", Cmd::Ehlo),
        };
        let mut line = Vec::new();
        command::hello(&mut line, verb, self.config.client_name.as_str());
        self.write_command(cmd, &line);
    }

    /// After EHLO/HELO: STARTTLS, AUTH, or open for mail.
    fn after_hello(&mut self) {
        let caps = self.caps.clone().unwrap_or_default();
        let policy = self.config.tls_policy();
        if !self.encrypted && policy != TlsPolicy::Off && !self.starttls_refused {
            if caps.starttls {
                return self.write_command(Cmd::StartTls, b"STARTTLS\r\n");
            }
            if policy == TlsPolicy::Required {
                return self.fail_at(Stage::Helo, ErrorKind::TlsUnavailable);
            }
        }
        let Some(creds) = self.config.credentials.clone() else {
            return self.open();
        };
        if !self.encrypted && !self.config.allow_plaintext_auth {
            return self.fail_at(Stage::Helo, ErrorKind::AuthRequiresTls);
        }
        let Some(mechanism) = self.auth_mechanism() else {
            return self.fail_at(Stage::Helo, ErrorKind::AuthUnavailable);
        };
        let mut line = Vec::new();
        match mechanism {
            Mechanism::Plain => {
                command::base64_line(&mut line, b"AUTH PLAIN ", &command::plain_response(&creds));
                self.write_command(Cmd::Auth, &line);
            }
            Mechanism::XOAuth2 => {
                command::base64_line(
                    &mut line,
                    b"AUTH XOAUTH2 ",
                    &command::xoauth2_response(&creds),
                );
                self.write_command(Cmd::Auth, &line);
            }
            Mechanism::Login => self.write_command(Cmd::AuthLogin, b"AUTH LOGIN\r\n"),
        }
    }

    /// The mechanism to use: the caller's choice if the server offers it,
    /// else the best one offered that fits the credentials.
    pub(crate) fn auth_mechanism(&self) -> Option<Mechanism> {
        let caps = self.caps.as_ref()?;
        let creds = self.config.credentials.as_ref()?;
        let fits = |m: Mechanism| match creds {
            Credentials::Password { .. } => m != Mechanism::XOAuth2,
            Credentials::OAuth2 { .. } => m == Mechanism::XOAuth2,
        };
        match self.config.mechanism {
            Some(m) => (caps.offers_auth(m) && fits(m)).then_some(m),
            None => [Mechanism::Plain, Mechanism::Login, Mechanism::XOAuth2]
                .into_iter()
                .find(|&m| caps.offers_auth(m) && fits(m)),
        }
    }

    /// AUTH LOGIN answers its prompts in order (the prompt text varies
    /// between servers and is not relied on): user name, then password.
    fn send_login_step(&mut self, next: Cmd) {
        let Some(creds) = self.config.credentials.clone() else {
            return;
        };
        let (user, secret) = command::user_and_secret(&creds);
        let value = if next == Cmd::AuthLoginUsername {
            user
        } else {
            secret
        };
        let mut line = Vec::new();
        command::base64_line(&mut line, b"", value.as_bytes());
        self.write_command(next, &line);
    }

    fn open(&mut self) {
        self.phase = Phase::Open;
        self.pump();
    }

    /// Ends the session with an error at the current stage.
    pub(crate) fn fail(&mut self, kind: ErrorKind) {
        let stage = self.stage();
        self.fail_at(stage, kind);
    }

    /// Ends the session: every message not yet accepted is reported not
    /// sent. The error is sticky.
    pub(crate) fn fail_at(&mut self, stage: Stage, kind: ErrorKind) {
        if self.phase == Phase::Closed {
            return;
        }
        // A server that is still listening gets a QUIT, sent without
        // waiting for its reply; one that broke the protocol or closed gets
        // nothing more.
        let polite = matches!(
            kind,
            ErrorKind::TlsUnavailable
                | ErrorKind::AuthRequiresTls
                | ErrorKind::AuthUnavailable
                | ErrorKind::AuthFailed(_)
        ) || matches!(&kind, ErrorKind::Rejected(r) if r.code().value() != 421 && r.code().value() != 221);
        // ...unless it was sent already (pipelined after the last command).
        let polite = polite && !self.quit_sent;
        let error = Error::new(stage, kind);
        self.out.clear();
        self.out_taken = false;
        if polite {
            self.out.extend_from_slice(b"QUIT\r\n");
            if self.config.transcript {
                self.transcript(Stage::Quit, Direction::Client, b"QUIT".to_vec());
            }
        }
        self.pending.clear();
        self.bdat_in_flight = 0;
        self.queued = 0;
        self.body = None;
        self.phase = Phase::Closed;
        for tx in core::mem::take(&mut self.txs) {
            let result = Err(TransactionError::NotSent(error.clone()));
            self.events
                .push_back(Event::Outcome(tx.into_outcome(result)));
        }
        self.events.push_back(Event::Closed(Err(error.clone())));
        self.error = Some(error);
    }
}

/// What an envelope needs that the session cannot give; checked before
/// anything of the message is sent.
fn precheck(
    env: &Envelope,
    caps: &Capabilities,
    use_bdat: bool,
    encrypted: bool,
) -> Option<TransactionError> {
    if let (Some(size), Some(limit)) = (env.size, caps.size) {
        if limit > 0 && size > limit {
            return Some(TransactionError::TooLarge { size, limit });
        }
    }
    let unavailable = TransactionError::ExtensionUnavailable;
    if env.needs_smtputf8() && !caps.smtp_utf8 {
        return Some(unavailable("SMTPUTF8"));
    }
    match env.body_type {
        BodyType::EightBitMime if !caps.eight_bit_mime => return Some(unavailable("8BITMIME")),
        BodyType::BinaryMime if !(caps.binary_mime && use_bdat) => {
            return Some(unavailable("BINARYMIME"));
        }
        _ => {}
    }
    if env.require_dsn && env.uses_dsn() && !caps.dsn {
        return Some(unavailable("DSN"));
    }
    if env.require_tls {
        if !encrypted {
            return Some(TransactionError::NotEncrypted);
        }
        if !caps.require_tls {
            return Some(unavailable("REQUIRETLS"));
        }
    }
    None
}

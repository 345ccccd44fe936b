//! Every transition of the client, in one place: what each reply to each
//! command does (`on_reply`), what a chunk of body does (`on_body`), what
//! is written next for the messages (the scheduler, `pump`) and how a
//! session or message ends.

use crate::body::BodyMode;
use crate::capabilities::{Capabilities, Mechanism};
use crate::client::{Client, Cmd, Pending, Phase, Tx, TxState};
use crate::command;
use crate::config::{Protocol, RecipientPolicy, TlsPolicy};
use crate::credentials::Credentials;
use crate::envelope::{BodyType, Envelope};
use crate::error::{Error, ErrorKind, ProtocolError, TransactionError};
use crate::event::{Direction, Event, Outcome, RecipientResult, TransactionId};
use crate::reply::{Reply, ReplyClass};
use crate::stage::Stage;
use alloc::vec::Vec;

impl Client {
    /// The transition table: one reply, matched to the oldest pending command.
    /// Inlined into its one caller, so the reply is not moved to get here.
    #[inline(always)]
    pub(crate) fn on_reply(&mut self, reply: Reply) {
        if self.phase == Phase::Closing {
            // The reply to the polite QUIT (whatever it says) ends the wait.
            return self.close();
        }
        let Some(cmd) = self.pending.front().map(|p| p.cmd) else {
            // Unsolicited: only a server closing the session may speak unasked.
            return match reply.code().value() {
                421 | 221 => self.fail(ErrorKind::Rejected(reply)),
                _ => self.fail(ErrorKind::Protocol(ProtocolError::UnexpectedBytes)),
            };
        };
        // The two replies that end the session leave the command pending.
        if reply.code().value() == 421 && !matches!(cmd, Cmd::Quit) {
            // Service closing: the session is over whatever was asked, but
            // what the 421 answers keeps it as its reply.
            self.record_closing_reply(cmd, &reply);
            return self.fail(ErrorKind::Rejected(reply));
        }
        if reply.class() == ReplyClass::Preliminary {
            return self.fail(ErrorKind::Protocol(ProtocolError::UnexpectedReply(reply)));
        }
        self.pop_pending();
        let code = reply.code().value();
        let ok = reply.is_success();
        match cmd {
            Cmd::Init if code == 220 => {
                self.events.push_back(Event::Greeting(reply));
                self.send_hello();
            }
            Cmd::Helo if ok => {
                self.set_caps(Some(Capabilities::from_ehlo(&reply)));
                self.events.push_back(Event::Capabilities);
                self.after_hello();
            }
            Cmd::Helo if (code == 500 || code == 502) && self.config.protocol == Protocol::Smtp => {
                let name = self.config.client_name.as_str();
                let mut line = Vec::new();
                command::hello(&mut line, b"HELO", name);
                self.write_command(Cmd::HeloFallback, &line);
            }
            Cmd::HeloFallback if ok => {
                self.set_caps(Some(Capabilities::default()));
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
            Cmd::Auth | Cmd::AuthResponse | Cmd::AuthLoginPassword if code == 235 => {
                self.events.push_back(Event::Authenticated);
                self.open();
            }
            Cmd::Auth | Cmd::AuthResponse if code == 334 && self.uses_oauth() => {
                // An OAuth error challenge (a base64 JSON status): answer it
                // to get the final reply; XOAUTH2 wants an empty line,
                // OAUTHBEARER a ^A (RFC 7628 section 3.2.3).
                self.oauth_status = first_line(&reply).and_then(crate::sasl::oauth_error_status);
                let answer: &[u8] = match self.auth_mechanism() {
                    Some(Mechanism::OAuthBearer) => b"AQ==\r\n",
                    _ => b"\r\n",
                };
                self.write_command(Cmd::AuthAbort, answer);
            }
            Cmd::AuthStart if code == 334 => {
                let mut line = Vec::new();
                let (cmd, response) = self.initial_response();
                command::base64_line(&mut line, b"", &response);
                let cmd = if cmd == Cmd::Auth {
                    Cmd::AuthResponse
                } else {
                    cmd
                };
                self.write_command(cmd, &line);
            }
            #[cfg(feature = "scram")]
            Cmd::ScramFirst | Cmd::ScramFinal if code == 334 => {
                self.on_scram_challenge(cmd, &reply)
            }
            Cmd::ScramDone if code == 235 => {
                self.events.push_back(Event::Authenticated);
                self.open();
            }
            Cmd::ScramFirst | Cmd::ScramFinal if code == 235 => {
                // Success without the server's signature: it has not proved
                // it knows the password (RFC 5802 section 5: the client
                // MUST check it). Nothing more goes to it.
                return self.fail_at(Stage::Auth, ErrorKind::ServerSignatureMismatch);
            }
            Cmd::AuthLogin if code == 334 => self.send_login_step(Cmd::AuthLoginUsername),
            Cmd::AuthLoginUsername if code == 334 => self.send_login_step(Cmd::AuthLoginPassword),
            Cmd::AuthCancel if code == 334 => {
                // A challenge in answer to `*`: the server does not follow
                // the exchange. Nothing more is written (a QUIT could be
                // read as yet another answer).
                return self.fail_at(
                    Stage::Auth,
                    ErrorKind::Protocol(ProtocolError::UnexpectedReply(reply)),
                );
            }
            Cmd::Auth
            | Cmd::AuthResponse
            | Cmd::AuthAbort
            | Cmd::AuthLoginPassword
            | Cmd::ScramDone
                if code == 334 =>
            {
                // A challenge the client has no answer to: cancel the exchange
                // with `*` (RFC 4954 section 4) rather than leave it open (a
                // QUIT now would be read as the answer).
                self.write_command(Cmd::AuthCancel, b"*\r\n");
            }
            Cmd::Init
            | Cmd::Helo
            | Cmd::HeloFallback
            | Cmd::StartTls
            | Cmd::Auth
            | Cmd::AuthStart
            | Cmd::AuthResponse
            | Cmd::AuthAbort
            | Cmd::AuthCancel
            | Cmd::AuthLogin
            | Cmd::AuthLoginUsername
            | Cmd::AuthLoginPassword
            | Cmd::ScramFirst
            | Cmd::ScramFinal
            | Cmd::ScramDone => {
                let stage = cmd.stage();
                let is_auth = !matches!(
                    cmd,
                    Cmd::Init | Cmd::Helo | Cmd::HeloFallback | Cmd::StartTls
                );
                // A cancelled exchange failed whatever the server answers.
                let kind = if is_auth
                    && (reply.class() != ReplyClass::Transient || cmd == Cmd::AuthCancel)
                {
                    if self.uses_oauth() {
                        let status = self.oauth_status.take().map(Into::into);
                        ErrorKind::OAuthRejected { reply, status }
                    } else {
                        ErrorKind::AuthFailed(reply)
                    }
                } else {
                    ErrorKind::Rejected(reply)
                };
                return self.fail_at(stage, kind);
            }
            Cmd::SetFrom(id) => self.on_mail_reply(id, reply),
            Cmd::SetTo(id, i) => self.on_rcpt_reply(id, i, reply),
            Cmd::StartSendData(id) => self.on_data_reply(id, reply),
            Cmd::SendData(id) => {
                if let Some(tx) = self.tx_mut(id) {
                    // Whatever the reply, the end of data ends the server's
                    // transaction (RFC 5321 section 4.1.1.4).
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
            Cmd::SendDataDelivery(id, i) => {
                // The server answered the end of data (or BDAT LAST): its
                // transaction is over.
                if self.is_latest_started(id) {
                    self.server_tx_open = false;
                }
                if let Some(tx) = self.tx_mut(id) {
                    tx.ended = true;
                    if ok && tx.final_reply.is_none() {
                        tx.final_reply = Some(reply.clone());
                    }
                    // Stays the verdict only if no recipient gets the
                    // message; a permanent refusal outweighs a transient one
                    // (the message is transient only if every reason is).
                    let outweighs = match &tx.failure {
                        None => true,
                        Some(TransactionError::MessageRejected(r)) => {
                            r.class() == ReplyClass::Transient
                                && reply.class() == ReplyClass::Permanent
                        }
                        Some(_) => false,
                    };
                    if !ok && outweighs {
                        tx.failure = Some(TransactionError::MessageRejected(reply.clone()));
                    }
                    if let Some(r) = tx.recipients.get_mut(i) {
                        r.delivery_reply = Some(reply);
                    }
                }
            }
            Cmd::Bdat(id, last) => {
                let latest = self.is_latest_started(id);
                if let Some(tx) = self.tx_mut(id) {
                    if !ok && tx.failure.is_none() {
                        tx.failure = Some(if tx.accepted() == 0 && tx.all_answered() {
                            tx.no_recipient_error()
                        } else if last {
                            TransactionError::MessageRejected(reply)
                        } else {
                            TransactionError::DataRejected(reply)
                        });
                    } else if ok && last && tx.failure.is_none() {
                        // Only an accepted BDAT LAST surely ends the server's
                        // transaction: after a refused chunk its state is
                        // not defined (RFC 3030 section 2), so RSET follows.
                        tx.ended = true;
                        tx.final_reply = Some(reply);
                        if latest {
                            self.server_tx_open = false;
                        }
                    }
                }
            }
            Cmd::Reset | Cmd::Noop if ok => {}
            Cmd::Reset | Cmd::Noop => return self.fail_at(cmd.stage(), ErrorKind::Rejected(reply)),
            Cmd::Quit => return self.close(),
        }
        if let Some(id) = cmd.tx() {
            self.stop_if_failed(id);
            self.settle(id);
        }
        self.pump();
    }

    /// A 421 that answers a command of a message is that command's reply:
    /// a refused recipient (RCPT, or with LMTP its delivery), or a refused
    /// message (the end of data).
    ///
    /// Why a 421 to the end of data is a definite refusal and not "fate
    /// unknown": it is a 4yz reply to the end of data, and RFC 5321 section
    /// 4.2.5 says that after one the server "MUST NOT make a subsequent
    /// attempt to deliver that message" (the client keeps responsibility
    /// for it). Only a reply that never came leaves the fate unknown.
    fn record_closing_reply(&mut self, cmd: Cmd, reply: &Reply) {
        let Some(tx) = cmd.tx().and_then(|id| self.tx_mut(id)) else {
            return;
        };
        match cmd {
            Cmd::SetTo(_, i) => {
                if let Some(r) = tx.recipients.get_mut(i) {
                    r.rcpt_reply = Some(reply.clone());
                }
            }
            Cmd::SendDataDelivery(_, i) => {
                if let Some(r) = tx.recipients.get_mut(i) {
                    r.delivery_reply = Some(reply.clone());
                }
            }
            Cmd::SendData(_) | Cmd::Bdat(_, true) if tx.failure.is_none() => {
                tx.ended = true;
                tx.failure = Some(TransactionError::MessageRejected(reply.clone()));
            }
            _ => {}
        }
    }

    /// True when `id` is the message started last (no MAIL went out after
    /// its own).
    fn is_latest_started(&self, id: TransactionId) -> bool {
        let started = self.started();
        started > 0 && self.txs.get(started - 1).is_some_and(|t| t.id == id)
    }

    /// A message that can no longer succeed (MAIL or every recipient
    /// refused, a chunk refused) is [`TxState::Failed`]: no more RCPT or
    /// BDAT goes out for it, and the caller is not asked for the rest of its
    /// body. Commands already sent are still answered (RFC 3030 section 2:
    /// the server discards the chunks). A message awaiting its 354 stays
    /// there: a 354 still gets its lone `.`.
    fn stop_if_failed(&mut self, id: TransactionId) {
        let Some(tx) = self.tx_mut(id) else { return };
        if tx.failure.is_some() && matches!(tx.state, TxState::Envelope { .. } | TxState::Body(_)) {
            tx.state = TxState::Failed;
        }
    }

    // Once each, from `on_reply`: inlined, the reply is not moved again.
    #[inline(always)]
    fn on_mail_reply(&mut self, id: TransactionId, reply: Reply) {
        let Some(tx) = self.tx_mut(id) else { return };
        if !reply.is_success() {
            tx.failure
                .get_or_insert(TransactionError::MailRejected(reply));
        }
    }

    // Once each, from `on_reply`: inlined, the reply is not moved again.
    #[inline(always)]
    fn on_rcpt_reply(&mut self, id: TransactionId, i: usize, reply: Reply) {
        let all_or_nothing = self.config.recipient_policy == RecipientPolicy::AllOrNothing;
        let Some(tx) = self.tx_mut(id) else { return };
        let ok = reply.is_success();
        if let Some(r) = tx.recipients.get_mut(i) {
            r.rcpt_reply = Some(reply);
        }
        if tx.failure.is_some() {
            return;
        }
        if all_or_nothing && !ok {
            // Whether it is transient is known once every reply is in.
            tx.failure = Some(TransactionError::RecipientsRejected { transient: true });
        } else if i + 1 == tx.recipients.len() && tx.accepted() == 0 {
            tx.failure = Some(tx.no_recipient_error());
        }
    }

    // Once each, from `on_reply`: inlined, the reply is not moved again.
    #[inline(always)]
    fn on_data_reply(&mut self, id: TransactionId, reply: Reply) {
        let Some(tx) = self.tx_mut(id) else { return };
        if reply.code().value() == 354 {
            tx.state = TxState::GoAhead;
            return;
        }
        let failure = if tx.accepted() == 0 && tx.all_answered() {
            tx.no_recipient_error()
        } else {
            TransactionError::DataRejected(reply)
        };
        tx.failure.get_or_insert(failure);
        tx.state = TxState::Failed;
    }

    /// Takes a chunk of body from the caller.
    pub(crate) fn on_body(&mut self, chunk: &[u8], last: bool) {
        // Only the message started last takes a body (see `TxState::Body`).
        let newest = self.started().checked_sub(1);
        let tx = newest.and_then(|i| self.txs.get_mut(i));
        let Some(Tx {
            id,
            state: TxState::Body(body),
            ..
        }) = tx
        else {
            return;
        };
        let id = *id;
        // The transcript reports the message's size as given, before
        // stuffing and without the terminator.
        body.octets += chunk.len() as u64;
        let octets = body.octets;
        let mode = body.encoder.mode();
        // DATA's body goes out as it is encoded; a BDAT chunk is counted
        // first, for its BDAT line.
        let out = if mode == BodyMode::Data {
            &mut self.out
        } else {
            self.scratch.clear();
            &mut self.scratch
        };
        let result = body.encoder.encode(chunk, out);
        if last {
            body.encoder.finish(out);
        }
        if mode != BodyMode::Data && result.is_ok() && (last || !self.scratch.is_empty()) {
            let start = self.out.len();
            command::bdat(&mut self.out, self.scratch.len(), last);
            let header_end = self.out.len();
            self.out.extend_from_slice(&self.scratch);
            self.expect_bdat(id, last, start..header_end);
        }
        let stage = if mode == BodyMode::Data {
            Stage::SendData
        } else {
            Stage::Bdat
        };
        if let Err(e) = result {
            // Part of the body may be out: the only safe end is to drop
            // the connection, so the server discards the message.
            return self.fail_at(stage, ErrorKind::Body(e));
        }
        if !last {
            return;
        }
        if self.config.transcript {
            let text = alloc::format!("<{octets} octets of message data>").into_bytes();
            self.transcript(stage, Direction::Client, text);
        }
        if mode == BodyMode::Data {
            self.expect_send_data(id);
            self.server_tx_open = false;
        }
        self.set_state(id, TxState::AwaitingEndOfData);
        self.settle(id);
        self.pump();
    }

    /// A BDAT chunk is written: its BDAT line is `out[line]`, its data
    /// follows. The transcript shows the line (always at [`Stage::Bdat`],
    /// even where LMTP's delivery replies answer it), never the data.
    fn expect_bdat(&mut self, id: TransactionId, last: bool, line: core::ops::Range<usize>) {
        let nothing = line.end..line.end;
        if last {
            self.expect_final_replies(id, nothing);
        } else {
            self.await_reply(Cmd::Bdat(id, last), nothing);
        }
        if self.config.transcript {
            let text = self.out[line.start..line.end - 2].to_vec();
            self.transcript(Stage::Bdat, Direction::Client, text);
        }
    }

    /// True when DATA (or the body's first BDAT) waits for every RCPT
    /// reply even with PIPELINING: under all-or-nothing recipients, and
    /// for BDAT over LMTP, where BDAT LAST is answered once per accepted
    /// recipient, so they must be known when it is written.
    fn body_waits_for_recipients(&self, bdat: bool) -> bool {
        self.config.recipient_policy == RecipientPolicy::AllOrNothing
            || (bdat && self.config.protocol == Protocol::Lmtp)
    }

    /// After the end of data: one reply, or with LMTP one per accepted
    /// recipient.
    fn expect_send_data(&mut self, id: TransactionId) {
        let end = self.out.len();
        self.expect_final_replies(id, end - 3..end);
    }

    /// The replies to what ends a message (the `.`, or BDAT LAST, whose
    /// line is `out[line]`): one, or with LMTP one per accepted recipient.
    fn expect_final_replies(&mut self, id: TransactionId, line: core::ops::Range<usize>) {
        let tx = self.tx(id);
        // One reply for SMTP, and for LMTP when no recipient was accepted.
        let per_recipient =
            self.config.protocol == Protocol::Lmtp && tx.is_some_and(|tx| tx.accepted() > 0);
        let Some(tx) = tx.filter(|_| per_recipient) else {
            let cmd = if tx.is_some_and(|tx| tx.bdat) {
                Cmd::Bdat(id, true)
            } else {
                Cmd::SendData(id)
            };
            return self.await_reply(cmd, line);
        };
        let accepted: Vec<usize> = (tx.recipients.iter().enumerate())
            .filter(|(_, r)| r.rcpt_accepted())
            .map(|(i, _)| i)
            .collect();
        // The line goes into the transcript once, with the first reply.
        let nothing = line.end..line.end;
        for (n, i) in accepted.into_iter().enumerate() {
            let line = if n == 0 {
                line.clone()
            } else {
                nothing.clone()
            };
            self.await_reply(Cmd::SendDataDelivery(id, i), line);
        }
    }

    /// Finishes a transaction once nothing more is due for it: nothing more
    /// is written for it and none of its commands awaits a reply.
    #[inline(always)]
    fn settle(&mut self, id: TransactionId) {
        // The usual case, found without looking the message up: the next
        // reply awaited is one of its own.
        if self.pending.front().and_then(|p| p.cmd.tx()) != Some(id) {
            self.settle_now(id);
        }
    }

    /// `settle` once the next reply awaited is not one of `id`'s.
    fn settle_now(&mut self, id: TransactionId) {
        let Some(pos) = self.tx_pos(id) else {
            return;
        };
        let finished = matches!(
            self.txs[pos].state,
            TxState::AwaitingEndOfData | TxState::Failed
        );
        if !finished || self.awaits_reply(id) {
            return;
        }
        let lmtp = self.config.protocol == Protocol::Lmtp;
        // The outcome is made from the message where it lies (moving the
        // whole message out first would copy it).
        let tx = &mut self.txs[pos];
        let end_of_data_sent = tx.end_of_data_sent();
        let result = match (tx.failure.take(), tx.final_reply.take()) {
            (None, Some(reply)) => Ok(reply),
            // LMTP: a recipient whose delivery reply is 2yz has the message,
            // whatever failed before (a refused chunk, other recipients):
            // nothing the server took is reported lost.
            (Some(_), Some(reply)) if lmtp && end_of_data_sent => Ok(reply),
            (Some(TransactionError::RecipientsRejected { .. }), _) => {
                Err(TransactionError::RecipientsRejected {
                    transient: refusals_transient(&tx.recipients),
                })
            }
            (Some(e), _) => Err(e),
            (None, None) => Err(tx.no_recipient_error()),
        };
        let outcome = Outcome {
            id,
            recipients: core::mem::take(&mut tx.recipients),
            result,
            end_of_data_sent,
        };
        // Messages mostly finish in order: the front one leaves the cheap way.
        match pos {
            0 => drop(self.txs.pop_front()),
            _ => drop(self.txs.remove(pos)),
        }
        // The RSET a failed transaction may need is the scheduler's (see
        // `write_next`).
        self.events.push_back(Event::Outcome(outcome));
    }

    /// The scheduler: the one place that decides what is written next for
    /// the messages and the session's end. It writes until nothing more may
    /// go out now, in this order:
    ///
    /// 1. the message started last, while it is before its end of data:
    ///    its next RCPT TO, its DATA or the start of its body, or its lone
    ///    `.` (see [`TxState`]); while it waits, nothing else is written;
    /// 2. RSET, when the server may hold a transaction nothing written has
    ///    ended (`server_tx_open`) and either a message is about to start or
    ///    none is in progress (the last one failed);
    /// 3. the next queued message (its checks, then MAIL);
    /// 4. once the caller asked for it and every message is past its end of
    ///    data, QUIT (with PIPELINING in the same write as the last end of
    ///    data).
    ///
    /// Reply handlers and the body only record what happened and then call
    /// it; commands are written only when `may_write_command` allows (RFC
    /// 2920 section 3.1), so without PIPELINING each waits for the reply
    /// before it.
    #[inline(always)]
    pub(crate) fn pump(&mut self) {
        // Checked here first, as `write_next` does: most replies leave
        // nothing that may be written (a pipelined group still open).
        if self.may_write_command() {
            self.pump_now();
        }
    }

    fn pump_now(&mut self) {
        while self.phase == Phase::Open && self.write_next() {}
    }

    /// One step of the scheduler: true when something was written (or a
    /// message moved on), false when nothing may go out now.
    fn write_next(&mut self) -> bool {
        // Every step below writes a command, or (a 354's go-ahead) follows
        // a reply that left nothing pending: while no command may be
        // written, there is nothing to do.
        if !self.may_write_command() {
            return false;
        }
        let started = self.started();
        if let Some(newest) = started.checked_sub(1) {
            if self.txs[newest].state.before_end_of_data() {
                return self.advance(newest);
            }
        }
        let queued = started < self.txs.len();
        if !self.may_write_command() || self.quit_sent {
            return false;
        }
        // A MAIL written while an earlier transaction may still be open on
        // the server (a BDAT message whose replies are not all in: if one
        // turns out a refusal, RFC 3030 leaves the server's state undefined)
        // is preceded by RSET, so it can never meet "nested MAIL command";
        // RSET may stand anywhere in a group (RFC 2920). A failed message
        // (a refused MAIL, every RCPT, a chunk) gets RSET as soon as no
        // other one has started.
        if self.server_tx_open && (queued || started == 0) {
            self.write_command(Cmd::Reset, b"RSET\r\n");
            self.server_tx_open = false;
            return true;
        }
        if queued {
            self.start_transaction(started);
            return true;
        }
        if self.quit_asked {
            self.write_command(Cmd::Quit, b"QUIT\r\n");
            return true;
        }
        false
    }

    /// The next step of the message at `txs[pos]`, started and before its
    /// end of data.
    /// The scheduler has checked that a command may be written.
    fn advance(&mut self, pos: usize) -> bool {
        let pipelined = self.pipelining();
        let tx = &self.txs[pos];
        let id = tx.id;
        let bdat = tx.bdat;
        match tx.state {
            TxState::Envelope { rcpts_written } if tx.failure.is_none() => {
                if rcpts_written < tx.recipients.len() {
                    self.send_rcpt(pos, rcpts_written);
                    return true;
                }
                // With all recipients written: DATA (or the body) goes now
                // with PIPELINING, else once every RCPT is answered.
                let at_once = pipelined && !self.body_waits_for_recipients(bdat);
                let recipients_known = tx.all_answered() && tx.accepted() > 0;
                if !(at_once || recipients_known) {
                    return false;
                }
                if bdat {
                    self.begin_body(id, self.body_mode(id));
                } else {
                    self.write_command(Cmd::StartSendData(id), b"DATA\r\n");
                    self.txs[pos].state = TxState::Awaiting354;
                }
                true
            }
            TxState::GoAhead if tx.failure.is_some() || tx.accepted() == 0 => {
                // RFC 2920 section 3.1: no recipient, yet DATA went through:
                // end the empty message at once; it is reported failed.
                let none = tx.no_recipient_error();
                self.write_command(Cmd::SendData(id), b".\r\n");
                self.server_tx_open = false;
                if let Some(tx) = self.tx_mut(id) {
                    tx.failure.get_or_insert(none);
                    tx.state = TxState::Failed;
                }
                true
            }
            TxState::GoAhead => {
                self.begin_body(id, BodyMode::Data);
                true
            }
            // Waiting for replies, or for the caller's body.
            _ => false,
        }
    }

    fn set_state(&mut self, id: TransactionId, state: TxState) {
        if let Some(tx) = self.tx_mut(id) {
            tx.state = state;
        }
    }

    /// True when a command may be written now: nothing awaits a reply, or
    /// the server pipelines and what was written last does not end a group
    /// (RFC 2920 section 3.1: NOOP, DATA, EHLO, ... come last in one).
    #[inline]
    fn may_write_command(&self) -> bool {
        match self.pending.back() {
            None => true,
            Some(p) => self.pipelining() && !p.cmd.ends_group(),
        }
    }

    /// Starts the queued message at `txs[pos]`: checks what its envelope
    /// needs, then writes MAIL FROM (the scheduler goes on from there).
    fn start_transaction(&mut self, pos: usize) {
        let caps = self.caps.as_ref().unwrap_or(&NO_CAPS);
        let Some(tx) = self.txs.get(pos) else {
            return;
        };
        let id = tx.id;
        // Whatever its checks say, it is no longer queued.
        self.queued -= 1;
        // BDAT over LMTP too (RFC 2033 and RFC 3030 allow it; Dovecot offers
        // CHUNKING on LMTP).
        let use_bdat = self.config.chunking
            && caps.chunking
            && (caps.pipelining || tx.envelope.body_type == BodyType::BinaryMime);
        if let Some(err) = precheck(&tx.envelope, caps, use_bdat, self.encrypted) {
            if let Some(tx) = self.txs.get_mut(pos) {
                tx.failure = Some(err);
                tx.state = TxState::Failed;
                tx.ended = true;
            }
            return self.settle(id);
        }
        let start = self.out.len();
        command::mail(&mut self.out, &tx.envelope, caps, use_bdat);
        if let Some(tx) = self.txs.get_mut(pos) {
            tx.state = TxState::Envelope { rcpts_written: 0 };
            tx.bdat = use_bdat;
        }
        self.await_reply(Cmd::SetFrom(id), start..self.out.len());
        self.server_tx_open = true;
    }

    fn body_mode(&self, id: TransactionId) -> BodyMode {
        match self.tx(id).map(|t| t.envelope.body_type) {
            Some(BodyType::BinaryMime) => BodyMode::Binary,
            _ => BodyMode::Bdat,
        }
    }

    /// Writes the RCPT TO of the `i`-th recipient of `txs[pos]`.
    fn send_rcpt(&mut self, pos: usize, i: usize) {
        let start = self.out.len();
        let tx = &self.txs[pos];
        let Some(r) = tx.recipients.get(i) else {
            return;
        };
        // DSN parameters, if the envelope kept any (see `Tx::envelope`).
        let params = tx.envelope.recipients.get(i);
        let caps = self.caps.as_ref().unwrap_or(&NO_CAPS);
        command::rcpt(&mut self.out, &r.address, params, caps);
        let id = tx.id;
        self.await_reply(Cmd::SetTo(id, i), start..self.out.len());
        self.txs[pos].state = TxState::Envelope {
            rcpts_written: i + 1,
        };
    }

    pub(crate) fn send_hello(&mut self) {
        let (verb, cmd): (&[u8], Cmd) = match self.config.protocol {
            Protocol::Smtp => (b"EHLO", Cmd::Helo),
            Protocol::Lmtp => (b"LHLO", Cmd::Helo),
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
        if mechanism == Mechanism::Login {
            return self.write_command(Cmd::AuthLogin, b"AUTH LOGIN\r\n");
        }
        #[cfg(feature = "scram")]
        self.start_scram(mechanism, &creds);
        #[cfg(not(feature = "scram"))]
        let _ = &creds;
        let mut verb = Vec::new();
        verb.extend_from_slice(b"AUTH ");
        verb.extend_from_slice(mechanism.name().as_bytes());
        let verb = &verb[..];
        let (cmd, response) = self.initial_response();
        let mut line = Vec::new();
        line.extend_from_slice(verb);
        line.push(b' ');
        command::base64_line(&mut line, b"", &response);
        if line.len() <= MAX_COMMAND_LINE {
            self.write_command(cmd, &line);
        } else {
            // RFC 4954 section 4: the client MUST NOT use an initial response
            // that makes the line exceed 512 octets; it answers the 334
            // instead (such response lines may be up to 12,288 octets).
            line.clear();
            line.extend_from_slice(verb);
            line.extend_from_slice(b"\r\n");
            self.write_command(Cmd::AuthStart, &line);
        }
    }

    /// The first message of the mechanism in use, unencoded, and the
    /// command that carries it.
    fn initial_response(&self) -> (Cmd, Vec<u8>) {
        #[cfg(feature = "scram")]
        if let Some(scram) = &self.scram {
            return (Cmd::ScramFirst, scram.client_first());
        }
        let response = match (self.auth_mechanism(), &self.config.credentials) {
            (Some(m), Some(creds)) => initial_response(m, creds),
            _ => Vec::new(),
        };
        (Cmd::Auth, response)
    }

    /// True when the mechanism in use takes an OAuth 2 token.
    fn uses_oauth(&self) -> bool {
        matches!(
            self.auth_mechanism(),
            Some(Mechanism::XOAuth2 | Mechanism::OAuthBearer)
        )
    }

    /// Starts SCRAM (the nonce from the caller's entropy, the channel
    /// binding as the server offers and the connection allows).
    #[cfg(feature = "scram")]
    fn start_scram(&mut self, mechanism: Mechanism, creds: &Credentials) {
        use crate::sasl::scram::{Binding, Scram, nonce_from_entropy};
        let (Some(entropy), Credentials::Password { user, .. }) = (&self.entropy, creds) else {
            return;
        };
        let plus_offered = self
            .caps
            .as_ref()
            .is_some_and(|c| c.offers_auth(Mechanism::ScramSha256Plus));
        let binding = match (mechanism, self.tls_exporter) {
            (Mechanism::ScramSha256Plus, Some(exporter)) => Binding::TlsExporter(exporter),
            (Mechanism::ScramSha256, Some(_)) if !plus_offered => Binding::NotOffered,
            (Mechanism::ScramSha256 | Mechanism::ScramSha256Plus, _) => Binding::None,
            _ => return,
        };
        self.scram = Some(Scram::new(user, nonce_from_entropy(entropy), binding));
    }

    /// The server's SCRAM messages: the first is answered with the proof,
    /// the last (its signature) is checked. One that cannot be answered is
    /// cancelled with `*`; a wrong signature ends the session at once.
    #[cfg(feature = "scram")]
    fn on_scram_challenge(&mut self, cmd: Cmd, reply: &Reply) {
        use crate::sasl::scram::ScramError;
        let message = first_line(reply).and_then(crate::base64::decode);
        let password = match &self.config.credentials {
            Some(Credentials::Password { password, .. }) => password.expose(),
            _ => "",
        };
        let Some(scram) = self.scram.as_mut() else {
            return self.write_command(Cmd::AuthCancel, b"*\r\n");
        };
        let answer = message.ok_or(ScramError::Malformed).and_then(|m| {
            if cmd == Cmd::ScramFirst {
                scram.client_final(&m, password).map(Some)
            } else {
                scram.verify_server_final(&m).map(|()| None)
            }
        });
        match answer {
            Ok(Some(client_final)) => {
                let mut line = Vec::new();
                command::base64_line(&mut line, b"", &client_final);
                self.write_command(Cmd::ScramFinal, &line);
            }
            Ok(None) => self.write_command(Cmd::ScramDone, b"\r\n"),
            Err(ScramError::BadServerSignature) => {
                self.fail_at(Stage::Auth, ErrorKind::ServerSignatureMismatch)
            }
            Err(_) => self.write_command(Cmd::AuthCancel, b"*\r\n"),
        }
    }

    /// The mechanism to use: the caller's choice if the server offers it,
    /// else the best one offered that fits the credentials.
    pub(crate) fn auth_mechanism(&self) -> Option<Mechanism> {
        let caps = self.caps.as_ref()?;
        let creds = self.config.credentials.as_ref()?;
        // SCRAM needs the feature and the caller's entropy; -PLUS also the
        // connection's TLS exporter.
        let scram = cfg!(feature = "scram") && self.entropy.is_some();
        let fits = |m: Mechanism| match (creds, m) {
            (Credentials::Password { .. }, Mechanism::Plain | Mechanism::Login) => true,
            (Credentials::Password { .. }, Mechanism::ScramSha256) => scram,
            (Credentials::Password { .. }, Mechanism::ScramSha256Plus) => {
                scram && self.tls_exporter.is_some() && self.encrypted
            }
            (Credentials::OAuth2 { .. }, Mechanism::OAuthBearer | Mechanism::XOAuth2) => true,
            _ => false,
        };
        match self.config.mechanism {
            Some(m) => (caps.offers_auth(m) && fits(m)).then_some(m),
            None => Mechanism::PREFERENCE
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
        match self.phase {
            Phase::Closed => return,
            // Waiting for the reply to a polite QUIT: whatever went wrong
            // now (a deadline, the end of the stream) ends the wait; the
            // error that made the client quit stays the session's.
            Phase::Closing => return self.close(),
            _ => {}
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
                | ErrorKind::OAuthRejected { .. }
        ) || matches!(&kind, ErrorKind::Rejected(r) if r.code().value() != 421 && r.code().value() != 221);
        let error = Error::new(stage, kind);
        // Nothing written but not yet handed out goes.
        self.out.clear();
        self.out_taken = false;
        // A QUIT already on its way (pipelined after the last command) is
        // the one whose reply is awaited.
        let sent = self.pending.len() - self.unsent;
        let quit_on_its_way = self.pending.iter().take(sent).any(|p| p.cmd == Cmd::Quit);
        self.pending.clear();
        self.unsent = 0;
        let lmtp = self.config.protocol == Protocol::Lmtp;
        self.queued = 0;
        for mut tx in core::mem::take(&mut self.txs) {
            let result = result_when_session_ends(&mut tx, lmtp, &error);
            self.events
                .push_back(Event::Outcome(tx.into_outcome(result)));
        }
        self.error = Some(error);
        if !polite {
            return self.close();
        }
        // The server is still listening: QUIT, and wait for its reply.
        self.phase = Phase::Closing;
        if quit_on_its_way {
            let quit = Pending::new(Cmd::Quit, &self.config.timeouts, self.now);
            self.pending.push_back(quit);
        } else {
            self.write_command(Cmd::Quit, b"QUIT\r\n");
        }
    }
}

/// The longest command line, CRLF included (RFC 5321 section 4.5.3.1.4).
const MAX_COMMAND_LINE: usize = 512;

/// What a session without capabilities offers (none: an open session always
/// has them), built once rather than for every MAIL and RCPT.
static NO_CAPS: Capabilities = Capabilities {
    esmtp: false,
    pipelining: false,
    starttls: false,
    eight_bit_mime: false,
    smtp_utf8: false,
    chunking: false,
    binary_mime: false,
    dsn: false,
    enhanced_status_codes: false,
    require_tls: false,
    size: None,
    auth: Vec::new(),
    other: Vec::new(),
};

/// The unencoded SASL response of PLAIN or XOAUTH2 (LOGIN has none).
fn initial_response(mechanism: Mechanism, creds: &Credentials) -> Vec<u8> {
    match mechanism {
        Mechanism::XOAuth2 => command::xoauth2_response(creds),
        Mechanism::OAuthBearer => {
            let (user, token) = command::user_and_secret(creds);
            crate::sasl::oauthbearer_response(user, token)
        }
        _ => command::plain_response(creds),
    }
}

/// The text of a reply's first line (a SASL challenge is one line).
fn first_line(reply: &Reply) -> Option<&[u8]> {
    reply.lines().next()
}

/// True when every refused recipient was refused with a 4yz reply (a
/// greylisting server, a full mailbox): the message may go through later.
pub(crate) fn refusals_transient(recipients: &[RecipientResult]) -> bool {
    let mut refusals = recipients
        .iter()
        .filter_map(|r| r.rcpt_reply.as_ref())
        .filter(|r| !r.is_success())
        .peekable();
    refusals.peek().is_some() && refusals.all(|r| r.class() == ReplyClass::Transient)
}

/// What a message that is still in flight when the session ends is told.
///
/// - With LMTP, once the end of data went out, each recipient stands on
///   its own: one with a delivery reply has its answer (a 421 included,
///   see `record_closing_reply`), one without may or may not have the
///   message ([`RecipientResult::fate_unknown`]). If any recipient got it,
///   the message is delivered (to those).
/// - A message whose end of data was answered (a 421) was refused.
/// - Anything else was not sent, or (its end of data out, no reply) may
///   have been accepted: [`Outcome::fate_unknown`](crate::Outcome::fate_unknown).
// The outcome's own type, stored as it is: boxing it here would only add an
// allocation per message.
#[allow(clippy::result_large_err)]
fn result_when_session_ends(
    tx: &mut Tx,
    lmtp: bool,
    error: &Error,
) -> Result<Reply, TransactionError> {
    let end_of_data_sent = tx.end_of_data_sent();
    if end_of_data_sent {
        // No final word: with SMTP no reply to the end of data, with LMTP
        // no delivery reply for this recipient.
        let ended = tx.ended;
        for r in &mut tx.recipients {
            let accepted = r.rcpt_accepted();
            let unanswered = if lmtp {
                r.delivery_reply.is_none()
            } else {
                !ended
            };
            r.fate_unknown = accepted && unanswered;
        }
    }
    if lmtp && end_of_data_sent {
        let delivered = tx
            .recipients
            .iter()
            .filter_map(|r| r.delivery_reply.as_ref())
            .find(|d| d.is_success());
        if let Some(reply) = delivered {
            return Ok(reply.clone());
        }
    }
    match tx.failure.take() {
        Some(TransactionError::MessageRejected(r)) if tx.ended => {
            Err(TransactionError::MessageRejected(r))
        }
        _ => Err(TransactionError::NotSent(error.clone())),
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
    // Set at queue time when any address needs it (see `Client::send`).
    if env.smtputf8 && !caps.smtp_utf8 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use crate::config::Config;
    use crate::event::Output;
    use crate::time::Instant;

    const NOW: Instant = Instant::ZERO;

    /// A session open for mail with `ehlo` as the server's EHLO reply.
    fn open(ehlo: &[u8]) -> Client {
        let config = Config {
            tls: Some(TlsPolicy::Off),
            ..Config::default()
        };
        let mut client = Client::new(config, NOW);
        client.handle_input(b"220 ready\r\n", NOW);
        drain(&mut client);
        client.handle_input(ehlo, NOW);
        drain(&mut client);
        client
    }

    fn drain(client: &mut Client) -> Vec<u8> {
        let mut sent = Vec::new();
        while let Output::Transmit(bytes) = client.poll_output() {
            sent.extend_from_slice(bytes);
        }
        sent
    }

    fn send(client: &mut Client, recipients: usize) {
        let to =
            (0..recipients).map(|i| Address::new(&alloc::format!("r{i}@example.org")).unwrap());
        let envelope = Envelope::new(Address::new("s@example.org").unwrap(), to);
        client.send(envelope, NOW).unwrap();
    }

    /// For each step: the server's replies arrive, the client then writes
    /// what follows them, and its first message is then in the state shown
    /// (`Debug`, up to its end; `None`: it is finished).
    fn walk(c: &mut Client, steps: &[(&[u8], &[u8], &str)]) {
        for (replies, sent, then) in steps {
            c.handle_input(replies, NOW);
            let after = alloc::string::String::from_utf8_lossy(replies);
            assert_eq!(drain(c), *sent, "after {after:?}");
            let state = alloc::format!("{:?}", c.txs.front().map(|t| &t.state));
            assert!(
                state.starts_with(then),
                "after {after:?}: {state}, not {then}"
            );
        }
    }

    #[test]
    fn without_pipelining_each_step_waits_for_its_reply() {
        let mut c = open(b"250 x\r\n");
        send(&mut c, 2);
        walk(
            &mut c,
            &[
                (
                    b"",
                    b"MAIL FROM:<s@example.org>\r\n",
                    "Some(Envelope { rcpts_written: 0 })",
                ),
                (
                    b"250 ok\r\n",
                    b"RCPT TO:<r0@example.org>\r\n",
                    "Some(Envelope { rcpts_written: 1 })",
                ),
                (
                    b"550 no\r\n",
                    b"RCPT TO:<r1@example.org>\r\n",
                    "Some(Envelope { rcpts_written: 2 })",
                ),
                (b"250 ok\r\n", b"DATA\r\n", "Some(Awaiting354)"),
                (b"354 go\r\n", b"", "Some(Body("),
            ],
        );
        assert!(!c.txs[0].end_of_data_sent());
        c.send_body(b"hi\r\n", true, NOW).unwrap();
        walk(&mut c, &[(b"", b"hi\r\n.\r\n", "Some(AwaitingEndOfData)")]);
        assert!(c.txs[0].end_of_data_sent());
        walk(&mut c, &[(b"250 queued\r\n", b"", "None")]);
    }

    #[test]
    fn with_pipelining_the_envelope_goes_in_one_write() {
        let mut c = open(b"250-x\r\n250 PIPELINING\r\n");
        send(&mut c, 2);
        let envelope: &[u8] =
            b"MAIL FROM:<s@example.org>\r\nRCPT TO:<r0@example.org>\r\nRCPT TO:<r1@example.org>\r\nDATA\r\n";
        walk(
            &mut c,
            &[
                (b"", envelope, "Some(Awaiting354)"),
                // Every recipient refused, yet DATA went through: a lone `.`.
                (
                    b"250 ok\r\n550 no\r\n550 no\r\n354 go\r\n",
                    b".\r\n",
                    "Some(Failed)",
                ),
                (b"250 empty\r\n", b"", "None"),
            ],
        );
    }

    #[test]
    fn a_refused_mail_fails_the_message_and_resets_the_server() {
        let mut c = open(b"250 x\r\n");
        send(&mut c, 1);
        walk(
            &mut c,
            &[
                (
                    b"",
                    b"MAIL FROM:<s@example.org>\r\n",
                    "Some(Envelope { rcpts_written: 0 })",
                ),
                (b"550 no\r\n", b"RSET\r\n", "None"),
            ],
        );
    }
}

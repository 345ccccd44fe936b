//! The client: its state, its inputs (`handle_*`, `send`, `send_body`,
//! `quit`) and its outputs (`poll_output`, `poll_event`). What each reply
//! does is decided in one place, `transitions.rs`.

use crate::body::{BodyEncoder, BodyMode};
use crate::capabilities::Capabilities;
use crate::config::Config;
use crate::envelope::Envelope;
use crate::error::{Error, ErrorKind, ProtocolError, UsageError};
use crate::event::{
    Direction, Event, Outcome, Output, RecipientResult, TransactionId, TranscriptLine,
};
use crate::reply::ReplyParser;
use crate::stage::Stage;
use crate::time::Instant;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::borrow::Borrow;
use core::time::Duration;

/// A command awaiting its reply, named after the [`Stage`] it belongs to
/// (the same words name the step's [`Timeouts`](crate::Timeouts) field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    /// No command: the 220 greeting.
    Init,
    /// EHLO (LHLO with LMTP).
    Helo,
    /// HELO, after EHLO was answered 500 or 502.
    HeloFallback,
    StartTls,
    /// AUTH PLAIN or XOAUTH2 with an initial response.
    Auth,
    /// AUTH PLAIN or XOAUTH2 without one (it would make the line longer
    /// than 512 octets, RFC 4954 section 4): the response follows the 334.
    AuthStart,
    /// The response line sent after the 334 to [`Cmd::AuthStart`].
    AuthResponse,
    /// The empty line answering an XOAUTH2 error challenge.
    AuthAbort,
    /// `*`: the client gives up a SASL exchange the server wants to go on
    /// with (RFC 4954 section 4); the server answers 501.
    AuthCancel,
    /// SCRAM's client-first-message (with AUTH, or after its 334). (Never
    /// written without the `scram` feature.)
    #[cfg_attr(not(feature = "scram"), allow(dead_code))]
    ScramFirst,
    /// SCRAM's client-final-message (the proof).
    #[cfg_attr(not(feature = "scram"), allow(dead_code))]
    ScramFinal,
    /// The empty line after the server's signature was checked.
    #[cfg_attr(not(feature = "scram"), allow(dead_code))]
    ScramDone,
    AuthLogin,
    AuthLoginUsername,
    AuthLoginPassword,
    /// MAIL FROM.
    SetFrom(TransactionId),
    /// RCPT TO for the n-th recipient.
    SetTo(TransactionId, usize),
    /// DATA.
    StartSendData(TransactionId),
    /// The end of data (`.`), SMTP: one reply.
    SendData(TransactionId),
    /// The end of data (`.` or BDAT LAST), LMTP: the delivery reply for the
    /// n-th recipient.
    SendDataDelivery(TransactionId, usize),
    /// A BDAT chunk; `true` for BDAT LAST (SMTP).
    Bdat(TransactionId, bool),
    /// RSET.
    Reset,
    Noop,
    Quit,
}

impl Cmd {
    pub(crate) fn stage(self) -> Stage {
        match self {
            Cmd::Init => Stage::Init,
            Cmd::Helo | Cmd::HeloFallback => Stage::Helo,
            Cmd::StartTls => Stage::StartTls,
            Cmd::Auth
            | Cmd::AuthStart
            | Cmd::AuthResponse
            | Cmd::AuthAbort
            | Cmd::AuthCancel
            | Cmd::ScramFirst
            | Cmd::ScramFinal
            | Cmd::ScramDone => Stage::Auth,
            Cmd::AuthLogin => Stage::AuthLogin,
            Cmd::AuthLoginUsername => Stage::AuthLoginUsername,
            Cmd::AuthLoginPassword => Stage::AuthLoginPassword,
            Cmd::SetFrom(_) => Stage::SetFrom,
            Cmd::SetTo(..) => Stage::SetTo,
            Cmd::StartSendData(_) => Stage::StartSendData,
            Cmd::SendData(_) | Cmd::SendDataDelivery(..) => Stage::SendData,
            Cmd::Bdat(..) => Stage::Bdat,
            Cmd::Reset => Stage::Reset,
            Cmd::Noop => Stage::Noop,
            Cmd::Quit => Stage::Quit,
        }
    }

    /// How long its reply may take: the [`Timeouts`](crate::Timeouts) field
    /// named after its stage.
    pub(crate) fn timeout(self, t: &crate::time::Timeouts) -> Duration {
        match self {
            Cmd::Init => t.init,
            Cmd::SetFrom(_) => t.set_from,
            Cmd::SetTo(..) => t.set_to,
            Cmd::StartSendData(_) => t.start_send_data,
            Cmd::Bdat(_, false) => t.data_block,
            Cmd::SendData(_) | Cmd::SendDataDelivery(..) | Cmd::Bdat(_, true) => t.send_data,
            _ => t.command,
        }
    }

    /// True for the commands RFC 2920 section 3.1 puts last in a pipelined
    /// group (EHLO, DATA, NOOP, QUIT, and STARTTLS and AUTH, whose replies
    /// change the session): nothing is written after them until their reply
    /// has come.
    pub(crate) fn ends_group(self) -> bool {
        !matches!(
            self,
            Cmd::SetFrom(_)
                | Cmd::SetTo(..)
                | Cmd::SendData(_)
                | Cmd::SendDataDelivery(..)
                | Cmd::Bdat(..)
                | Cmd::Reset
        )
    }

    pub(crate) fn tx(self) -> Option<TransactionId> {
        match self {
            Cmd::SetFrom(t)
            | Cmd::SetTo(t, _)
            | Cmd::StartSendData(t)
            | Cmd::SendData(t)
            | Cmd::SendDataDelivery(t, _)
            | Cmd::Bdat(t, _) => Some(t),
            _ => None,
        }
    }
}

/// A command awaiting its reply. Its clock starts when it becomes the
/// oldest one waiting (when it is written, or when the reply before it
/// arrives): with pipelining, each command gets its whole timeout (RFC 5321
/// section 4.5.3.2 times each command, not a group).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub(crate) cmd: Cmd,
    pub(crate) timeout: Duration,
    /// Only meaningful for the oldest pending command.
    pub(crate) deadline: Instant,
}

impl Pending {
    /// `cmd`, awaiting its reply from `now` on, with the timeout of its stage.
    pub(crate) fn new(cmd: Cmd, timeouts: &crate::time::Timeouts, now: Instant) -> Self {
        let timeout = cmd.timeout(timeouts);
        Pending {
            cmd,
            timeout,
            deadline: now + timeout,
        }
    }
}

/// Where the session as a whole is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Greeting, EHLO, STARTTLS, AUTH.
    Opening,
    /// Waiting for the caller's TLS handshake.
    TlsHandshake,
    /// Messages may be sent.
    Open,
    /// The session failed while the server was still listening: QUIT is
    /// out and its reply awaited (RFC 5321 section 4.1.1.10: the client
    /// SHOULD wait for it), bounded by the QUIT deadline. Any reply, the
    /// end of the stream or the deadline ends it.
    Closing,
    /// Over (after QUIT, or failed).
    Closed,
}

/// Where one message (one mail transaction) is. The states follow each
/// other in this order (a message may skip to [`TxState::Failed`]); what is
/// written in each is decided in one place, the scheduler
/// ([`Client::pump`]), and each reply only records what it says (and moves
/// a message on from [`TxState::Awaiting354`]). With PIPELINING replies to
/// earlier commands of the message may still be due in any state: a message
/// leaves the client (its [`Outcome`] reported) once it is
/// [`AwaitingEndOfData`](TxState::AwaitingEndOfData) or
/// [`Failed`](TxState::Failed) and none of its commands awaits a reply.
#[derive(Debug)]
pub(crate) enum TxState {
    /// Queued behind the messages before it; nothing of it is written. The
    /// scheduler starts it (RSET first if the server may hold an earlier
    /// transaction, then its checks and MAIL FROM) once the message started
    /// last is past its body and a command may be written. The caller has
    /// nothing to do: its body is asked for when its turn comes.
    Queued,
    /// MAIL FROM and the first `rcpts_written` RCPT TO are written (none yet
    /// right after MAIL: awaiting the MAIL reply, without PIPELINING). The
    /// scheduler writes the next RCPT TO whenever a command may be written
    /// (without PIPELINING: once the reply before came); after the last
    /// one it writes DATA, or starts a BDAT body, at once with PIPELINING,
    /// else (or when the body must wait for the recipients, see
    /// `body_waits_for_recipients`) once every RCPT is answered and one was
    /// accepted. The caller waits.
    Envelope { rcpts_written: usize },
    /// DATA is written; its 354 is awaited. A 354 moves the message to
    /// [`TxState::GoAhead`], a refusal to [`TxState::Failed`]. The caller
    /// waits.
    Awaiting354,
    /// The 354 came. The scheduler starts the body, or, when no recipient
    /// was accepted (RFC 2920 section 3.1), ends the empty message at once
    /// with a lone `.` and the message is [`TxState::Failed`].
    GoAhead,
    /// The body is being taken from the caller: `poll_output` says
    /// `NeedBody` and the caller gives `send_body` chunks until `last`. With
    /// DATA they go out dot-stuffed; with BDAT each is a BDAT command (at
    /// most `MAX_BDAT_IN_FLIGHT` awaiting replies). The last chunk writes the
    /// end of data (the `.`, or BDAT LAST): [`TxState::AwaitingEndOfData`].
    /// A failure (every recipient refused, a chunk refused) stops the body:
    /// [`TxState::Failed`], and the caller is not asked for the rest.
    /// Only the message started last can be here; it holds the body's
    /// encoder.
    Body(BodyState),
    /// The end of data (the `.` or BDAT LAST) is written; its reply, with
    /// LMTP one per accepted recipient, is awaited. Nothing more is written
    /// for the message; the caller waits for its outcome. This is the only
    /// state in which the end of data has been sent.
    AwaitingEndOfData,
    /// Nothing more is written for the message, and its end of data never
    /// went out: it failed (its checks, a refusal, its body stopped), or a
    /// lone `.` ended a DATA no recipient should get. Replies to what was
    /// written are still awaited; then its outcome is reported (and RSET
    /// written when the server may still hold the transaction).
    Failed,
}

impl TxState {
    /// True from MAIL FROM until the end of data is written: the next
    /// message may not start yet.
    pub(crate) fn before_end_of_data(&self) -> bool {
        matches!(
            self,
            TxState::Envelope { .. } | TxState::Awaiting354 | TxState::GoAhead | TxState::Body(_)
        )
    }
}

#[derive(Debug)]
pub(crate) struct Tx {
    pub(crate) id: TransactionId,
    /// What MAIL FROM and the checks need: the caller's envelope without
    /// its recipients, whose addresses are in `recipients` from the start.
    /// It keeps the recipients only when one of them has DSN parameters,
    /// so that an envelope lent by the caller costs no copy of its list.
    pub(crate) envelope: Envelope,
    pub(crate) recipients: Vec<RecipientResult>,
    pub(crate) state: TxState,
    pub(crate) failure: Option<crate::error::TransactionError>,
    pub(crate) final_reply: Option<crate::reply::Reply>,
    /// The body goes in BDAT chunks (chosen when MAIL is written).
    pub(crate) bdat: bool,
    /// The server has answered the end of data: its transaction state is
    /// reset, no RSET is needed.
    pub(crate) ended: bool,
}

impl Tx {
    /// The end of data (or BDAT LAST) went out.
    pub(crate) fn end_of_data_sent(&self) -> bool {
        matches!(self.state, TxState::AwaitingEndOfData)
    }

    /// How many RCPT TO were accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.recipients.iter().filter(|r| r.rcpt_accepted()).count()
    }

    /// Every RCPT has been answered.
    pub(crate) fn all_answered(&self) -> bool {
        self.recipients.iter().all(|r| r.rcpt_reply.is_some())
    }

    /// The failure of a message no recipient accepted (transient when every
    /// refusal was).
    pub(crate) fn no_recipient_error(&self) -> crate::error::TransactionError {
        crate::error::TransactionError::NoRecipientAccepted {
            transient: crate::transitions::refusals_transient(&self.recipients),
        }
    }

    /// The message's outcome.
    pub(crate) fn into_outcome(
        self,
        result: Result<crate::reply::Reply, crate::error::TransactionError>,
    ) -> Outcome {
        Outcome {
            id: self.id,
            end_of_data_sent: self.end_of_data_sent(),
            recipients: self.recipients,
            result,
        }
    }
}

/// A body being taken from the caller.
#[derive(Debug)]
pub(crate) struct BodyState {
    pub(crate) encoder: BodyEncoder,
    /// Octets given so far, as given (for the transcript).
    pub(crate) octets: u64,
}

/// The sans-IO SMTP client. See the [crate docs](crate) for the drain loop.
pub struct Client {
    pub(crate) config: Config,
    pub(crate) parser: ReplyParser,
    pub(crate) out: Vec<u8>,
    /// `out` was handed to the caller and is cleared on the next call.
    pub(crate) out_taken: bool,
    pub(crate) scratch: Vec<u8>,
    pub(crate) pending: VecDeque<Pending>,
    /// How many of the last `pending` commands are not yet handed to the
    /// caller for transmission. A reply to one of them cannot be its
    /// answer (no server answers what it has not received): it is an
    /// extra reply, a protocol error.
    pub(crate) unsent: usize,
    pub(crate) phase: Phase,
    pub(crate) caps: Option<Capabilities>,
    /// PIPELINING is configured and `caps` offers it (asked for every
    /// command written, so kept rather than looked up): see
    /// [`Client::set_caps`].
    pub(crate) pipelining: bool,
    pub(crate) encrypted: bool,
    pub(crate) starttls_refused: bool,
    pub(crate) txs: VecDeque<Tx>,
    /// How many of `txs` are [`TxState::Queued`]: always the last ones (a
    /// queued message leaves only by starting, or with all the others when
    /// the session fails).
    pub(crate) queued: usize,
    pub(crate) events: VecDeque<Event>,
    pub(crate) error: Option<Error>,
    pub(crate) quit_asked: bool,
    /// QUIT has been written.
    pub(crate) quit_sent: bool,
    /// The server may hold a mail transaction that nothing written so far
    /// ends (MAIL went out, and neither the end of data, nor RSET, nor a
    /// BDAT LAST that was accepted followed): the next MAIL needs RSET first.
    pub(crate) server_tx_open: bool,
    pub(crate) next_id: u64,
    pub(crate) now: Instant,
    /// The caller's random bytes for this connection (SCRAM's nonce).
    pub(crate) entropy: Option<[u8; 18]>,
    /// The connection's TLS exporter, for SCRAM-SHA-256-PLUS.
    pub(crate) tls_exporter: Option<[u8; 32]>,
    /// The SCRAM exchange under way.
    #[cfg(feature = "scram")]
    pub(crate) scram: Option<crate::sasl::scram::Scram>,
    /// What an OAuth error challenge said, for the failure that follows.
    pub(crate) oauth_status: Option<alloc::string::String>,
}

/// How many BDAT chunks may await their replies at once (pipelined), so a
/// server that stops reading cannot make both sides block on writes.
pub(crate) const MAX_BDAT_IN_FLIGHT: usize = 32;

impl core::fmt::Debug for Client {
    /// Shows where the session is, never the buffers (they may hold
    /// credentials on their way out).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("stage", &self.stage())
            .field("encrypted", &self.encrypted)
            .field("capabilities", &self.caps)
            .field("awaiting_replies", &self.pending.len())
            .field("messages", &self.txs.len())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for a connection opened at `now`; it first waits for the
    /// greeting.
    pub fn new(config: Config, now: Instant) -> Self {
        let mut pending = VecDeque::new();
        pending.push_back(Pending::new(Cmd::Init, &config.timeouts, now));
        Client {
            parser: ReplyParser::new(config.reply_limits),
            encrypted: config.implicit_tls,
            config,
            out: Vec::new(),
            out_taken: false,
            scratch: Vec::new(),
            pending,
            unsent: 0,
            phase: Phase::Opening,
            caps: None,
            pipelining: false,
            starttls_refused: false,
            txs: VecDeque::new(),
            queued: 0,
            events: VecDeque::new(),
            error: None,
            quit_asked: false,
            quit_sent: false,
            server_tx_open: false,
            next_id: 1,
            now,
            entropy: None,
            tls_exporter: None,
            #[cfg(feature = "scram")]
            scram: None,
            oauth_status: None,
        }
    }

    /// Random bytes for this connection, from a secure source (the core has
    /// no RNG): SCRAM's client nonce is made from them, so without them
    /// SCRAM is never chosen. Fresh ones for every connection.
    pub fn set_entropy(&mut self, entropy: [u8; 18]) {
        self.entropy = Some(entropy);
    }

    /// This connection's TLS exporter, for SCRAM-SHA-256-PLUS: 32 octets
    /// exported with the label
    /// [`TLS_EXPORTER_LABEL`](crate::TLS_EXPORTER_LABEL) and no context (RFC
    /// 9266), once the handshake is done (implicit TLS, or STARTTLS before
    /// [`handle_tls_established`](Client::handle_tls_established)). With it,
    /// SCRAM-SHA-256-PLUS is used where offered, and plain SCRAM-SHA-256
    /// says the client could have bound the channel (a stripped -PLUS offer
    /// then fails).
    pub fn set_tls_exporter(&mut self, exporter: [u8; 32]) {
        self.tls_exporter = Some(exporter);
    }

    /// The configuration the client was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the dialogue is (the stage of the oldest command awaiting its
    /// reply, when there is one).
    pub fn stage(&self) -> Stage {
        if self.phase == Phase::Closed {
            return Stage::Finish;
        }
        if let Some(p) = self.pending.front() {
            return p.cmd.stage();
        }
        match (self.phase, self.body_tx()) {
            (Phase::TlsHandshake, _) => Stage::TlsHandshake,
            (_, Some(tx)) if tx.bdat => Stage::Bdat,
            (_, Some(_)) => Stage::SendData,
            (Phase::Open, None) => Stage::Ready,
            _ => Stage::Init,
        }
    }

    /// What the server offers (after EHLO; reset by STARTTLS).
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.caps.as_ref()
    }

    /// True when the connection is encrypted (implicit TLS, or STARTTLS done).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// The error that ended the session, if one did.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// True once the session is over.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// True when no message is queued or in progress.
    pub fn is_idle(&self) -> bool {
        self.txs.is_empty()
    }

    /// How many messages [`Client::send`] has queued on this connection
    /// (sent or tried).
    pub fn messages_queued(&self) -> u64 {
        self.next_id - 1
    }

    /// Bytes received from the server.
    pub fn handle_input(&mut self, mut input: &[u8], now: Instant) {
        self.reclaim(now);
        while !input.is_empty() && self.phase != Phase::Closed {
            if self.phase == Phase::TlsHandshake {
                return self.fail(ErrorKind::Protocol(ProtocolError::StartTlsInjection));
            }
            // Matched in place: a `Reply` is 128 bytes, not worth moving
            // more than once on its way to `on_reply`.
            let mut used = 0;
            let parsed = self.parser.parse_into(input, &mut used);
            input = &input[used..];
            match parsed {
                Ok(None) => {}
                Ok(Some(reply)) => {
                    self.record_reply(&reply);
                    if self.unsent > 0 && self.unsent == self.pending.len() {
                        // An answer to a command the server has not been sent.
                        return self.fail(ErrorKind::Protocol(ProtocolError::UnexpectedBytes));
                    }
                    self.on_reply(reply);
                }
                Err(e) => return self.fail(ErrorKind::Protocol(ProtocolError::Reply(e))),
            }
        }
    }

    /// The server closed its side of the connection.
    pub fn handle_eof(&mut self, now: Instant) {
        self.reclaim(now);
        if self.phase == Phase::Closed {
            return;
        }
        let only_quit = self.pending.iter().all(|p| p.cmd == Cmd::Quit) && !self.pending.is_empty();
        if only_quit && self.txs.is_empty() && !self.parser.is_mid_reply() {
            // Servers may close without waiting for us to read their 221.
            self.close();
        } else {
            self.fail(ErrorKind::ConnectionClosed);
        }
    }

    /// The connection failed on the caller's side (a read or write error, a
    /// write timeout): the session ends, and every message not yet accepted
    /// is reported not sent.
    pub fn handle_transport_error(&mut self, now: Instant) {
        self.reclaim(now);
        self.fail(ErrorKind::TransportFailed);
    }

    /// Reading the message body failed on the caller's side (a file or
    /// pipe error): the body cannot be completed, so the session ends
    /// without the terminator and the message is reported not sent.
    ///
    /// Only while a body is being taken (after [`Output::NeedBody`]);
    /// otherwise [`UsageError::NotExpectingBody`], and nothing changes.
    pub fn handle_body_error(&mut self, now: Instant) -> Result<(), UsageError> {
        self.reclaim(now);
        if self.body_tx().is_none() || self.phase != Phase::Open {
            return Err(UsageError::NotExpectingBody);
        }
        let stage = self.stage();
        self.fail_at(stage, ErrorKind::BodySourceFailed);
        Ok(())
    }

    /// The TLS handshake asked for by [`Output::StartTls`] (or the implicit
    /// TLS one before the greeting) failed: the session ends and nothing more
    /// is sent.
    ///
    /// Only while a handshake is due: after [`Output::StartTls`], or with
    /// [`Config::implicit_tls`] before anything arrived; otherwise
    /// [`UsageError::NotExpectingTls`], and nothing changes.
    pub fn handle_tls_failed(&mut self, now: Instant) -> Result<(), UsageError> {
        self.reclaim(now);
        let implicit_handshake = self.config.implicit_tls
            && self.pending.front().is_some_and(|p| p.cmd == Cmd::Init)
            && !self.parser.is_mid_reply();
        if self.phase != Phase::TlsHandshake && !implicit_handshake {
            return Err(UsageError::NotExpectingTls);
        }
        self.fail(ErrorKind::TlsFailed);
        Ok(())
    }

    /// Time has passed: fails the session if the current deadline is past.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.reclaim(now);
        if self.phase == Phase::Closed {
            return;
        }
        if self.pending.front().is_some_and(|p| p.deadline <= now) {
            self.fail(ErrorKind::Timeout);
        }
    }

    /// The TLS handshake asked for by [`Output::StartTls`] succeeded; the
    /// client sends EHLO again on the encrypted channel.
    pub fn handle_tls_established(&mut self, now: Instant) -> Result<(), UsageError> {
        self.reclaim(now);
        if self.phase != Phase::TlsHandshake {
            return Err(UsageError::NotExpectingTls);
        }
        self.encrypted = true;
        self.phase = Phase::Opening;
        self.set_caps(None);
        self.send_hello();
        Ok(())
    }

    /// Queues a message; the client asks for its body with
    /// [`Output::NeedBody`] when its turn comes, and reports how it fared
    /// with [`Event::Outcome`]. The envelope may be lent (`&envelope`) or
    /// given: the client keeps only what it needs of it.
    pub fn send(
        &mut self,
        envelope: impl Borrow<Envelope>,
        now: Instant,
    ) -> Result<TransactionId, UsageError> {
        let envelope = envelope.borrow();
        self.reclaim(now);
        if self.is_ending() || self.quit_asked {
            return Err(UsageError::SessionClosed);
        }
        Client::check_envelope(envelope)?;
        let id = TransactionId(self.next_id);
        self.next_id += 1;
        let recipients = envelope
            .recipients
            .iter()
            .map(|r| RecipientResult {
                address: r.address.clone(),
                rcpt_reply: None,
                delivery_reply: None,
                fate_unknown: false,
            })
            .collect();
        let rcpt_params = envelope
            .recipients
            .iter()
            .any(|r| r.notify.is_some() || r.orcpt.is_some());
        let envelope = Envelope {
            from: envelope.from.clone(),
            recipients: match rcpt_params {
                true => envelope.recipients.clone(),
                false => Vec::new(),
            },
            size: envelope.size,
            body_type: envelope.body_type,
            dsn_return: envelope.dsn_return,
            dsn_envid: envelope.dsn_envid.clone(),
            require_dsn: envelope.require_dsn,
            require_tls: envelope.require_tls,
            // Found once per message (each address knows its own).
            smtputf8: envelope.needs_smtputf8(),
        };
        self.txs.push_back(Tx {
            id,
            envelope,
            recipients,
            state: TxState::Queued,
            failure: None,
            final_reply: None,
            bdat: false,
            ended: false,
        });
        self.queued += 1;
        // Behind another queued message it changes nothing the scheduler
        // decides on (it starts the first queued one, and has run after
        // every input), so only the first queued one needs it.
        if self.queued == 1 {
            self.pump();
        }
        Ok(id)
    }

    /// What [`Client::send`] refuses in an envelope itself, whatever the
    /// session's state: no recipient, or an ENVID too long. A caller that
    /// queues several messages as one (all or none) checks each first.
    pub fn check_envelope(envelope: &Envelope) -> Result<(), UsageError> {
        if envelope.recipients.is_empty() {
            return Err(UsageError::NoRecipients);
        }
        if envelope
            .dsn_envid
            .as_ref()
            .is_some_and(|e| e.as_str().len() > crate::address::XText::MAX_ENVID)
        {
            // An XText built for ORCPT, too long for ENVID.
            return Err(UsageError::InvalidInput(
                crate::address::InvalidInput::TooLong(crate::address::XText::MAX_ENVID),
            ));
        }
        Ok(())
    }

    /// The next chunk of the body asked for by [`Output::NeedBody`];
    /// `last` ends it. Chunks may have any size, empty ones included; the
    /// client normalises line ends and dot-stuffs across chunk boundaries.
    pub fn send_body(&mut self, chunk: &[u8], last: bool, now: Instant) -> Result<(), UsageError> {
        self.reclaim(now);
        if self.is_ending() || self.body_tx().is_none() {
            return Err(UsageError::NotExpectingBody);
        }
        self.on_body(chunk, last);
        Ok(())
    }

    /// Ends the session with QUIT once every queued message is done.
    pub fn quit(&mut self, now: Instant) {
        self.reclaim(now);
        if !self.is_ending() {
            self.quit_asked = true;
            self.pump();
        }
    }

    /// Sends NOOP (to keep an idle session alive, or to check it still is).
    /// Only while the session is idle.
    pub fn noop(&mut self, now: Instant) -> Result<(), UsageError> {
        self.simple_command(Cmd::Noop, b"NOOP\r\n", now)
    }

    /// Sends RSET. Only while the session is idle.
    pub fn rset(&mut self, now: Instant) -> Result<(), UsageError> {
        self.simple_command(Cmd::Reset, b"RSET\r\n", now)
    }

    fn simple_command(&mut self, cmd: Cmd, line: &[u8], now: Instant) -> Result<(), UsageError> {
        self.reclaim(now);
        if self.is_ending() || self.quit_asked {
            return Err(UsageError::SessionClosed);
        }
        if self.phase != Phase::Open || !self.txs.is_empty() || !self.pending.is_empty() {
            return Err(UsageError::Busy);
        }
        self.write_command(cmd, line);
        Ok(())
    }

    /// What to do next; see [`Output`]. Call it until it returns
    /// [`Output::Wait`], [`Output::Ready`] or [`Output::Closed`], draining
    /// [`poll_event`](Client::poll_event) as you go.
    #[inline]
    pub fn poll_output(&mut self) -> Output<'_> {
        if self.out_taken {
            self.out.clear();
            self.out_taken = false;
        }
        if !self.out.is_empty() {
            self.out_taken = true;
            self.mark_sent();
            return Output::Transmit(&self.out);
        }
        match self.phase {
            Phase::Closed => return Output::Closed(self.error.clone().map_or(Ok(()), Err)),
            Phase::TlsHandshake => return Output::StartTls,
            _ => {}
        }
        if let Some(tx) = self.body_tx() {
            // BDAT chunks awaiting their replies.
            let in_flight = self
                .pending
                .iter()
                .filter(|p| matches!(p.cmd, Cmd::Bdat(..)))
                .count();
            let limit = if self.pipelining() {
                MAX_BDAT_IN_FLIGHT
            } else {
                1
            };
            if in_flight < limit {
                return Output::NeedBody(tx.id);
            }
        }
        match self.pending.front() {
            Some(p) => Output::Wait(p.deadline),
            None => Output::Ready,
        }
    }

    /// The bytes to write now, owned: what [`Client::poll_output`] would
    /// hand out as [`Output::Transmit`], moved out without a copy, for a
    /// writer that must own them (another task, a DMA or io_uring buffer).
    /// `None` when there is nothing to write; then call `poll_output` as
    /// usual. The client starts a new buffer for what comes next.
    pub fn take_transmit(&mut self) -> Option<bytes::Bytes> {
        if self.out_taken {
            self.out.clear();
            self.out_taken = false;
        }
        if self.out.is_empty() {
            return None;
        }
        self.mark_sent();
        Some(bytes::Bytes::from(core::mem::take(&mut self.out)))
    }

    /// Everything written so far is on its way: the clocks of the commands
    /// in it may start.
    fn mark_sent(&mut self) {
        self.unsent = 0;
    }

    /// The next event, if any.
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Forgets bytes already handed out, and notes the time.
    fn reclaim(&mut self, now: Instant) {
        if self.out_taken {
            self.out.clear();
            self.out_taken = false;
        }
        if now > self.now {
            self.now = now;
        }
    }

    /// Where message `id` is in `txs`. Ids are consecutive and finished
    /// messages mostly leave from the front, so `id - txs[0].id` is its
    /// place; one that left from the middle (a message failing its checks
    /// settles at once) shifts those after it, found by a binary search
    /// (ids stay in increasing order).
    #[inline(always)]
    pub(crate) fn tx_pos(&self, id: TransactionId) -> Option<usize> {
        let first = self.txs.front()?.id.0;
        let guess = usize::try_from(id.0.checked_sub(first)?).ok()?;
        if self.txs.get(guess).is_some_and(|t| t.id == id) {
            return Some(guess);
        }
        self.txs.binary_search_by_key(&id, |t| t.id).ok()
    }

    #[inline(always)]
    pub(crate) fn tx(&self, id: TransactionId) -> Option<&Tx> {
        self.txs.get(self.tx_pos(id)?)
    }

    #[inline(always)]
    pub(crate) fn tx_mut(&mut self, id: TransactionId) -> Option<&mut Tx> {
        let pos = self.tx_pos(id)?;
        self.txs.get_mut(pos)
    }

    /// How many messages have started (MAIL went out): the first ones in
    /// `txs`, the queued ones follow.
    #[inline]
    pub(crate) fn started(&self) -> usize {
        self.txs.len() - self.queued
    }

    /// True while a command of message `id` awaits its reply.
    pub(crate) fn awaits_reply(&self, id: TransactionId) -> bool {
        self.pending.iter().any(|p| p.cmd.tx() == Some(id))
    }

    /// True once the session has failed or ended (it may still be waiting
    /// for the reply to a polite QUIT).
    pub(crate) fn is_ending(&self) -> bool {
        matches!(self.phase, Phase::Closing | Phase::Closed)
    }

    /// True when commands may be pipelined on this session.
    #[inline]
    pub(crate) fn pipelining(&self) -> bool {
        self.pipelining
    }

    /// What the server offers (from its EHLO reply; none after STARTTLS).
    pub(crate) fn set_caps(&mut self, caps: Option<Capabilities>) {
        self.pipelining = self.config.pipelining && caps.as_ref().is_some_and(|c| c.pipelining);
        self.caps = caps;
    }

    /// Writes a whole command line and queues its pending reply.
    #[inline]
    pub(crate) fn write_command(&mut self, cmd: Cmd, line: &[u8]) {
        let start = self.out.len();
        self.out.extend_from_slice(line);
        self.await_reply(cmd, start..self.out.len());
    }

    /// Queues the reply for a command just written, and records its line,
    /// `out[line]`, in the transcript (an empty range records nothing: a
    /// further LMTP delivery reply, or the data after a BDAT line).
    #[inline(always)]
    pub(crate) fn await_reply(&mut self, cmd: Cmd, line: core::ops::Range<usize>) {
        if matches!(cmd, Cmd::Quit) {
            self.quit_sent = true;
        }
        // The clock of a command behind others starts when the reply before
        // it arrives (see `Pending`, `pop_pending`): only the oldest one
        // needs its deadline now.
        let timeout = cmd.timeout(&self.config.timeouts);
        let deadline = if self.pending.is_empty() {
            self.now + timeout
        } else {
            self.now
        };
        self.pending.push_back(Pending {
            cmd,
            timeout,
            deadline,
        });
        self.unsent += 1;
        if self.config.transcript {
            self.transcript_command(cmd, line);
        }
    }

    /// The transcript line of a command just written, `out[line]`, with
    /// secrets redacted.
    fn transcript_command(&mut self, cmd: Cmd, line: core::ops::Range<usize>) {
        let line = &self.out[line];
        let line = line.strip_suffix(b"\r\n").unwrap_or(line);
        let text = match cmd {
            Cmd::AuthLoginUsername
            | Cmd::AuthLoginPassword
            | Cmd::AuthResponse
            | Cmd::ScramFinal => b"<redacted>".to_vec(),
            Cmd::ScramFirst if !line.starts_with(b"AUTH ") => b"<redacted>".to_vec(),
            Cmd::Auth | Cmd::ScramFirst => {
                let verb_len = line.iter().rposition(|&b| b == b' ').unwrap_or(line.len());
                [&line[..verb_len], b" <redacted>"].concat()
            }
            _ => line.to_vec(),
        };
        self.transcript(cmd.stage(), Direction::Client, text);
    }

    pub(crate) fn transcript(&mut self, stage: Stage, direction: Direction, text: Vec<u8>) {
        if !text.is_empty() || direction == Direction::Server {
            self.events.push_back(Event::Transcript(TranscriptLine {
                stage,
                direction,
                text,
            }));
        }
    }

    fn record_reply(&mut self, reply: &crate::reply::Reply) {
        if !self.config.transcript {
            return;
        }
        let n = reply.line_count();
        for (i, line) in reply.lines().enumerate() {
            let mut text = Vec::with_capacity(line.len() + 4);
            crate::command::push_decimal(&mut text, u64::from(reply.code().value()));
            text.push(if i + 1 == n { b' ' } else { b'-' });
            text.extend_from_slice(line);
            // A reply belongs to the stage of the command it answers.
            self.transcript(self.stage(), Direction::Server, text);
        }
    }

    /// Ends the session after QUIT (the error that made it quit, if one
    /// did, stays its result).
    pub(crate) fn close(&mut self) {
        self.phase = Phase::Closed;
        self.pending.clear();
        self.unsent = 0;
        let result = self.error.clone().map_or(Ok(()), Err);
        self.events.push_back(Event::Closed(result));
    }

    /// Pops the oldest pending command for the reply that just arrived; the
    /// next one's clock starts now.
    pub(crate) fn pop_pending(&mut self) {
        self.pending.pop_front();
        self.unsent = self.unsent.min(self.pending.len());
        let now = self.now;
        if let Some(next) = self.pending.front_mut() {
            next.deadline = now + next.timeout;
        }
    }

    /// Starts taking the body of `id`.
    #[inline]
    pub(crate) fn begin_body(&mut self, id: TransactionId, mode: BodyMode) {
        if let Some(tx) = self.tx_mut(id) {
            tx.state = TxState::Body(BodyState {
                encoder: BodyEncoder::new(mode),
                octets: 0,
            });
        }
    }

    /// The message whose body is being taken, if one is: only the message
    /// started last can be taking one (see [`TxState::Body`]).
    pub(crate) fn body_tx(&self) -> Option<&Tx> {
        let last = self.started().checked_sub(1)?;
        self.txs
            .get(last)
            .filter(|t| matches!(t.state, TxState::Body(_)))
    }
}

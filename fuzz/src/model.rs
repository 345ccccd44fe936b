//! An independent model of the dialogue, fed with what the client wrote and
//! what the server sent. It splits the client's bytes into command lines,
//! DATA bodies and BDAT chunks, pairs every server reply with the command it
//! answers (SMTP replies come in order), and checks the wire invariants:
//!
//! - every command line has exactly one CRLF, at its end;
//! - no AUTH (nor any credential) crosses an unencrypted connection unless
//!   `allow_plaintext_auth`; with TLS required, nothing but EHLO/HELO,
//!   STARTTLS and QUIT goes out before TLS;
//! - DATA (or BDAT) is not sent, without PIPELINING (or with all-or-nothing
//!   recipients), before every RCPT was answered and one was accepted (all,
//!   for all-or-nothing); with PIPELINING, message content never follows a
//!   354 when no recipient was accepted (RFC 2920 section 3.1);
//! - DATA bodies are dot-stuffed and unstuff to the normalised body; BDAT
//!   chunk sizes add up to the bytes sent, which are the normalised body;
//! - nothing follows QUIT; the first command after TLS is EHLO/LHLO;
//! - no command is written while the reply to one that ends a pipelined
//!   group is awaited (RFC 2920 section 3.1: EHLO, DATA, NOOP, QUIT, and
//!   STARTTLS and AUTH, whose replies change the session);
//! - MAIL never goes out while the server may still hold an earlier
//!   transaction that nothing ended: after MAIL, only the end of data, an
//!   accepted BDAT LAST, a refused MAIL or RSET closes one (RFC 5321 section
//!   4.1.1.2, RFC 3030 section 2: Postfix answers "503 nested MAIL");
//! - an AUTH line is at most 512 octets (RFC 4954 section 4: a longer
//!   initial response goes after the 334 instead), and a 334 the client
//!   cannot answer is cancelled with `*`, never answered with QUIT;
//! - outcomes agree with the wire: delivered only after a 2xx to the end of
//!   data; a failure is transient exactly when every refusal behind it is
//!   4yz; with LMTP, every recipient with a 2xx delivery reply is reported
//!   delivered, and one that got no delivery reply before the session
//!   ended is reported with its fate unknown.
//!
//! Messages are recognised by their addresses: message `k` goes from
//! `s{k}@example.org` to `r{k}.{i}@example.org`.

use smtp_proto::{Instant, Outcome, Reply, ReplyLimits, ReplyParser, Timeouts, TransactionError};
use std::collections::VecDeque;
use std::time::Duration;

/// What a command written by the client expects as its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exp {
    /// The 220 greeting.
    Init,
    /// EHLO or LHLO.
    Helo,
    /// HELO after EHLO was refused.
    HeloFallback,
    StartTls,
    Auth,
    /// `AUTH PLAIN` or `AUTH XOAUTH2` without an initial response.
    AuthStart,
    /// `*`: a SASL exchange cancelled.
    AuthCancel,
    AuthLogin,
    AuthLoginUsername,
    AuthLoginPassword,
    AuthAbort,
    SetFrom(usize),
    SetTo(usize, usize),
    StartSendData(usize),
    /// The end of data.
    SendData(usize),
    /// LMTP: the delivery reply for one recipient to the end of data.
    SendDataDelivery(usize, usize),
    Bdat(usize, bool),
    Reset,
    Noop,
    Quit,
}

impl Exp {
    fn is_auth(self) -> bool {
        matches!(
            self,
            Exp::Auth
                | Exp::AuthStart
                | Exp::AuthCancel
                | Exp::AuthLogin
                | Exp::AuthLoginUsername
                | Exp::AuthLoginPassword
                | Exp::AuthAbort
        )
    }

    /// How long the client may wait for this reply (RFC 5321 section
    /// 4.5.3.2, as `Timeouts` names them).
    pub fn timeout(self, t: &Timeouts) -> Duration {
        match self {
            Exp::Init => t.init,
            Exp::SetFrom(_) => t.set_from,
            Exp::SetTo(..) => t.set_to,
            Exp::StartSendData(_) => t.start_send_data,
            Exp::Bdat(_, false) => t.data_block,
            Exp::SendData(_) | Exp::SendDataDelivery(..) | Exp::Bdat(_, true) => t.send_data,
            _ => t.command,
        }
    }

    /// RFC 2920 section 3.1: nothing may follow it until its reply.
    fn ends_group(self) -> bool {
        !matches!(
            self,
            Exp::SetFrom(_)
                | Exp::SetTo(..)
                | Exp::SendData(_)
                | Exp::SendDataDelivery(..)
                | Exp::Bdat(..)
                | Exp::Reset
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Nothing,
    AuthLogin,
    AuthUser,
    AuthXOAuth2,
    /// `AUTH PLAIN` alone: the next line is the response.
    AuthStartPlain,
    /// `AUTH XOAUTH2` alone.
    AuthStartXOAuth2,
}

/// What the model knows of one message.
#[derive(Debug, Default)]
pub struct TxModel {
    pub rcpts: usize,
    pub body: Vec<u8>,
    pub binary: bool,
    pub mail_sent: bool,
    pub rcpt_sent: usize,
    pub rcpt_replies: Vec<Option<Reply>>,
    pub data_sent: bool,
    /// The reply to its DATA.
    pub data_reply: Option<Reply>,
    pub end_sent: bool,
    /// The first 2xx reply to the end of its data (or, LMTP, to a delivery).
    pub end_ok: Option<Reply>,
    pub delivery: Vec<Option<Reply>>,
    pub data_body: Vec<u8>,
    pub content_checked: bool,
    pub bdat_payload: Vec<u8>,
    pub bdat_declared: usize,
    pub bdat_seen: bool,
    pub bdat_last: bool,
    /// Its DATA ended with a lone dot (RFC 2920 section 3.1): no content
    /// went out.
    pub lone_dot: bool,
}

impl TxModel {
    fn accepted(&self) -> usize {
        self.rcpt_replies
            .iter()
            .filter(|r| r.as_ref().is_some_and(Reply::is_success))
            .count()
    }

    fn all_answered(&self) -> bool {
        self.rcpt_replies.iter().all(Option::is_some)
    }
}

#[derive(Debug, Clone, Copy)]
enum OutMode {
    Cmd,
    DataBody(usize),
    Bdat {
        tx: usize,
        remaining: usize,
        last: bool,
    },
}

/// The state of the connection when a write happened.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// TLS is up (implicit, or STARTTLS done).
    pub encrypted: bool,
    /// The client may pipeline (configured, and offered by the server).
    pub pipelined: bool,
}

pub struct Model {
    pub lmtp: bool,
    pub all_or_nothing: bool,
    pub allow_plaintext_auth: bool,
    pub tls_required: bool,
    /// Byte strings that must never cross an unencrypted connection nor
    /// appear in a transcript.
    pub secrets: Vec<Vec<u8>>,
    buf: Vec<u8>,
    mode: OutMode,
    /// The harness started giving this message's body: the next bytes are
    /// either a BDAT command or the DATA body.
    body_pending: Option<usize>,
    body_tx: Option<usize>,
    last: Last,
    cur_tx: Option<usize>,
    quit_sent: bool,
    after_tls: bool,
    /// The server may hold a transaction nothing has ended (see the
    /// module docs): the message whose MAIL opened it.
    open_tx: Option<usize>,
    /// A 334 to an AUTH step was the last reply: the next line answers it.
    challenge: bool,
    expect: VecDeque<Exp>,
    parser: ReplyParser,
    parser_broken: bool,
    replies: VecDeque<Reply>,
    pub txs: Vec<TxModel>,
    /// Every command line the client wrote, in order (for messages).
    pub commands: Vec<Vec<u8>>,
    /// The harness's clock at the current step.
    pub now: Instant,
    /// When the oldest awaited reply's clock started: when its command was
    /// written, or when the reply before it came (per-command deadlines).
    front_since: Instant,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses the decimal number at the start of `s`, and what follows it.
fn number(s: &[u8]) -> Option<(usize, &[u8])> {
    let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 9 {
        return None;
    }
    let v = std::str::from_utf8(&s[..n]).ok()?.parse().ok()?;
    Some((v, &s[n..]))
}

impl Model {
    pub fn new(
        limits: ReplyLimits,
        lmtp: bool,
        all_or_nothing: bool,
        allow_plaintext_auth: bool,
        tls_required: bool,
        secrets: Vec<Vec<u8>>,
    ) -> Self {
        Model {
            lmtp,
            all_or_nothing,
            allow_plaintext_auth,
            tls_required,
            secrets,
            buf: Vec::new(),
            mode: OutMode::Cmd,
            body_pending: None,
            body_tx: None,
            last: Last::Nothing,
            cur_tx: None,
            quit_sent: false,
            after_tls: false,
            open_tx: None,
            challenge: false,
            expect: VecDeque::from([Exp::Init]),
            parser: ReplyParser::new(limits),
            parser_broken: false,
            replies: VecDeque::new(),
            txs: Vec::new(),
            commands: Vec::new(),
            now: Instant::ZERO,
            front_since: Instant::ZERO,
        }
    }

    /// The oldest reply awaited, and when its clock started.
    pub fn front(&self) -> Option<(Exp, Instant)> {
        self.expect.front().map(|&e| (e, self.front_since))
    }

    /// Registers message `k` (must be called in order).
    pub fn add_tx(&mut self, body: Vec<u8>, rcpts: usize, binary: bool) -> usize {
        self.txs.push(TxModel {
            rcpts,
            body,
            binary,
            rcpt_replies: vec![None; rcpts],
            delivery: vec![None; rcpts],
            ..TxModel::default()
        });
        self.txs.len() - 1
    }

    /// The replies still awaited, oldest first (for a server that answers
    /// what was asked).
    pub fn unanswered(&self) -> impl Iterator<Item = Exp> + '_ {
        // pair() leaves either no reply or no expectation unpaired
        self.expect.iter().copied()
    }

    /// True once QUIT was written.
    pub fn quit_sent(&self) -> bool {
        self.quit_sent
    }

    pub fn tls_established(&mut self) {
        self.after_tls = true;
    }

    /// The harness is about to give the first chunk of message `k`'s body.
    pub fn begin_body(&mut self, k: usize) {
        self.body_pending = Some(k);
        self.body_tx = Some(k);
    }

    /// Bytes the server sent (all of them reach the client).
    pub fn server(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.parser_broken {
            match self.parser.parse(bytes) {
                Ok((n, r)) => {
                    bytes = &bytes[n..];
                    self.replies.extend(r);
                }
                Err(_) => self.parser_broken = true,
            }
        }
        self.pair();
    }

    /// Bytes the client wrote.
    pub fn client(&mut self, bytes: &[u8], ctx: Ctx) {
        if !ctx.encrypted && !self.allow_plaintext_auth {
            for s in &self.secrets {
                assert!(
                    !crate::contains(bytes, s),
                    "a credential ({:?}) crossed an unencrypted connection in {:?}",
                    lossy(s),
                    lossy(bytes)
                );
            }
        }
        self.buf.extend_from_slice(bytes);
        self.process(ctx);
        self.pair();
    }

    /// The session is over: no half-written command may be left.
    pub fn finish(&self) {
        if let OutMode::Cmd = self.mode {
            assert!(
                self.buf.is_empty() || self.body_pending.is_some(),
                "the client left a command without its CRLF: {:?}",
                lossy(&self.buf)
            );
        }
        if let OutMode::Bdat { remaining, .. } = self.mode {
            // a session may end mid-chunk only if the chunk was cut by a
            // failure; nothing more to check
            let _ = remaining;
        }
    }

    fn pair(&mut self) {
        while !self.expect.is_empty() && !self.replies.is_empty() {
            let (e, r) = (self.expect.pop_front(), self.replies.pop_front());
            // The next command's clock starts with this reply.
            self.front_since = self.now;
            if let (Some(e), Some(r)) = (e, r) {
                self.apply(e, r);
            }
        }
    }

    fn apply(&mut self, e: Exp, r: Reply) {
        if e.is_auth() && r.code().value() == 334 {
            self.challenge = true;
        }
        if let Exp::SendDataDelivery(k, _) = e {
            // LMTP: a delivery reply means the end of data was taken.
            if self.open_tx == Some(k) {
                self.open_tx = None;
            }
        }
        match e {
            // A refused MAIL opened nothing; an accepted BDAT LAST ended
            // its transaction (if no later MAIL has opened another).
            Exp::SetFrom(k) if !r.is_success() && self.open_tx == Some(k) => self.open_tx = None,
            Exp::Bdat(k, true) if r.is_success() && self.open_tx == Some(k) => {
                self.open_tx = None;
                let tx = &mut self.txs[k];
                if tx.end_ok.is_none() {
                    tx.end_ok = Some(r);
                }
            }
            Exp::SetTo(k, i) => self.txs[k].rcpt_replies[i] = Some(r),
            Exp::StartSendData(k) => self.txs[k].data_reply = Some(r),
            Exp::SendData(k) | Exp::Bdat(k, true) => {
                let tx = &mut self.txs[k];
                if r.is_success() && tx.end_ok.is_none() {
                    tx.end_ok = Some(r);
                }
            }
            Exp::SendDataDelivery(k, i) => {
                let tx = &mut self.txs[k];
                if r.is_success() && tx.end_ok.is_none() {
                    tx.end_ok = Some(r.clone());
                }
                tx.delivery[i] = Some(r);
            }
            _ => {}
        }
    }

    fn process(&mut self, ctx: Ctx) {
        loop {
            match self.mode {
                OutMode::Bdat {
                    tx,
                    remaining,
                    last,
                } => {
                    let n = remaining.min(self.buf.len());
                    let t = &mut self.txs[tx];
                    t.bdat_payload.extend(self.buf.drain(..n));
                    let remaining = remaining - n;
                    if remaining > 0 {
                        self.mode = OutMode::Bdat {
                            tx,
                            remaining,
                            last,
                        };
                        return;
                    }
                    self.mode = OutMode::Cmd;
                    if last {
                        let expected = if t.binary {
                            t.body.clone()
                        } else {
                            crate::normalise(&t.body)
                        };
                        assert_eq!(
                            t.bdat_declared,
                            t.bdat_payload.len(),
                            "BDAT sizes do not add up to the bytes sent"
                        );
                        assert!(
                            t.bdat_payload == expected,
                            "BDAT payload of message {tx} is not its encoded body: {:?} vs {:?}",
                            lossy(&t.bdat_payload),
                            lossy(&expected)
                        );
                    }
                }
                OutMode::Cmd => {
                    if let Some(k) = self.body_pending {
                        let Some(&first) = self.buf.first() else {
                            return;
                        };
                        self.body_pending = None;
                        if first != b'B' {
                            // our bodies never start with 'B': a DATA body
                            self.mode = OutMode::DataBody(k);
                            continue;
                        }
                    }
                    let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                        return;
                    };
                    let line: Vec<u8> = self.buf.drain(..=nl).collect();
                    assert!(
                        line.ends_with(b"\r\n") && !line[..line.len() - 2].contains(&b'\r'),
                        "a command line does not have exactly one CRLF, at its end: {:?}",
                        lossy(&line)
                    );
                    self.command(&line[..line.len() - 2], ctx);
                }
                OutMode::DataBody(k) => {
                    let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                        return;
                    };
                    let line: Vec<u8> = self.buf.drain(..=nl).collect();
                    assert!(
                        line.ends_with(b"\r\n") && !line[..line.len() - 2].contains(&b'\r'),
                        "a body line does not end with one CRLF: {:?}",
                        lossy(&line)
                    );
                    let go = self.txs[k].data_reply.as_ref().map(|r| r.code().value());
                    assert_eq!(
                        go,
                        Some(354),
                        "a DATA body for message {k} without a 354 to its DATA"
                    );
                    if line == b".\r\n" {
                        self.end_of_body(k, ctx);
                        continue;
                    }
                    if !self.txs[k].content_checked {
                        self.txs[k].content_checked = true;
                        self.check_recipients(k, "message content after 354", true);
                    }
                    self.txs[k].data_body.extend_from_slice(&line);
                }
            }
        }
    }

    fn end_of_body(&mut self, k: usize, ctx: Ctx) {
        self.mode = OutMode::Cmd;
        // The end of data ends the server's transaction, whatever its reply.
        self.open_tx = None;
        self.check_tls_required("the end of data", ctx);
        let lmtp = self.lmtp;
        let t = &mut self.txs[k];
        assert!(!t.end_sent, "message {k} ended twice");
        t.end_sent = true;
        let got = crate::unstuff_lines(&t.data_body);
        let want = crate::normalise(&t.body);
        assert!(
            got == want,
            "the DATA body of message {k} does not unstuff to its normalised body: {:?} vs {:?}",
            lossy(&got),
            lossy(&want)
        );
        let accepted: Vec<usize> = (0..t.rcpts)
            .filter(|&i| t.rcpt_replies[i].as_ref().is_some_and(Reply::is_success))
            .collect();
        if lmtp && !accepted.is_empty() {
            self.expect
                .extend(accepted.into_iter().map(|i| Exp::SendDataDelivery(k, i)));
        } else {
            self.expect.push_back(Exp::SendData(k));
        }
        self.pair();
    }

    /// DATA, BDAT or content is going out for message `k`: every RCPT must
    /// have been answered, and enough of them accepted.
    fn check_recipients(&self, k: usize, what: &str, strict: bool) {
        let t = &self.txs[k];
        if !strict {
            return;
        }
        assert!(
            t.all_answered(),
            "{what} for message {k} before every RCPT was answered ({:?})",
            t.rcpt_replies
        );
        let accepted = t.accepted();
        if self.all_or_nothing {
            assert!(
                accepted == t.rcpts,
                "{what} for message {k} although a recipient was refused (all-or-nothing): {:?}",
                t.rcpt_replies
            );
        } else {
            assert!(
                accepted > 0,
                "{what} for message {k} although no recipient was accepted: {:?}",
                t.rcpt_replies
            );
        }
    }

    fn check_tls_required(&self, what: &str, ctx: Ctx) {
        assert!(
            !self.tls_required || ctx.encrypted,
            "TLS is required, yet {what} went out unencrypted"
        );
    }

    fn parse_addr_k(rest: &[u8], prefix: u8) -> Option<(usize, &[u8])> {
        let rest = rest.strip_prefix(&[prefix][..])?;
        number(rest)
    }

    fn command(&mut self, line: &[u8], ctx: Ctx) {
        self.commands.push(line.to_vec());
        if self.quit_sent && line == b"QUIT" && crate::known("quit-twice") {
            return;
        }
        assert!(
            !self.quit_sent,
            "the client wrote {:?} after QUIT",
            lossy(line)
        );
        let upper = line.to_ascii_uppercase();
        let is_hello = upper.starts_with(b"EHLO ") || upper.starts_with(b"LHLO ");
        if self.after_tls {
            self.after_tls = false;
            assert!(
                is_hello,
                "the first command after TLS is {:?}, not EHLO/LHLO",
                lossy(line)
            );
        }
        let answering = std::mem::take(&mut self.challenge);
        if answering {
            assert!(
                line != b"QUIT",
                "QUIT written as the answer to a SASL challenge (RFC 4954: cancel with \"*\")"
            );
        }
        if line != b"QUIT" {
            if let Some(e) = self.expect.iter().find(|e| e.ends_group()) {
                panic!(
                    "{:?} was written while the reply to {e:?}, which ends a pipelined group, \
                     is awaited (RFC 2920 section 3.1)",
                    lossy(line)
                );
            }
        }
        if upper.starts_with(b"AUTH ") {
            assert!(
                line.len() + 2 <= 512,
                "an AUTH line of {} octets, over the 512 a command line may have (RFC 4954 \
                 section 4)",
                line.len() + 2
            );
        }
        if !ctx.pipelined && line != b"QUIT" {
            // Without PIPELINING every command waits for the previous reply
            // (a polite QUIT after a failure need not).
            assert!(
                self.expect.is_empty(),
                "without PIPELINING, {:?} was sent before the replies to {:?}",
                lossy(line),
                self.expect
            );
        }
        let last = std::mem::replace(&mut self.last, Last::Nothing);
        let mut extra = Vec::new();
        let exp = if line == b"QUIT" {
            self.quit_sent = true;
            Exp::Quit
        } else if last == Last::AuthLogin {
            self.last = Last::AuthUser;
            Exp::AuthLoginUsername
        } else if last == Last::AuthUser {
            Exp::AuthLoginPassword
        } else if last == Last::AuthXOAuth2 && line.is_empty() {
            Exp::AuthAbort
        } else if last == Last::AuthStartPlain {
            Exp::Auth
        } else if last == Last::AuthStartXOAuth2 {
            self.last = Last::AuthXOAuth2;
            Exp::Auth
        } else if line == b"*" {
            Exp::AuthCancel
        } else if answering {
            // A SASL response after a 334 (SCRAM's proof, its closing empty
            // line): base64 or empty, nothing the model reads further.
            assert!(
                line.iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b)),
                "a SASL response that is not base64: {:?}",
                lossy(line)
            );
            Exp::Auth
        } else if line == b"AUTH PLAIN" {
            self.last = Last::AuthStartPlain;
            Exp::AuthStart
        } else if line == b"AUTH XOAUTH2" {
            self.last = Last::AuthStartXOAuth2;
            Exp::AuthStart
        } else if is_hello {
            Exp::Helo
        } else if upper.starts_with(b"HELO ") {
            Exp::HeloFallback
        } else if line == b"STARTTLS" {
            assert!(!ctx.encrypted, "STARTTLS on an encrypted connection");
            Exp::StartTls
        } else if line == b"AUTH LOGIN" {
            self.last = Last::AuthLogin;
            Exp::AuthLogin
        } else if line.starts_with(b"AUTH PLAIN ") {
            Exp::Auth
        } else if line.starts_with(b"AUTH XOAUTH2 ") {
            self.last = Last::AuthXOAuth2;
            Exp::Auth
        } else if line.starts_with(b"AUTH SCRAM-SHA-256 ")
            || line.starts_with(b"AUTH SCRAM-SHA-256-PLUS ")
            || line.starts_with(b"AUTH OAUTHBEARER ")
        {
            Exp::Auth
        } else if let Some(rest) = line.strip_prefix(b"MAIL FROM:<") {
            let (k, _) = Self::parse_addr_k(rest, b's')
                .unwrap_or_else(|| panic!("unexpected MAIL line {:?}", lossy(line)));
            assert!(k < self.txs.len(), "MAIL for an unknown message {k}");
            if let Some(prev) = self.cur_tx {
                assert!(k > prev, "MAIL for message {k} after message {prev}");
            }
            if let Some(open) = self.open_tx {
                panic!(
                    "MAIL for message {k} while message {open}'s transaction may still be \
                     open on the server (no RSET, no end of data)"
                );
            }
            self.open_tx = Some(k);
            self.txs[k].mail_sent = true;
            self.cur_tx = Some(k);
            Exp::SetFrom(k)
        } else if let Some(rest) = line.strip_prefix(b"RCPT TO:<") {
            let (k, rest) = Self::parse_addr_k(rest, b'r')
                .unwrap_or_else(|| panic!("unexpected RCPT line {:?}", lossy(line)));
            let (i, _) = rest
                .strip_prefix(b".")
                .and_then(number)
                .unwrap_or_else(|| panic!("unexpected RCPT line {:?}", lossy(line)));
            assert_eq!(
                Some(k),
                self.cur_tx,
                "RCPT for a message whose MAIL was not sent"
            );
            let t = &mut self.txs[k];
            assert_eq!(
                i, t.rcpt_sent,
                "RCPT out of order or repeated for message {k}"
            );
            assert!(
                i < t.rcpts,
                "RCPT for a recipient the message does not have"
            );
            t.rcpt_sent += 1;
            Exp::SetTo(k, i)
        } else if line == b"DATA" {
            let k = self.cur_tx.expect("DATA before any MAIL");
            let t = &mut self.txs[k];
            assert!(
                !t.data_sent && !t.bdat_seen,
                "DATA sent twice for message {k}"
            );
            t.data_sent = true;
            assert_eq!(t.rcpt_sent, t.rcpts, "DATA before every RCPT was sent");
            let strict = !ctx.pipelined || self.all_or_nothing;
            self.check_recipients(k, "DATA", strict);
            Exp::StartSendData(k)
        } else if let Some(rest) = line.strip_prefix(b"BDAT ") {
            let (n, rest) =
                number(rest).unwrap_or_else(|| panic!("bad BDAT line {:?}", lossy(line)));
            let last = match rest {
                b"" => false,
                b" LAST" => true,
                _ => panic!("bad BDAT line {:?}", lossy(line)),
            };
            let k = self.body_tx.expect("BDAT before any body was given");
            assert_eq!(
                Some(k),
                self.cur_tx,
                "BDAT for a message that is not the current one"
            );
            let t = &mut self.txs[k];
            assert!(!t.data_sent, "BDAT after DATA for message {k}");
            assert!(!t.bdat_last, "BDAT after BDAT LAST for message {k}");
            assert_eq!(t.rcpt_sent, t.rcpts, "BDAT before every RCPT was sent");
            let first = !t.bdat_seen;
            t.bdat_seen = true;
            t.bdat_last = last;
            t.end_sent |= last;
            t.bdat_declared += n;
            if first {
                // Over LMTP BDAT LAST is answered once per accepted
                // recipient: the body waits for every RCPT reply.
                let strict = !ctx.pipelined || self.all_or_nothing || self.lmtp;
                self.check_recipients(k, "BDAT", strict);
            }
            let deliveries: Vec<Exp> = if last && self.lmtp {
                let t = &self.txs[k];
                (0..t.rcpts)
                    .filter(|&i| t.rcpt_replies[i].as_ref().is_some_and(Reply::is_success))
                    .map(|i| Exp::SendDataDelivery(k, i))
                    .collect()
            } else {
                Vec::new()
            };
            self.mode = OutMode::Bdat {
                tx: k,
                remaining: n,
                last,
            };
            match deliveries.split_first() {
                Some((first, rest)) => {
                    // `first` answers the BDAT LAST; the rest follow it.
                    extra = rest.to_vec();
                    *first
                }
                None => Exp::Bdat(k, last),
            }
        } else if line == b"." {
            // RFC 2920 section 3.1: DATA was pipelined, no recipient was
            // accepted, the server said 354 anyway: an empty message.
            let k = self.cur_tx.expect("a lone dot before any MAIL");
            let t = &mut self.txs[k];
            assert!(t.data_sent && !t.end_sent, "a lone dot without DATA");
            t.end_sent = true;
            t.lone_dot = true;
            self.open_tx = None;
            Exp::SendData(k)
        } else if line == b"RSET" {
            self.open_tx = None;
            Exp::Reset
        } else if line == b"NOOP" {
            Exp::Noop
        } else {
            panic!("the client wrote an unknown command {:?}", lossy(line));
        };
        if exp.is_auth() {
            assert!(
                ctx.encrypted || self.allow_plaintext_auth,
                "AUTH on an unencrypted connection: {:?}",
                lossy(line)
            );
        }
        if !matches!(
            exp,
            Exp::Helo | Exp::HeloFallback | Exp::StartTls | Exp::Quit
        ) {
            self.check_tls_required(&format!("{:?}", lossy(line)), ctx);
        }
        if self.expect.is_empty() {
            // Nothing before it: its clock starts now.
            self.front_since = self.now;
        }
        self.expect.push_back(exp);
        self.expect.extend(extra);
        self.pair();
    }

    /// Checks an outcome against what was on the wire.
    pub fn check_outcome(&self, k: usize, o: &Outcome) {
        let t = &self.txs[k];
        assert_eq!(
            o.recipients.len(),
            t.rcpts,
            "outcome has the wrong recipients"
        );
        if o.is_delivered() {
            let end = t.end_ok.as_ref().unwrap_or_else(|| {
                panic!("message {k} reported delivered without a 2xx to its end of data: {o:?}")
            });
            assert!(
                t.end_sent,
                "message {k} reported delivered, its data never ended"
            );
            if !self.lmtp {
                assert_eq!(
                    o.result.as_ref().ok(),
                    Some(end),
                    "outcome reply is not the end-of-data reply"
                );
            }
        }
        for (i, r) in o.recipients.iter().enumerate() {
            assert_eq!(r.address.as_str(), format!("r{k}.{i}@example.org"));
            // (The client may also hold replies to commands it wrote but
            // never got to transmit: a server that answered ahead, then a
            // failure that dropped the output. Only transmitted ones count.)
            if let (Some(rr), Some(m)) = (&r.rcpt_reply, &t.rcpt_replies[i]) {
                assert_eq!(
                    rr, m,
                    "message {k} recipient {i}: the client's RCPT reply is not the server's"
                );
            }
            if let Some(d) = &r.delivery_reply {
                assert!(self.lmtp, "a delivery reply without LMTP");
                assert_eq!(Some(d), t.delivery[i].as_ref(), "delivery reply mismatch");
            }
            if self.lmtp && o.is_delivered() && r.accepted() {
                assert!(
                    r.delivery_reply.is_some(),
                    "LMTP recipient accepted without delivery reply"
                );
            }
            if self.lmtp && t.end_sent && !t.lone_dot {
                let rcpt_ok = t.rcpt_replies[i].as_ref().is_some_and(Reply::is_success);
                // (A 1yz is no answer: the client ends the session on it.)
                match t.delivery[i].as_ref().filter(|d| d.code().value() >= 200) {
                    // RFC 2033 section 4.2: each delivery reply stands alone.
                    Some(d) if d.is_success() => assert!(
                        r.accepted(),
                        "LMTP: message {k} recipient {i} got {d} yet is not reported delivered: {o:?}"
                    ),
                    Some(_) => assert!(!r.accepted() && !r.fate_unknown),
                    None if rcpt_ok => assert!(
                        r.fate_unknown,
                        "LMTP: message {k} recipient {i} got no delivery reply, yet its fate is \
                         reported known: {o:?}"
                    ),
                    None => {}
                }
            }
        }
        if self.lmtp && t.delivery.iter().flatten().any(Reply::is_success) {
            assert!(
                o.is_delivered(),
                "LMTP: message {k} reached a recipient, yet is reported not delivered: {o:?}"
            );
        }
        // A failure is transient exactly when every refusal behind it is.
        if let Err(e) = &o.result {
            let refusals: Vec<&Reply> = t
                .rcpt_replies
                .iter()
                .flatten()
                .filter(|r| !r.is_success())
                .collect();
            if let TransactionError::NoRecipientAccepted { .. }
            | TransactionError::RecipientsRejected { .. } = e
            {
                let want = !refusals.is_empty()
                    && refusals
                        .iter()
                        .all(|r| r.class() == smtp_proto::ReplyClass::Transient);
                assert_eq!(
                    e.is_transient(),
                    want,
                    "message {k}: {e:?} transient or not against its refusals {refusals:?}"
                );
            }
        }
    }
}

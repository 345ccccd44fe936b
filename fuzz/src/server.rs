//! Canned server replies, for the structured session target: a positive or
//! negative answer to whatever a command expects.

use crate::model::Exp;

/// The capability lines an EHLO reply may carry, one per bit of `caps`.
pub const CAPABILITIES: [&str; 14] = [
    "PIPELINING",
    "CHUNKING",
    "STARTTLS",
    "AUTH LOGIN PLAIN",
    "AUTH=LOGIN PLAIN",
    "AUTH XOAUTH2 PLAIN",
    "8BITMIME",
    "SMTPUTF8",
    "SIZE 10000",
    "DSN",
    "BINARYMIME",
    "ENHANCEDSTATUSCODES",
    "REQUIRETLS",
    "AUTH SCRAM-SHA-256 SCRAM-SHA-256-PLUS OAUTHBEARER",
];

/// A multi-line 250 to EHLO/LHLO offering the capabilities whose bits are
/// set in `caps`; bit 14 ends lines with bare LF, bit 15 adds smtp-sink's
/// empty last line.
pub fn ehlo(caps: u16) -> Vec<u8> {
    let eol: &[u8] = if caps & (1 << 14) != 0 {
        b"\n"
    } else {
        b"\r\n"
    };
    let mut lines: Vec<&str> = vec!["mx.example.org greets you"];
    for (i, c) in CAPABILITIES.iter().enumerate() {
        if caps & (1 << i) != 0 {
            lines.push(c);
        }
    }
    if caps & (1 << 15) != 0 {
        lines.push("");
    }
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        out.extend_from_slice(if i + 1 == lines.len() {
            b"250 "
        } else {
            b"250-"
        });
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(eol);
    }
    out
}

/// The reply a well-behaved server gives when `e` succeeds.
pub fn ok(e: Exp, caps: u16) -> Vec<u8> {
    match e {
        Exp::Init => b"220 mx.example.org ESMTP Postfix\r\n".to_vec(),
        Exp::Helo => ehlo(caps),
        Exp::HeloFallback => b"250 mx.example.org\r\n".to_vec(),
        Exp::StartTls => b"220 2.0.0 Ready to start TLS\r\n".to_vec(),
        Exp::Auth | Exp::AuthLoginPassword => b"235 2.7.0 Authentication successful\r\n".to_vec(),
        Exp::AuthLogin => b"334 VXNlcm5hbWU6\r\n".to_vec(),
        Exp::AuthLoginUsername => b"334 UGFzc3dvcmQ6\r\n".to_vec(),
        Exp::AuthAbort => b"535 5.7.8 Authentication failed\r\n".to_vec(),
        Exp::AuthStart => b"334 \r\n".to_vec(),
        Exp::AuthCancel => b"501 5.7.0 Authentication cancelled\r\n".to_vec(),
        Exp::SetFrom(_) => b"250 2.1.0 Ok\r\n".to_vec(),
        Exp::SetTo(..) => b"250 2.1.5 Ok\r\n".to_vec(),
        Exp::StartSendData(_) => b"354 End data with <CR><LF>.<CR><LF>\r\n".to_vec(),
        Exp::SendData(_) | Exp::Bdat(_, true) => b"250 2.0.0 Ok: queued as 4F2A\r\n".to_vec(),
        Exp::SendDataDelivery(..) => b"250 2.1.5 delivered\r\n".to_vec(),
        Exp::Bdat(_, false) => b"250 2.0.0 chunk received\r\n".to_vec(),
        Exp::Reset | Exp::Noop => b"250 2.0.0 Ok\r\n".to_vec(),
        Exp::Quit => b"221 2.0.0 Bye\r\n".to_vec(),
    }
}

/// The reply a server gives when `e` fails, transiently or not.
pub fn fail(e: Exp, transient: bool) -> Vec<u8> {
    let r: &[u8] = match (e, transient) {
        (Exp::Init, false) => b"554 5.3.2 No SMTP service here\r\n",
        (Exp::Init, true) => b"421 4.3.2 Too busy\r\n",
        (Exp::Helo | Exp::HeloFallback, false) => b"502 5.5.2 Error: command not recognized\r\n",
        (Exp::Helo | Exp::HeloFallback, true) => b"451 4.3.0 Try later\r\n",
        (Exp::StartTls, false) => b"502 5.5.1 TLS not available\r\n",
        (Exp::StartTls, true) => b"454 4.7.0 TLS not available due to temporary reason\r\n",
        (Exp::SetFrom(_), false) => b"553 5.7.1 Sender address rejected\r\n",
        (Exp::SetFrom(_), true) => b"451 4.3.0 Sender temporarily rejected\r\n",
        (Exp::SetTo(..), false) => b"550 5.1.1 User unknown\r\n",
        (Exp::SetTo(..), true) => b"450 4.2.0 Greylisted\r\n",
        (Exp::StartSendData(_), false) => b"554 5.5.1 Error: no valid recipients\r\n",
        (Exp::StartSendData(_), true) => b"451 4.3.0 Try again\r\n",
        (Exp::SendData(_) | Exp::Bdat(..) | Exp::SendDataDelivery(..), false) => {
            b"554 5.7.1 Message rejected as spam\r\n"
        }
        (Exp::SendData(_) | Exp::Bdat(..) | Exp::SendDataDelivery(..), true) => {
            b"452 4.3.1 Insufficient system storage\r\n"
        }
        (Exp::Reset | Exp::Noop | Exp::Quit, false) => b"500 5.5.2 Error\r\n",
        (Exp::Reset | Exp::Noop | Exp::Quit, true) => b"421 4.4.2 Timeout exceeded\r\n",
        // What is left is every step of AUTH (`Exp::is_auth`).
        (_, false) => b"535 5.7.8 Error: authentication failed\r\n",
        (_, true) => b"454 4.7.0 Temporary authentication failure\r\n",
    };
    r.to_vec()
}

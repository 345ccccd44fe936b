//! Where the dialogue is.

use core::fmt;

/// The point the dialogue has reached: what the client last sent and waits
/// for, or what it waits on the caller for.
///
/// The reference walkthrough's stages keep their names (and its numbers, see
/// [`Stage::reference_number`]); the others are what real SMTP needs beyond it.
///
/// ```text
///  Init --220--> Helo --250--> [StartTls --220--> TlsHandshake --> Helo]
///                 |  (500/502: HELO)
///                 +--> [AuthLogin --334--> AuthLoginUsername --334--> AuthLoginPassword --235-->]
///                 +--> [Auth (PLAIN, XOAUTH2) --235-->]
///                 v
///  Ready <-----------------------------------------------+
///    | message queued                                    |
///    v                                                   |
///  SetFrom --250--> SetTo --250--> StartSendData --354--> SendData --250-->+
///                                  (or Bdat chunks) ---------------------->+
///    (a failed transaction: Reset --250--> Ready)
///  Ready --quit--> Quit --221--> Finish
/// ```
///
/// With PIPELINING several commands are in flight; the stage is that of the
/// oldest command still waiting for its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Connected; waiting for the 220 greeting.
    Init,
    /// EHLO, HELO or LHLO sent.
    Helo,
    /// STARTTLS sent; waiting for its 220.
    StartTls,
    /// The caller is running the TLS handshake.
    TlsHandshake,
    /// `AUTH PLAIN` or `AUTH XOAUTH2` sent.
    Auth,
    /// `AUTH LOGIN` sent; waiting for the first 334.
    AuthLogin,
    /// The user name sent; waiting for the second 334.
    AuthLoginUsername,
    /// The password sent; waiting for 235.
    AuthLoginPassword,
    /// The session is idle: queue a message, or quit.
    Ready,
    /// MAIL FROM sent.
    SetFrom,
    /// RCPT TO sent.
    SetTo,
    /// DATA sent; waiting for 354.
    StartSendData,
    /// The body is being sent, or its end was sent and the reply is awaited.
    SendData,
    /// A BDAT chunk sent.
    Bdat,
    /// RSET sent (after a failed transaction, or asked for).
    Reset,
    /// NOOP sent.
    Noop,
    /// QUIT sent.
    Quit,
    /// The session is over.
    Finish,
}

impl Stage {
    /// The stage's number in the reference program (`Stage: N Code: X`),
    /// for the stages it had.
    pub const fn reference_number(self) -> Option<u8> {
        Some(match self {
            Stage::Init => 0,
            Stage::Helo => 1,
            Stage::AuthLogin => 2,
            Stage::AuthLoginUsername => 3,
            Stage::AuthLoginPassword => 4,
            Stage::SetFrom => 5,
            Stage::SetTo => 6,
            Stage::StartSendData => 7,
            Stage::SendData => 8,
            Stage::Quit => 9,
            Stage::Finish => 10,
            _ => return None,
        })
    }

    /// The stage's name as written in this enum.
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Init => "Init",
            Stage::Helo => "Helo",
            Stage::StartTls => "StartTls",
            Stage::TlsHandshake => "TlsHandshake",
            Stage::Auth => "Auth",
            Stage::AuthLogin => "AuthLogin",
            Stage::AuthLoginUsername => "AuthLoginUsername",
            Stage::AuthLoginPassword => "AuthLoginPassword",
            Stage::Ready => "Ready",
            Stage::SetFrom => "SetFrom",
            Stage::SetTo => "SetTo",
            Stage::StartSendData => "StartSendData",
            Stage::SendData => "SendData",
            Stage::Bdat => "Bdat",
            Stage::Reset => "Reset",
            Stage::Noop => "Noop",
            Stage::Quit => "Quit",
            Stage::Finish => "Finish",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

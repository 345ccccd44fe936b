//! Credentials for AUTH, which never print.

use crate::address::InvalidInput;
use alloc::string::String;
use core::fmt;

/// A string that is never shown: `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What the client authenticates with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A user name and password, for PLAIN or LOGIN.
    Password {
        /// The account name (authentication identity).
        user: String,
        /// The password.
        password: Secret,
    },
    /// A user name and OAuth 2 bearer token, for XOAUTH2.
    OAuth2 {
        /// The account name.
        user: String,
        /// The access token.
        token: Secret,
    },
}

impl Credentials {
    /// A user name and password. Refuses a NUL in either: PLAIN separates
    /// its fields with NUL (RFC 4616), so one inside a field would change
    /// what the server reads.
    pub fn password(
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Result<Self, InvalidInput> {
        let (user, password) = (user.into(), password.into());
        refuse(&user, b"\0")?;
        refuse(&password, b"\0")?;
        Ok(Credentials::Password {
            user,
            password: Secret::new(password),
        })
    }

    /// A user name and OAuth 2 access token. Refuses a NUL or a `^A`
    /// (0x01, XOAUTH2's field separator) in either.
    pub fn oauth2(user: impl Into<String>, token: impl Into<String>) -> Result<Self, InvalidInput> {
        let (user, token) = (user.into(), token.into());
        refuse(&user, b"\0\x01")?;
        refuse(&token, b"\0\x01")?;
        Ok(Credentials::OAuth2 {
            user,
            token: Secret::new(token),
        })
    }
}

/// Fails on the first of `forbidden` in `value` (the byte is named; the value
/// is not, since it may be secret).
fn refuse(value: &str, forbidden: &[u8]) -> Result<(), InvalidInput> {
    match value.bytes().find(|b| forbidden.contains(b)) {
        Some(b) => Err(InvalidInput::ForbiddenByte(b)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let c = Credentials::password("me", "hunter2").unwrap();
        let shown = alloc::format!("{c:?} {}", Secret::new("hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn field_separators_cannot_be_smuggled_in() {
        let nul = Err(InvalidInput::ForbiddenByte(0));
        assert_eq!(Credentials::password("me\0admin", "pw"), nul);
        assert_eq!(Credentials::password("me", "pw\0admin"), nul);
        assert_eq!(Credentials::oauth2("me\0x", "tok"), nul);
        let soh = Err(InvalidInput::ForbiddenByte(1));
        assert_eq!(Credentials::oauth2("me", "tok\x01auth=Bearer evil"), soh);
        assert_eq!(Credentials::oauth2("me\x01", "tok"), soh);
        // A ^A is only a separator in XOAUTH2.
        assert!(Credentials::password("me", "pw\x01").is_ok());
        assert!(Credentials::oauth2("me@example.org", "ya29.a0AfH6SM").is_ok());
    }
}

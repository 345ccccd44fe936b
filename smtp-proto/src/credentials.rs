//! Credentials for AUTH, which never print.

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
    /// A user name and password.
    pub fn password(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials::Password {
            user: user.into(),
            password: Secret::new(password),
        }
    }

    /// A user name and OAuth 2 access token.
    pub fn oauth2(user: impl Into<String>, token: impl Into<String>) -> Self {
        Credentials::OAuth2 {
            user: user.into(),
            token: Secret::new(token),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let c = Credentials::password("me", "hunter2");
        let shown = alloc::format!("{c:?} {}", Secret::new("hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}

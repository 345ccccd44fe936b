//! The error type: causes, and what is transient.

use smtp_adapter_common::{Cause, Error, rustls};
use smtp_proto::{Address, Outcome, RecipientResult, TransactionError, TransactionId};
use std::io;

#[test]
fn a_rustls_error_inside_an_io_error_is_a_tls_cause() {
    let bad = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
    let wrapped = io::Error::new(io::ErrorKind::InvalidData, bad.clone());
    assert!(matches!(Cause::from_io(wrapped), Cause::Tls(e) if e == bad));
    let timeout = Cause::from_io(io::ErrorKind::TimedOut.into());
    assert!(timeout.to_string().starts_with("timed out"), "{timeout}");
    let reset = Cause::from_io(io::ErrorKind::ConnectionReset.into());
    assert!(matches!(reset, Cause::Io(e) if e.kind() == io::ErrorKind::ConnectionReset));
}

/// Greylisting: a message every recipient of which was refused with a
/// 4yz is a transient rejection; one permanent refusal makes it permanent.
#[test]
fn a_rejection_is_transient_when_every_refusal_is() {
    let rejected = |transient: bool| {
        Error::Rejected(Box::new(Outcome {
            id: TransactionId(1),
            recipients: vec![RecipientResult {
                address: Address::new("b@example.org").unwrap(),
                rcpt_reply: None,
                delivery_reply: None,
                fate_unknown: false,
            }],
            result: Err(TransactionError::NoRecipientAccepted { transient }),
            end_of_data_sent: false,
        }))
    };
    assert!(rejected(true).is_transient());
    assert!(!rejected(false).is_transient());
    assert!(
        rejected(false).to_string().contains("not tried"),
        "{}",
        rejected(false)
    );
}

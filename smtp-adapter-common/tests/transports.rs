//! The test transports: what the stub refuses and records.

use smtp_adapter_common::{AsyncTransport, StubTransport, Transport};
use smtp_proto::{Address, Envelope, TransactionError};

fn to(addresses: &[&str]) -> Envelope {
    let from = Address::new("me@example.org").unwrap();
    Envelope::new(from, addresses.iter().map(|a| Address::new(a).unwrap()))
}

#[test]
fn the_stub_fails_transiently_then_refuses_then_records() {
    let stub = StubTransport::new()
        .failing_transiently(2)
        .refusing("gone@example.org");
    for _ in 0..2 {
        let outcome = Transport::send(&stub, &to(&["a@example.org"]), b"x\r\n").unwrap();
        assert!(!outcome.is_delivered());
        let e = outcome.result.as_ref().unwrap_err();
        assert!(matches!(e, TransactionError::MailRejected(r) if r.code().value() == 451));
        assert!(e.is_transient());
    }
    let all_refused = Transport::send(&stub, &to(&["gone@example.org"]), b"y\r\n").unwrap();
    assert!(matches!(
        all_refused.result,
        Err(TransactionError::NoRecipientAccepted { transient: false })
    ));
    assert!(stub.messages().is_empty(), "nothing taken yet");
    let partly = futures_lite::future::block_on(AsyncTransport::send(
        &stub.clone(),
        &to(&["a@example.org", "gone@example.org"]),
        b"z\r\n",
    ))
    .unwrap();
    assert!(partly.is_delivered());
    let refused: Vec<_> = partly.refused().map(|r| r.address.as_str()).collect();
    assert_eq!(refused, ["gone@example.org"]);
    let taken = stub.messages();
    assert_eq!(taken.len(), 1, "clones share the record");
    assert_eq!(taken[0].1, b"z\r\n");
}

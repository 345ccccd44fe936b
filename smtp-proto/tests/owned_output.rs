//! `Client::take_transmit`: the same bytes as `Output::Transmit`, owned.

use smtp_proto::{Address, Client, Config, Envelope, Instant, Output};

/// Drives one message through a pipelining server, taking each write with
/// `take_transmit` (`owned`) or from `Output::Transmit`; returns the bytes
/// written and the number of writes.
fn run(owned: bool) -> (Vec<u8>, usize) {
    let now = Instant::ZERO;
    let mut client = Client::new(Config::default(), now);
    let a = Address::new("a@example.org").unwrap();
    client.send(Envelope::new(a.clone(), [a]), now).unwrap();
    let mut replies = [
        &b"220 hi\r\n"[..],
        b"250-x\r\n250 PIPELINING\r\n",
        b"250 ok\r\n250 ok\r\n354 go\r\n",
        b"250 queued\r\n",
    ]
    .into_iter();
    let (mut wire, mut writes) = (Vec::new(), 0);
    for _ in 0..50 {
        if owned {
            if let Some(bytes) = client.take_transmit() {
                wire.extend_from_slice(&bytes);
                writes += 1;
                continue;
            }
        }
        match client.poll_output() {
            Output::Transmit(bytes) => {
                wire.extend_from_slice(bytes);
                writes += 1;
            }
            Output::NeedBody(_) => client
                .send_body(b"Subject: x\r\n\r\n.hi\r\n", true, now)
                .unwrap(),
            Output::Wait(_) => match replies.next() {
                Some(r) => client.handle_input(r, now),
                None => break,
            },
            Output::Ready => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(client.is_idle(), "the message is done");
    (wire, writes)
}

#[test]
fn owned_writes_are_the_same_bytes_in_the_same_writes() {
    let (borrowed, n) = run(false);
    let (owned, m) = run(true);
    assert_eq!(owned, borrowed);
    assert_eq!(m, n);
    assert!(owned.ends_with(b"..hi\r\n.\r\n"), "dot-stuffed, ended");
}

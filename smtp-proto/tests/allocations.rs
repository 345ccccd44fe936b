//! The hot path allocates nothing per reply or per command: in steady state
//! a message costs a constant, small number of allocations (its per-recipient
//! result list), whatever its number of recipients and replies.

use smtp_proto::{Address, Client, Config, Envelope, Event, Instant, Output, Stage};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const BODY: &[u8] = b"Subject: steady\r\n\r\n.a line with a dot\r\nand another\r\n";

/// The reply the front command is owed (static bytes: the fake server
/// allocates nothing).
fn reply_for(stage: Stage) -> &'static [u8] {
    match stage {
        Stage::Init => b"220 sink ESMTP\r\n",
        Stage::Helo => b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
        Stage::StartSendData => b"354 go ahead\r\n",
        Stage::SendData => b"250 2.0.0 Ok: queued as 4F2A1B\r\n",
        Stage::Quit => b"221 2.0.0 Bye\r\n",
        _ => b"250 2.1.5 Ok\r\n",
    }
}

/// Drives the client until every queued message has an outcome; returns how
/// many were delivered and how many bytes went out.
fn drive(client: &mut Client, expected: usize) -> (usize, usize) {
    let now = Instant::ZERO;
    let (mut delivered, mut outcomes, mut sent) = (0, 0, 0);
    for _ in 0..10_000_000 {
        match client.poll_output() {
            Output::Transmit(bytes) => sent += bytes.len(),
            Output::NeedBody(_) => client.send_body(BODY, true, now).unwrap(),
            Output::Wait(_) => {
                let stage = client.stage();
                client.handle_input(reply_for(stage), now);
            }
            Output::Ready | Output::Closed(_) => break,
            Output::StartTls => panic!("no TLS here"),
        }
        while let Some(e) = client.poll_event() {
            if let Event::Outcome(o) = e {
                outcomes += 1;
                delivered += usize::from(o.is_delivered());
            }
        }
        if outcomes == expected {
            break;
        }
    }
    (delivered, sent)
}

/// Allocations per message in steady state, for `rcpts` recipients each.
fn allocations_per_message(rcpts: usize) -> f64 {
    const WARM: usize = 200;
    const COUNTED: usize = 2000;
    let envelope = |i: usize| {
        let from = Address::new("sender@example.org").unwrap();
        let to = (0..rcpts).map(|r| Address::new(&format!("r{r}-{i}@example.org")).unwrap());
        Envelope::new(from, to)
    };
    let now = Instant::ZERO;
    let mut client = Client::new(Config::default(), now);
    let mut warm: Vec<_> = (0..WARM).map(envelope).collect();
    let mut counted: Vec<_> = (0..COUNTED).map(envelope).collect();
    for e in warm.drain(..) {
        client.send(e, now).unwrap();
    }
    assert_eq!(drive(&mut client, WARM).0, WARM);
    // Queue in the same batch size as the warm-up, so queues do not grow.
    let region = Region::new(GLOBAL);
    let mut delivered = 0;
    for batch in counted.chunks_mut(WARM) {
        for e in batch.iter_mut() {
            let e = std::mem::replace(e, Envelope::new(Address::null(), []));
            client.send(e, now).unwrap();
        }
        delivered += drive(&mut client, WARM).0;
    }
    let stats = region.change();
    assert_eq!(delivered, COUNTED);
    stats.allocations as f64 / COUNTED as f64
}

#[test]
fn no_allocation_per_reply_or_command() {
    let one = allocations_per_message(1);
    let ten = allocations_per_message(10);
    // One list of per-recipient results per message; the outcome moves the
    // envelope's addresses instead of copying them.
    assert!(
        one <= 1.05,
        "{one} allocations per message with 1 recipient"
    );
    // Ten recipients mean ten more RCPT commands and replies per message,
    // and not one more allocation.
    assert!(
        ten <= 1.05,
        "{ten} allocations per message with 10 recipients"
    );
}

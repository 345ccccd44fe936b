//! Decisions of issue 11 that a transcript cannot show (they depend on when
//! the caller drains the output, or on API misuse): each is a test.

use smtp_proto::*;

fn open_client(config: Config, ehlo: &[u8]) -> Client {
    let now = Instant::ZERO;
    let mut client = Client::new(config, now);
    client.handle_input(b"220 ready\r\n", now);
    drain(&mut client);
    client.handle_input(ehlo, now);
    client
}

/// Hands out every pending output, as an adapter writing it would.
fn drain(client: &mut Client) -> Vec<u8> {
    let mut sent = Vec::new();
    while let Output::Transmit(bytes) = client.poll_output() {
        sent.extend_from_slice(bytes);
    }
    sent
}

fn envelope() -> Envelope {
    Envelope::new(
        Address::new("a@example.org").unwrap(),
        [Address::new("b@example.org").unwrap()],
    )
}

fn tls_off() -> Config {
    {
        let mut built = Config::default();
        built.tls = Some(TlsPolicy::Off);
        built
    }
}

/// A reply that arrives before the command it would answer was handed out
/// cannot be that command's answer (no server answers what it has not
/// received): it is an extra reply, a protocol error. Without PIPELINING
/// this is the only way to tell an extra reply from a real one.
#[test]
fn a_reply_before_its_command_was_handed_out_is_a_protocol_error() {
    for ehlo in [&b"250 x\r\n"[..], b"250-x\r\n250 PIPELINING\r\n"] {
        let now = Instant::ZERO;
        let mut client = open_client(tls_off(), ehlo);
        client.send(envelope(), now).unwrap();
        // MAIL is written but not yet handed out; a 250 arrives: the
        // server answered twice, once for EHLO and once for nothing.
        client.handle_input(b"250 extra\r\n", now);
        let err = client.error().expect("the session failed");
        assert_eq!(
            err.kind(),
            &ErrorKind::Protocol(ProtocolError::UnexpectedBytes)
        );
        assert_eq!(err.stage(), Stage::SetFrom);
    }
}

/// The same reply after MAIL was handed out is MAIL's answer.
#[test]
fn a_reply_after_its_command_was_handed_out_is_its_answer() {
    let now = Instant::ZERO;
    let mut client = open_client(tls_off(), b"250 x\r\n");
    client.send(envelope(), now).unwrap();
    assert_eq!(drain(&mut client), b"MAIL FROM:<a@example.org>\r\n");
    client.handle_input(b"250 ok\r\n", now);
    assert!(client.error().is_none());
    assert_eq!(drain(&mut client), b"RCPT TO:<b@example.org>\r\n");
}

/// Caller misuse changes nothing: a body error with no body being taken,
/// a TLS failure with no handshake due.
#[test]
fn body_and_tls_failures_nothing_asked_for_are_usage_errors() {
    let now = Instant::ZERO;
    let mut client = open_client(tls_off(), b"250 x\r\n");
    assert_eq!(
        client.handle_body_error(now),
        Err(UsageError::NotExpectingBody)
    );
    assert_eq!(
        client.handle_tls_failed(now),
        Err(UsageError::NotExpectingTls)
    );
    assert!(client.error().is_none() && !client.is_closed());
    assert_eq!(client.poll_output(), Output::Ready);

    // While a body is asked for, a body error ends the session.
    client.send(envelope(), now).unwrap();
    drain(&mut client);
    for reply in [&b"250 ok\r\n"[..], b"250 ok\r\n", b"354 go\r\n"] {
        client.handle_input(reply, now);
        drain(&mut client);
    }
    assert!(matches!(client.poll_output(), Output::NeedBody(_)));
    assert_eq!(client.handle_body_error(now), Ok(()));
    assert_eq!(
        client.error().map(Error::kind),
        Some(&ErrorKind::BodySourceFailed)
    );
}

/// With implicit TLS, a failed handshake before the greeting is reported
/// (and is the only time it may be, until STARTTLS asks for one).
#[test]
fn implicit_tls_handshake_failure_is_expected_before_the_greeting() {
    let now = Instant::ZERO;
    let config = {
        let mut built = Config::default();
        built.implicit_tls = true;
        built
    };
    let mut early = Client::new(config.clone(), now);
    assert_eq!(early.handle_tls_failed(now), Ok(()));
    assert_eq!(early.error().map(Error::kind), Some(&ErrorKind::TlsFailed));
    let mut late = open_client(config, b"250 x\r\n");
    assert_eq!(
        late.handle_tls_failed(now),
        Err(UsageError::NotExpectingTls)
    );
}

/// `usize::MAX` as a limit means "no limit", in debug and release alike
/// (it used to overflow on `max_line_len + 1`).
#[test]
fn the_largest_limits_do_not_overflow() {
    let limits = ReplyLimits::new(usize::MAX, usize::MAX, usize::MAX);
    let input = b"250-first\r\n250-second line\r\n250 last\r\n";
    for cut in 0..input.len() {
        let mut parser = ReplyParser::new(limits);
        let (used, none) = parser.parse(&input[..cut]).unwrap();
        assert!(none.is_none() && used == cut);
        let (_, reply) = parser.parse(&input[cut..]).unwrap();
        let reply = reply.expect("a whole reply");
        assert_eq!(reply.line_count(), 3);
        assert_eq!(reply.code().value(), 250);
    }
}

/// An XText long enough for ORCPT but not for ENVID is refused as ENVID when
/// the message is queued, before anything is sent.
#[test]
fn an_envid_over_100_octets_is_refused_at_send() {
    let now = Instant::ZERO;
    let mut client = open_client(tls_off(), b"250-x\r\n250 DSN\r\n");
    let mut env = envelope();
    env.dsn_envid = Some(XText::encode(&[b'e'; 101]).unwrap());
    assert_eq!(
        client.send(env, now),
        Err(UsageError::InvalidInput(InvalidInput::TooLong(
            XText::MAX_ENVID
        )))
    );
    assert!(XText::envid(&[b'e'; 101]).is_err());
}

/// Greylisting: a transaction whose every refusal was 4yz is transient,
/// and so is a message refused for transient reasons only.
#[test]
fn transient_refusals_make_a_transient_failure() {
    assert!(TransactionError::NoRecipientAccepted { transient: true }.is_transient());
    assert!(!TransactionError::NoRecipientAccepted { transient: false }.is_transient());
    assert!(TransactionError::RecipientsRejected { transient: true }.is_transient());
}

//! Property tests: the body encoder and the reply parser give the same result
//! however their input is cut, and the encoder's output decodes back to the
//! normalised input.

use proptest::prelude::*;
use smtp_proto::body::{BodyEncoder, BodyMode, unstuff};
use smtp_proto::{Reply, ReplyCode, ReplyLimits, ReplyParser};

/// Bytes rich in what matters to the encoder: CR, LF and dots.
fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![3 => Just(b'.'), 3 => Just(b'\r'), 3 => Just(b'\n'), 1 => any::<u8>(), 4 => Just(b'a')],
        0..400,
    )
}

/// The reference: every CRLF, bare CR and bare LF is one CRLF; a final CRLF
/// is added to a non-empty last line.
fn normalise(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn encode_in_chunks(mode: BodyMode, input: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut e = BodyEncoder::new(mode);
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts {
        let end = (at + c).min(input.len());
        e.encode(&input[at..end], &mut out).unwrap();
        at = end;
    }
    e.encode(&input[at..], &mut out).unwrap();
    e.finish(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn body_unstuffs_to_normalised_input(input in body_bytes(), cuts in prop::collection::vec(0usize..50, 0..20)) {
        let whole = encode_in_chunks(BodyMode::Data, &input, &[]);
        let chunked = encode_in_chunks(BodyMode::Data, &input, &cuts);
        prop_assert_eq!(&whole, &chunked);
        prop_assert_eq!(unstuff(&whole).unwrap(), normalise(&input));
        // The terminator appears once, at the end.
        let body = &whole[..whole.len() - 3];
        prop_assert!(!body.windows(5).any(|w| w == b"\r\n.\r\n"));
        prop_assert!(!body.starts_with(b".\r\n"));
        // Every line ends in CRLF: no bare CR or LF survives.
        for (i, &b) in whole.iter().enumerate() {
            if b == b'\n' { prop_assert_eq!(whole[i - 1], b'\r'); }
            if b == b'\r' { prop_assert_eq!(whole.get(i + 1), Some(&b'\n')); }
        }
    }

    #[test]
    fn bdat_mode_normalises_without_stuffing(input in body_bytes(), cuts in prop::collection::vec(0usize..50, 0..20)) {
        let chunked = encode_in_chunks(BodyMode::Bdat, &input, &cuts);
        prop_assert_eq!(chunked, normalise(&input));
    }

    #[test]
    fn replies_parse_the_same_at_any_split(
        replies in prop::collection::vec(
            (200u16..=554, prop::collection::vec(prop::collection::vec(0x20u8..0x7f, 0..40), 1..6)),
            1..6,
        ),
        cuts in prop::collection::vec(1usize..30, 0..40),
    ) {
        let replies: Vec<Reply> = replies
            .into_iter()
            .filter_map(|(code, lines)| Some(Reply::new(ReplyCode::new(code)?, lines.iter().map(Vec::as_slice))))
            .collect();
        let mut wire = Vec::new();
        for r in &replies {
            r.write_to(&mut wire);
        }
        let mut parser = ReplyParser::new(ReplyLimits::default());
        let mut got = Vec::new();
        let mut rest = &wire[..];
        let mut cuts = cuts.into_iter();
        while !rest.is_empty() {
            let n = cuts.next().unwrap_or(rest.len()).min(rest.len());
            let mut piece = &rest[..n];
            while !piece.is_empty() {
                let (used, reply) = parser.parse(piece).unwrap();
                piece = &piece[used..];
                got.extend(reply);
            }
            rest = &rest[n..];
        }
        prop_assert_eq!(got, replies);
        prop_assert!(!parser.is_mid_reply());
    }

    #[test]
    fn parser_never_panics_and_respects_limits(input in prop::collection::vec(any::<u8>(), 0..600)) {
        let limits = ReplyLimits::new(40, 4, 120);
        let mut parser = ReplyParser::new(limits);
        let mut rest = &input[..];
        while !rest.is_empty() {
            match parser.parse(rest) {
                Ok((used, reply)) => {
                    prop_assert!(used > 0);
                    rest = &rest[used..];
                    if let Some(r) = reply {
                        prop_assert!(r.line_count() <= 4);
                        prop_assert!(r.lines().all(|l| l.len() <= 40));
                    }
                }
                Err(_) => break,
            }
        }
    }
}

//! The pool's I/O-free choices: which idle session to reuse, which to close.

use smtp_adapter_common::Shelf;
use std::time::{Duration, Instant};

#[test]
fn the_shelf_hands_out_the_freshest_and_expires_the_oldest() {
    let t0 = Instant::now();
    let s = Duration::from_secs(1);
    let mut shelf = Shelf::default();
    shelf.put("a", t0);
    shelf.put("b", t0 + s);
    assert_eq!(shelf.next_expiry(3 * s), Some(t0 + 3 * s));
    assert_eq!(shelf.pop_expired(t0 + 3 * s, 3 * s), Some("a"));
    assert_eq!(shelf.pop_expired(t0 + 3 * s, 3 * s), None);
    assert_eq!(shelf.len(), 1);
    // Idle 2 s: checked when the threshold is 1 s, not when it is 5 s.
    assert_eq!(shelf.take(t0 + 3 * s, s), Some(("b", true)));
    shelf.put("b", t0 + s);
    assert_eq!(shelf.take(t0 + 3 * s, 5 * s), Some(("b", false)));
    assert_eq!(shelf.take(t0, s), None);
    assert!(shelf.is_empty());
}

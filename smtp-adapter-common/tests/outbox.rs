//! The message directory: names, no overwrite, the envelope beside each message.

use smtp_adapter_common::outbox::*;
use std::fs;
use std::time::SystemTime;

#[test]
fn stamps() {
    assert_eq!(utc_stamp(0), "19700101T000000Z");
    assert_eq!(utc_stamp(1_700_000_000), "20231114T221320Z");
    assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
    assert_eq!(utc_stamp(i64::MAX), "99991231T235959Z");
    assert_eq!(utc_stamp(i64::MIN), "00000101T000000Z");
}

#[test]
fn names_are_unique_and_files_never_overwritten() {
    let a = file_name(SystemTime::now());
    let b = file_name(SystemTime::now());
    assert_ne!(a, b);
    assert!(a.ends_with(".eml") && a.len() > 40, "{a}");
    let dir = std::env::temp_dir().join(format!("outbox-test-{}", entropy(1)));
    let to = ["b@example.org".to_owned()];
    let p1 = store(&dir, "a@example.org", &to, b"one\r\n").unwrap();
    let p2 = store(&dir, "", &[], b"two\r\n").unwrap();
    assert_ne!(p1, p2);
    assert_eq!(fs::read(&p1).unwrap(), b"one\r\n");
    assert_eq!(fs::read(&p2).unwrap(), b"two\r\n");
    let envelope = read_envelope(&p1).unwrap();
    assert_eq!(envelope, ("a@example.org".to_owned(), to.to_vec()));
    assert_eq!(read_envelope(&p2).unwrap(), (String::new(), vec![]));
    fs::remove_dir_all(&dir).unwrap();
}

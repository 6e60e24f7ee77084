//! How user keys and versions are laid out in the store's `mvcc` tree.
//!
//! A stored key is `escape(user_key) ‖ version_stamp(lsn)`. Escaping turns
//! each `0x00` into `0x00 0xFF` and ends the key with `0x00 0x01`: `memcmp`
//! order of escaped keys is the order of the user keys, and no escaped key
//! is a prefix of another. That is what keeps all versions of one key
//! contiguous (a user key that extends another cannot sort between its
//! versions) and lets the stamp be split off the end. Stamps sort
//! newest-first, so a forward scan meets a key's newest version first.
//!
//! A stored value is a tag byte (live row or tombstone) and the row.

use std::ops::Bound;

use super::error::{TxnError, corrupt};
use crate::storage::wal::Lsn;
use crate::storage::{STAMP_LEN, stamp_lsn, version_stamp};

const ESCAPE: u8 = 0x00;
const ESCAPED_ZERO: u8 = 0xFF;
const TERMINATOR: u8 = 0x01;
/// Sorts after every version of a key and before every greater key.
const PAST_VERSIONS: u8 = 0x02;

const TAG_TOMBSTONE: u8 = 0;
const TAG_LIVE: u8 = 1;

fn escape_body(key: &[u8], extra: usize) -> Vec<u8> {
    let zeros = key.iter().filter(|&&b| b == ESCAPE).count();
    let mut out = Vec::with_capacity(key.len() + zeros + 2 + extra);
    for &b in key {
        out.push(b);
        if b == ESCAPE {
            out.push(ESCAPED_ZERO);
        }
    }
    out
}

/// The length of [`escape`]`(key)`, without building it.
pub(crate) fn escaped_len(key: &[u8]) -> usize {
    key.len() + key.iter().filter(|&&b| b == ESCAPE).count() + 2
}

/// The escaped form of `key`: the prefix shared by all its stored versions,
/// and the smallest of them.
pub(crate) fn escape(key: &[u8]) -> Vec<u8> {
    let mut out = escape_body(key, STAMP_LEN);
    out.extend_from_slice(&[ESCAPE, TERMINATOR]);
    out
}

/// A key sorting after every version of `key` and before any greater key.
pub(crate) fn past_versions(key: &[u8]) -> Vec<u8> {
    let mut out = escape_body(key, 0);
    out.extend_from_slice(&[ESCAPE, PAST_VERSIONS]);
    out
}

/// The stored-key range of every version of every user key that starts
/// with `prefix`. Escaping works byte by byte and its output has a zero
/// byte only before 0xFF in a key's body, so those stored keys are exactly
/// the ones starting with the escaped body of `prefix`.
pub(crate) fn prefix_range(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let body = escape_body(prefix, 0);
    let mut end = body.clone();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return (Bound::Included(body), Bound::Excluded(end));
        }
    }
    (Bound::Included(body), Bound::Unbounded)
}

/// The user key an escaped key came from, into a buffer the caller reuses
/// from key to key.
///
/// # Errors
/// A corruption error if `escaped` is not something [`escape`] produced;
/// `out` then holds part of the key.
pub(crate) fn unescape_into(escaped: &[u8], out: &mut Vec<u8>) -> Result<(), TxnError> {
    out.clear();
    let mut bytes = escaped.iter();
    while let Some(&b) = bytes.next() {
        if b != ESCAPE {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(&ESCAPED_ZERO) => out.push(ESCAPE),
            Some(&TERMINATOR) if bytes.as_slice().is_empty() => return Ok(()),
            _ => return Err(corrupt("badly escaped key")),
        }
    }
    Err(corrupt("unterminated key"))
}

/// The stored key of `key`'s version committed at `lsn`.
pub(crate) fn version_key(key: &[u8], lsn: Lsn) -> Vec<u8> {
    let mut out = escape(key);
    out.extend_from_slice(&version_stamp(lsn));
    out
}

/// Splits a stored key into the escaped user key and the version's LSN.
///
/// # Errors
/// A corruption error if the key is too short to hold a stamp.
pub(crate) fn split(stored: &[u8]) -> Result<(&[u8], Lsn), TxnError> {
    let cut = stored
        .len()
        .checked_sub(STAMP_LEN)
        .ok_or_else(|| corrupt("stored key shorter than its stamp"))?;
    let (escaped, stamp) = stored.split_at(cut);
    let lsn = stamp_lsn(stamp).ok_or_else(|| corrupt("bad stamp"))?;
    Ok((escaped, lsn))
}

/// The stored-key bound equivalent to a user-key lower bound.
pub(crate) fn lower_bound(bound: &Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(k) => Bound::Included(escape(k)),
        Bound::Excluded(k) => Bound::Included(past_versions(k)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The stored-key bound equivalent to a user-key upper bound.
pub(crate) fn upper_bound(bound: &Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(k) => Bound::Excluded(past_versions(k)),
        Bound::Excluded(k) => Bound::Excluded(escape(k)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Whether no key lies between the bounds (including the inverted ranges
/// that `BTreeMap::range` would panic on).
pub(crate) fn is_empty_range(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => {
            l >= u
        }
        _ => false,
    }
}

/// The stored value for a row (`Some`) or a tombstone (`None`). The row's
/// buffer becomes the value, growing only if it has no byte to spare: a
/// commit gives its rows up.
pub(crate) fn into_stored_value(row: Option<Vec<u8>>) -> Vec<u8> {
    match row {
        Some(mut row) => {
            row.insert(0, TAG_LIVE);
            row
        }
        None => vec![TAG_TOMBSTONE],
    }
}

/// The row a stored value holds, `None` for a tombstone.
///
/// # Errors
/// A corruption error for an unknown tag.
pub(crate) fn decode_value(stored: &[u8]) -> Result<Option<&[u8]>, TxnError> {
    match stored.split_first() {
        Some((&TAG_LIVE, row)) => Ok(Some(row)),
        Some((&TAG_TOMBSTONE, [])) => Ok(None),
        _ => Err(corrupt("bad value tag")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(2), Just(0xFF)], 0..6),
            proptest::collection::vec(any::<u8>(), 0..20),
        ]
    }

    proptest! {
        #[test]
        fn escaping_preserves_order(a in key(), b in key()) {
            prop_assert_eq!(escape(&a).cmp(&escape(&b)), a.cmp(&b));
        }

        #[test]
        fn escaped_len_is_the_escaped_keys_length(a in key()) {
            prop_assert_eq!(escaped_len(&a), escape(&a).len());
        }

        #[test]
        fn escaped_keys_are_prefix_free(a in key(), b in key()) {
            prop_assume!(a != b);
            prop_assert!(!escape(&b).starts_with(&escape(&a)));
        }

        #[test]
        fn versions_stay_between_their_bounds(a in key(), b in key(), lsn in 1u64..u64::MAX) {
            let v = version_key(&a, lsn);
            prop_assert!(escape(&a) < v && v < past_versions(&a));
            // Another key's versions are wholly before or wholly after.
            let w = version_key(&b, lsn);
            if a < b {
                prop_assert!(past_versions(&a) <= escape(&b) && v < w);
            }
        }

        #[test]
        fn unescape_inverts_escape(a in key(), lsn in any::<u64>()) {
            let stored = version_key(&a, lsn);
            let (escaped, got) = split(&stored).unwrap();
            prop_assert_eq!(got, lsn);
            let mut out = vec![7];
            unescape_into(escaped, &mut out).unwrap();
            prop_assert_eq!(out, a);
        }

        #[test]
        fn a_prefix_range_holds_the_versions_of_the_keys_with_the_prefix(
            prefix in key(), a in key(), lsn in any::<u64>()
        ) {
            use std::ops::RangeBounds;
            let range = prefix_range(&prefix);
            prop_assert_eq!(range.contains(&version_key(&a, lsn)), a.starts_with(&prefix));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..30)) {
            let _ = unescape_into(&bytes, &mut Vec::new());
            let _ = split(&bytes);
            let _ = decode_value(&bytes);
        }
    }

    #[test]
    fn values_round_trip() {
        assert_eq!(
            decode_value(&into_stored_value(Some(b"row".to_vec()))).unwrap(),
            Some(&b"row"[..])
        );
        assert_eq!(
            decode_value(&into_stored_value(Some(Vec::new()))).unwrap(),
            Some(&b""[..])
        );
        assert_eq!(decode_value(&into_stored_value(None)).unwrap(), None);
        assert!(decode_value(&[7]).is_err());
    }
}

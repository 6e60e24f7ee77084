//! Record framing: `[len u32 LE][crc u32 LE][lsn u64 LE][sealed payload]`.
//!
//! `len` counts the sealed payload only. The CRC covers the LSN and the
//! sealed payload, so a torn or garbled record is recognised before anything
//! tries to decrypt or decode it; the length is covered indirectly (a wrong
//! length frames different bytes, and the CRC of those fails).

use crate::storage::codec::{self, Cipher};
use crate::storage::error::{StorageError, StorageResult};

use super::Lsn;

/// Bytes before the payload: length, CRC, LSN.
pub(super) const HEADER_LEN: usize = 16;

/// Largest sealed payload a record may carry. A length field above it is
/// garbage, never a reason to allocate.
pub const MAX_RECORD_LEN: usize = 1 << 30;

/// A parsed record header.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    pub(super) len: usize,
    pub(super) crc: u32,
    pub(super) lsn: Lsn,
}

impl Header {
    pub(super) fn parse(bytes: &[u8; HEADER_LEN]) -> Header {
        let [l0, l1, l2, l3, c0, c1, c2, c3, rest @ ..] = *bytes;
        Header {
            len: u32::from_le_bytes([l0, l1, l2, l3]) as usize,
            crc: u32::from_le_bytes([c0, c1, c2, c3]),
            lsn: u64::from_le_bytes(rest),
        }
    }
}

pub(super) fn checksum(lsn: Lsn, sealed: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&lsn.to_le_bytes());
    hasher.update(sealed);
    hasher.finalize()
}

/// Frames `payloads` as records `first_lsn, first_lsn + 1, …` into `out`.
///
/// # Errors
/// [`StorageError::ValueTooLarge`] when a sealed payload exceeds
/// [`MAX_RECORD_LEN`]; [`StorageError::Key`] when sealing fails.
pub(super) fn encode_group(
    cipher: Option<&Cipher>,
    first_lsn: Lsn,
    payloads: &[&[u8]],
    out: &mut Vec<u8>,
) -> StorageResult<()> {
    let mut total = 0usize;
    for payload in payloads {
        let sealed_len = codec::sealed_record_len(cipher, payload.len());
        if sealed_len > MAX_RECORD_LEN {
            return Err(StorageError::ValueTooLarge {
                len: sealed_len,
                max: MAX_RECORD_LEN,
            });
        }
        total = total.saturating_add(HEADER_LEN + sealed_len);
    }
    out.reserve(total);
    for (lsn, payload) in (first_lsn..).zip(payloads) {
        let start = out.len();
        out.extend_from_slice(&[0u8; HEADER_LEN]);
        codec::seal_record_into(cipher, lsn, payload, out)?;
        let sealed = &out[start + HEADER_LEN..];
        let crc = checksum(lsn, sealed);
        // Checked above: every sealed length is at most MAX_RECORD_LEN < 2^32.
        let len = sealed.len() as u32;
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        out[start + 8..start + HEADER_LEN].copy_from_slice(&lsn.to_le_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let mut out = Vec::new();
        encode_group(None, 41, &[b"ab", b""], &mut out).unwrap();
        assert_eq!(out.len(), 2 * HEADER_LEN + 2);
        let first = Header::parse(out[..HEADER_LEN].try_into().unwrap());
        assert_eq!((first.len, first.lsn), (2, 41));
        assert_eq!(first.crc, checksum(41, b"ab"));
        let second = Header::parse(out[HEADER_LEN + 2..].try_into().unwrap());
        assert_eq!((second.len, second.lsn), (0, 42));
    }
}

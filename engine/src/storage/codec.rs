//! Integrity and confidentiality of bytes at rest: pages and WAL records.
//!
//! Every page leaves memory through [`seal_page`] and comes back through
//! [`open_page`]; every WAL record payload through [`seal_record`] and
//! [`open_record`]. Nothing else in the engine knows whether the database is
//! encrypted.
//!
//! Without a key a page carries a CRC-32 (the IEEE/ISO-HDLC polynomial of
//! `crc32fast`, hardware-accelerated, not CRC-32C) over its usable bytes,
//! its trailer and its page id. The id is in the checksum so that a page
//! written at the wrong offset — a misdirected write, a bug in free-list
//! handling — fails verification instead of being read as another page.
//! A CRC detects accidents, not an adversary.
//!
//! With a key each page is sealed with AES-256-GCM under a fresh random
//! 96-bit nonce, the page id as associated data. The tag authenticates
//! the contents and the location; it cannot tell an old version of the same
//! page from the current one (a rollback by someone with write access to the
//! file goes unnoticed at this level). Random nonces are safe for about 2^32
//! seals per key (NIST SP 800-38D); at 8 KiB per seal that is 32 TiB of page
//! writes before the key should be rotated.
//!
//! The trailer's last byte names the format (plain or encrypted), so a sealed
//! page is never all zeros: a page that is all zeros was allocated but never
//! written, and is reported as such rather than as a checksum failure.

use std::fmt;
use std::path::Path;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, MAX_TAG_LEN, NONCE_LEN, Nonce, Tag, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use super::error::{StorageError, StorageResult};
use super::page::{PAGE_SIZE, PAGE_TRAILER, PAGE_USABLE, PageId};

/// AES-GCM's tag length (ring exports only the maximum over its algorithms).
const TAG_LEN: usize = MAX_TAG_LEN;

/// Length of an AES-256 key.
pub const KEY_LEN: usize = 32;

/// Extra bytes [`seal_record`] adds to a payload when encrypting (nonce + tag).
pub const RECORD_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// Length of the block returned by [`Cipher::key_check_block`].
pub const KEY_CHECK_LEN: usize = NONCE_LEN + KEY_CHECK_PLAINTEXT.len() + TAG_LEN;

const KEY_CHECK_PLAINTEXT: &[u8; 16] = b"RustyDB key ok\0\0";
/// Associated data of the key check, so it can never be confused with a page
/// or a record sealed under the same key.
const KEY_CHECK_AAD: &[u8] = b"rustydb key check v1";

/// Last trailer byte of a page sealed without a key.
const FORMAT_PLAIN: u8 = 0x01;
/// Last trailer byte of a page sealed with AES-256-GCM.
const FORMAT_AES_GCM: u8 = 0x02;

const REASON_NEVER_WRITTEN: &str = "page never written";
const REASON_CHECKSUM: &str = "checksum mismatch";
const REASON_AUTH: &str = "authentication failed (wrong key or tampered page)";
const REASON_FORMAT: &str = "unknown page format";
const REASON_NEEDS_KEY: &str = "page is encrypted but no key was supplied";
const REASON_NOT_ENCRYPTED: &str = "page is not encrypted but a key was supplied";

/// An AES-256-GCM key for pages and WAL records.
///
/// Cheap to share behind an `Arc`; sealing draws nonces from the operating
/// system's random number generator.
pub struct Cipher {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher")
            .field("algorithm", &"AES-256-GCM")
            .finish_non_exhaustive()
    }
}

impl Cipher {
    /// A cipher over a raw 256-bit key.
    #[must_use]
    pub fn from_key(key: &[u8; KEY_LEN]) -> Cipher {
        // ring rejects only keys of the wrong length, which the type rules out.
        let unbound =
            UnboundKey::new(&AES_256_GCM, key).expect("AES-256-GCM accepts any 32-byte key");
        Cipher {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        }
    }

    /// Reads a key file: exactly 32 raw bytes, or 64 hexadecimal digits with
    /// surrounding whitespace (a trailing newline) ignored.
    ///
    /// # Errors
    /// [`StorageError::Io`] when the file cannot be read,
    /// [`StorageError::Key`] when its content is neither form.
    pub fn from_key_file(path: &Path) -> StorageResult<Cipher> {
        // The key file is configuration, not database state: it is read once
        // with std::fs rather than through the Vfs.
        let mut bytes =
            std::fs::read(path).map_err(|e| StorageError::io("read key file", path, e))?;
        let parsed = parse_key(&bytes);
        // Best effort only: the allocator may have copied the bytes already.
        bytes.fill(0);
        let mut key = parsed.ok_or_else(|| {
            StorageError::Key(format!(
                "key file {} must hold 32 raw bytes or 64 hexadecimal digits",
                path.display()
            ))
        })?;
        let cipher = Cipher::from_key(&key);
        key.fill(0);
        Ok(cipher)
    }

    /// A short block sealed under this key, stored in the file header so
    /// that opening a database with the wrong key fails with a clear error
    /// instead of a corrupt first page.
    ///
    /// # Errors
    /// [`StorageError::Key`] when the system random number generator fails.
    pub fn key_check_block(&self) -> StorageResult<Vec<u8>> {
        let nonce = self.fresh_nonce()?;
        let mut block = Vec::with_capacity(KEY_CHECK_LEN);
        block.extend_from_slice(&nonce);
        block.extend_from_slice(KEY_CHECK_PLAINTEXT);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(KEY_CHECK_AAD),
                &mut block[NONCE_LEN..],
            )
            .map_err(|_| StorageError::Key("sealing the key check block failed".into()))?;
        block.extend_from_slice(tag.as_ref());
        Ok(block)
    }

    /// Checks a block made by [`Cipher::key_check_block`] against this key.
    ///
    /// # Errors
    /// [`StorageError::Key`]`("wrong encryption key")` when the block was
    /// sealed under another key (or altered); [`StorageError::Corrupt`] when
    /// it does not have the length of a key check block.
    pub fn verify_key_check(&self, block: &[u8]) -> StorageResult<()> {
        if block.len() != KEY_CHECK_LEN {
            return Err(StorageError::Corrupt(format!(
                "key check block has {} bytes, expected {KEY_CHECK_LEN}",
                block.len()
            )));
        }
        let mut buf = block.to_vec();
        let opened = self
            .open_in_place(KEY_CHECK_AAD, &mut buf)
            .ok_or_else(|| StorageError::Key("wrong encryption key".into()))?;
        if opened != KEY_CHECK_PLAINTEXT {
            return Err(StorageError::Key("wrong encryption key".into()));
        }
        Ok(())
    }

    fn fresh_nonce(&self) -> StorageResult<[u8; NONCE_LEN]> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| {
            StorageError::Key("the system random number generator failed to produce a nonce".into())
        })?;
        Ok(nonce)
    }

    /// Seals `data` in place and returns `(nonce, tag)`.
    fn seal(&self, aad: &[u8], data: &mut [u8]) -> StorageResult<([u8; NONCE_LEN], Tag)> {
        let nonce = self.fresh_nonce()?;
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), data)
            .map_err(|_| StorageError::Key("AES-GCM sealing failed".into()))?;
        Ok((nonce, tag))
    }

    /// Opens `nonce | ciphertext | tag` in place; returns the plaintext, now
    /// at the front of `buf`, or `None` when authentication fails.
    fn open_in_place<'a>(&self, aad: &[u8], buf: &'a mut [u8]) -> Option<&'a mut [u8]> {
        let nonce = Nonce::try_assume_unique_for_key(buf.get(..NONCE_LEN)?).ok()?;
        self.key
            .open_within(nonce, Aad::from(aad), buf, NONCE_LEN..)
            .ok()
    }
}

fn parse_key(bytes: &[u8]) -> Option<[u8; KEY_LEN]> {
    if let Ok(raw) = <[u8; KEY_LEN]>::try_from(bytes) {
        return Some(raw);
    }
    let hex = bytes.trim_ascii();
    if hex.len() != 2 * KEY_LEN {
        return None;
    }
    let mut key = [0u8; KEY_LEN];
    for (out, pair) in key.iter_mut().zip(hex.chunks_exact(2)) {
        *out = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
    }
    Some(key)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn check_page_len(page: &[u8]) -> StorageResult<()> {
    if page.len() == PAGE_SIZE {
        Ok(())
    } else {
        Err(StorageError::Corrupt(format!(
            "page buffer of {} bytes, expected {PAGE_SIZE}",
            page.len()
        )))
    }
}

/// Trailer layout, plain: `crc u32 LE | zeros | format`.
/// Trailer layout, encrypted: `nonce (12) | tag (16) | zeros | format`.
const FORMAT_AT: usize = PAGE_TRAILER - 1;
const CRC_LEN: usize = 4;
const _: () = assert!(NONCE_LEN + TAG_LEN < FORMAT_AT);

fn page_crc(id: PageId, page: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&page[..PAGE_USABLE]);
    hasher.update(&page[PAGE_USABLE + CRC_LEN..]);
    hasher.update(&id.to_le_bytes());
    hasher.finalize()
}

/// Seals a full [`PAGE_SIZE`] page in place before it is written: checksum,
/// or encryption of the usable bytes, into the trailer. The trailer's
/// previous content is ignored.
///
/// # Errors
/// [`StorageError::Key`] when the random number generator fails;
/// [`StorageError::Corrupt`] when `page` is not [`PAGE_SIZE`] bytes (a bug).
pub fn seal_page(cipher: Option<&Cipher>, id: PageId, page: &mut [u8]) -> StorageResult<()> {
    check_page_len(page)?;
    page[PAGE_USABLE..].fill(0);
    match cipher {
        None => {
            page[PAGE_SIZE - 1] = FORMAT_PLAIN;
            let crc = page_crc(id, page);
            page[PAGE_USABLE..PAGE_USABLE + CRC_LEN].copy_from_slice(&crc.to_le_bytes());
        }
        Some(cipher) => {
            let (usable, trailer) = page.split_at_mut(PAGE_USABLE);
            let (nonce, tag) = cipher.seal(&id.to_le_bytes(), usable)?;
            trailer[..NONCE_LEN].copy_from_slice(&nonce);
            trailer[NONCE_LEN..NONCE_LEN + TAG_LEN].copy_from_slice(tag.as_ref());
            trailer[FORMAT_AT] = FORMAT_AES_GCM;
        }
    }
    Ok(())
}

/// Verifies a page just read from `id`'s place and, with a key, decrypts
/// its usable bytes in place.
///
/// # Errors
/// [`StorageError::CorruptPage`] with reason `"page never written"` (all
/// zeros), `"checksum mismatch"`, `"authentication failed (wrong key or
/// tampered page)"`, `"unknown page format"`, or a key/format mismatch.
/// On error the page's content is unspecified.
pub fn open_page(cipher: Option<&Cipher>, id: PageId, page: &mut [u8]) -> StorageResult<()> {
    check_page_len(page)?;
    let corrupt = |reason| StorageError::CorruptPage { page: id, reason };
    if page.iter().all(|&b| b == 0) {
        return Err(corrupt(REASON_NEVER_WRITTEN));
    }
    match (page[PAGE_SIZE - 1], cipher) {
        (FORMAT_PLAIN, None) => {
            let stored = le_u32(&page[PAGE_USABLE..]);
            if stored != page_crc(id, page) {
                return Err(corrupt(REASON_CHECKSUM));
            }
        }
        (FORMAT_AES_GCM, Some(cipher)) => {
            let (usable, trailer) = page.split_at_mut(PAGE_USABLE);
            // The zero bytes are outside the AAD; check them so that no bit
            // of an encrypted page can change unnoticed.
            if trailer[NONCE_LEN + TAG_LEN..FORMAT_AT]
                .iter()
                .any(|&b| b != 0)
            {
                return Err(corrupt(REASON_FORMAT));
            }
            let nonce = Nonce::try_assume_unique_for_key(&trailer[..NONCE_LEN])
                .map_err(|_| corrupt(REASON_FORMAT))?;
            let tag = Tag::try_from(&trailer[NONCE_LEN..NONCE_LEN + TAG_LEN])
                .map_err(|_| corrupt(REASON_FORMAT))?;
            cipher
                .key
                .open_in_place_separate_tag(nonce, Aad::from(id.to_le_bytes()), tag, usable, 0..)
                .map_err(|_| corrupt(REASON_AUTH))?;
        }
        (FORMAT_AES_GCM, None) => return Err(corrupt(REASON_NEEDS_KEY)),
        (FORMAT_PLAIN, Some(_)) => return Err(corrupt(REASON_NOT_ENCRYPTED)),
        _ => return Err(corrupt(REASON_FORMAT)),
    }
    Ok(())
}

fn le_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(word)
}

/// Length of `seal_record`'s output for a payload of `payload_len` bytes.
#[must_use]
pub fn sealed_record_len(cipher: Option<&Cipher>, payload_len: usize) -> usize {
    match cipher {
        None => payload_len,
        Some(_) => payload_len + RECORD_OVERHEAD,
    }
}

/// Seals a WAL record payload: the payload itself without a key, otherwise
/// `nonce | ciphertext | tag` with the LSN as associated data (so a record
/// cannot be moved to another position in the log).
///
/// Integrity without a key is the WAL framing's CRC, not this function's.
///
/// # Errors
/// [`StorageError::Key`] when the random number generator fails.
pub fn seal_record(cipher: Option<&Cipher>, lsn: u64, payload: &[u8]) -> StorageResult<Vec<u8>> {
    let mut out = Vec::with_capacity(sealed_record_len(cipher, payload.len()));
    seal_record_into(cipher, lsn, payload, &mut out)?;
    Ok(out)
}

/// [`seal_record`], appending to `out` (the WAL builds a whole group of
/// records in one buffer).
pub(crate) fn seal_record_into(
    cipher: Option<&Cipher>,
    lsn: u64,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> StorageResult<()> {
    let Some(cipher) = cipher else {
        out.extend_from_slice(payload);
        return Ok(());
    };
    let start = out.len();
    out.extend_from_slice(&[0u8; NONCE_LEN]);
    out.extend_from_slice(payload);
    let (nonce, tag) = cipher.seal(&lsn.to_le_bytes(), &mut out[start + NONCE_LEN..])?;
    out[start..start + NONCE_LEN].copy_from_slice(&nonce);
    out.extend_from_slice(tag.as_ref());
    Ok(())
}

/// Opens a payload sealed by [`seal_record`] for `lsn`.
///
/// # Errors
/// [`StorageError::Corrupt`] when the record is too short or fails
/// authentication (wrong key, tampering, or a record from another position).
pub fn open_record(cipher: Option<&Cipher>, lsn: u64, sealed: &[u8]) -> StorageResult<Vec<u8>> {
    open_record_owned(cipher, lsn, sealed.to_vec())
}

/// [`open_record`] reusing the buffer the sealed record was read into.
pub(crate) fn open_record_owned(
    cipher: Option<&Cipher>,
    lsn: u64,
    mut sealed: Vec<u8>,
) -> StorageResult<Vec<u8>> {
    let Some(cipher) = cipher else {
        return Ok(sealed);
    };
    let len = cipher
        .open_in_place(&lsn.to_le_bytes(), &mut sealed)
        .map(|plain| plain.len())
        .ok_or_else(|| {
            StorageError::Corrupt(format!(
                "WAL record {lsn} failed authentication (wrong key or tampered record)"
            ))
        })?;
    sealed.truncate(len);
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(byte: u8) -> Cipher {
        Cipher::from_key(&[byte; KEY_LEN])
    }

    fn sample_page() -> Vec<u8> {
        let mut page = vec![0u8; PAGE_SIZE];
        for (i, b) in page[..PAGE_USABLE].iter_mut().enumerate() {
            *b = (i * 31 % 251) as u8;
        }
        page
    }

    fn assert_reason(result: StorageResult<()>, id: PageId, want: &str) {
        match result {
            Err(StorageError::CorruptPage { page, reason }) => {
                assert_eq!(page, id);
                assert_eq!(reason, want);
            }
            other => panic!("expected CorruptPage({want}), got {other:?}"),
        }
    }

    #[test]
    fn plain_page_round_trips() {
        let original = sample_page();
        let mut page = original.clone();
        seal_page(None, 7, &mut page).unwrap();
        assert_eq!(page[..PAGE_USABLE], original[..PAGE_USABLE]);
        open_page(None, 7, &mut page).unwrap();
        assert_eq!(page[..PAGE_USABLE], original[..PAGE_USABLE]);
    }

    #[test]
    fn encrypted_page_round_trips_and_hides_content() {
        let cipher = key(1);
        let original = sample_page();
        let mut page = original.clone();
        seal_page(Some(&cipher), 7, &mut page).unwrap();
        assert_ne!(page[..PAGE_USABLE], original[..PAGE_USABLE]);
        open_page(Some(&cipher), 7, &mut page).unwrap();
        assert_eq!(page[..PAGE_USABLE], original[..PAGE_USABLE]);
    }

    #[test]
    fn same_page_sealed_twice_differs() {
        let cipher = key(1);
        let mut a = sample_page();
        let mut b = sample_page();
        seal_page(Some(&cipher), 3, &mut a).unwrap();
        seal_page(Some(&cipher), 3, &mut b).unwrap();
        assert_ne!(a, b, "nonces must be fresh");
    }

    #[test]
    fn zero_page_is_never_written() {
        for cipher in [None, Some(key(1))] {
            let mut page = vec![0u8; PAGE_SIZE];
            assert_reason(
                open_page(cipher.as_ref(), 4, &mut page),
                4,
                REASON_NEVER_WRITTEN,
            );
        }
        // An all-zero usable area still seals to a page that is not all zero.
        let mut page = vec![0u8; PAGE_SIZE];
        seal_page(None, 4, &mut page).unwrap();
        open_page(None, 4, &mut page).unwrap();
    }

    #[test]
    fn moved_page_fails() {
        let mut page = sample_page();
        seal_page(None, 10, &mut page).unwrap();
        assert_reason(open_page(None, 11, &mut page), 11, REASON_CHECKSUM);

        let cipher = key(2);
        let mut page = sample_page();
        seal_page(Some(&cipher), 10, &mut page).unwrap();
        assert_reason(open_page(Some(&cipher), 11, &mut page), 11, REASON_AUTH);
    }

    #[test]
    fn wrong_key_fails() {
        let mut page = sample_page();
        seal_page(Some(&key(1)), 5, &mut page).unwrap();
        assert_reason(open_page(Some(&key(2)), 5, &mut page), 5, REASON_AUTH);
    }

    #[test]
    fn key_presence_mismatch_is_reported() {
        let mut page = sample_page();
        seal_page(Some(&key(1)), 5, &mut page).unwrap();
        assert_reason(open_page(None, 5, &mut page.clone()), 5, REASON_NEEDS_KEY);
        let mut plain = sample_page();
        seal_page(None, 5, &mut plain).unwrap();
        assert_reason(
            open_page(Some(&key(1)), 5, &mut plain),
            5,
            REASON_NOT_ENCRYPTED,
        );
    }

    #[test]
    fn wrong_buffer_size_is_an_error_not_a_panic() {
        let mut short = vec![1u8; PAGE_SIZE - 1];
        assert!(seal_page(None, 1, &mut short).is_err());
        assert!(open_page(None, 1, &mut short).is_err());
    }

    #[test]
    fn records_round_trip() {
        let payload = b"a write batch".to_vec();
        assert_eq!(seal_record(None, 9, &payload).unwrap(), payload);
        assert_eq!(open_record(None, 9, &payload).unwrap(), payload);

        let cipher = key(3);
        let sealed = seal_record(Some(&cipher), 9, &payload).unwrap();
        assert_eq!(
            sealed.len(),
            sealed_record_len(Some(&cipher), payload.len())
        );
        assert_eq!(open_record(Some(&cipher), 9, &sealed).unwrap(), payload);
        let empty = seal_record(Some(&cipher), 1, &[]).unwrap();
        assert_eq!(
            open_record(Some(&cipher), 1, &empty).unwrap(),
            Vec::<u8>::new()
        );
    }

    #[test]
    fn record_under_wrong_lsn_or_key_fails() {
        let cipher = key(3);
        let sealed = seal_record(Some(&cipher), 9, b"batch").unwrap();
        assert!(matches!(
            open_record(Some(&cipher), 10, &sealed),
            Err(StorageError::Corrupt(_))
        ));
        assert!(matches!(
            open_record(Some(&key(4)), 9, &sealed),
            Err(StorageError::Corrupt(_))
        ));
        for len in 0..sealed.len() {
            assert!(open_record(Some(&cipher), 9, &sealed[..len]).is_err());
        }
    }

    #[test]
    fn key_check_accepts_right_key_only() {
        let block = key(5).key_check_block().unwrap();
        assert_eq!(block.len(), KEY_CHECK_LEN);
        key(5).verify_key_check(&block).unwrap();
        assert!(matches!(
            key(6).verify_key_check(&block),
            Err(StorageError::Key(msg)) if msg == "wrong encryption key"
        ));
        assert!(matches!(
            key(5).verify_key_check(&block[1..]),
            Err(StorageError::Corrupt(_))
        ));
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let shown = format!("{:?}", Cipher::from_key(&[0xAB; KEY_LEN]));
        assert!(!shown.to_lowercase().contains("ab"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
    }

    #[test]
    fn key_files_parse() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw.key");
        let raw_key: [u8; KEY_LEN] = std::array::from_fn(|i| i as u8);
        std::fs::write(&raw, raw_key).unwrap();
        let hex = dir.path().join("hex.key");
        let hex_text: String = raw_key.iter().map(|b| format!("{b:02X}")).collect();
        std::fs::write(&hex, format!("  {hex_text}\n")).unwrap();

        // Both forms give the same key: what one seals, the other opens.
        let block = Cipher::from_key_file(&raw)
            .unwrap()
            .key_check_block()
            .unwrap();
        Cipher::from_key_file(&hex)
            .unwrap()
            .verify_key_check(&block)
            .unwrap();
        Cipher::from_key(&raw_key).verify_key_check(&block).unwrap();

        for bad in [
            vec![7u8; 31],
            vec![7u8; 33],
            Vec::new(),
            hex_text.as_bytes()[..62].to_vec(),
            format!("{}zz", &hex_text[..62]).into_bytes(),
            format!("{hex_text}00").into_bytes(),
        ] {
            let path = dir.path().join("bad.key");
            std::fs::write(&path, &bad).unwrap();
            assert!(
                matches!(Cipher::from_key_file(&path), Err(StorageError::Key(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Cipher::from_key_file(&dir.path().join("missing.key")),
            Err(StorageError::Io { .. })
        ));
    }

    proptest! {
        #[test]
        fn any_flipped_bit_of_a_plain_page_is_caught(bit in 0..PAGE_SIZE * 8) {
            let mut page = sample_page();
            seal_page(None, 42, &mut page).unwrap();
            page[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(open_page(None, 42, &mut page).is_err());
        }

        #[test]
        fn any_flipped_bit_of_an_encrypted_page_is_caught(bit in 0..PAGE_SIZE * 8) {
            let cipher = key(9);
            let mut page = sample_page();
            seal_page(Some(&cipher), 42, &mut page).unwrap();
            page[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(open_page(Some(&cipher), 42, &mut page).is_err());
        }

        #[test]
        fn any_flipped_bit_of_an_encrypted_record_is_caught(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            bit in 0usize..(64 + RECORD_OVERHEAD) * 8,
        ) {
            let cipher = key(9);
            let mut sealed = seal_record(Some(&cipher), 3, &payload).unwrap();
            let bit = bit % (sealed.len() * 8);
            sealed[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(open_record(Some(&cipher), 3, &sealed).is_err());
        }
    }
}

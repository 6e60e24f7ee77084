//! The log's contract, exercised on the real file system.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::storage::codec::Cipher;
use crate::storage::error::StorageError;
use crate::storage::io::{FaultPlan, FaultyVfs, OsVfs};

fn opts(segment_bytes: u64) -> WalOptions {
    WalOptions { segment_bytes }
}

fn open(dir: &Path, segment_bytes: u64) -> Wal {
    Wal::open(Arc::new(OsVfs), dir, None, opts(segment_bytes)).unwrap()
}

fn payload(lsn: Lsn) -> Vec<u8> {
    format!("batch number {lsn} {}", "x".repeat((lsn % 7) as usize)).into_bytes()
}

/// Appends records `next_lsn..next_lsn + n` in groups of `group`, syncing each.
fn append_n(wal: &mut Wal, n: u64, group: u64) {
    let mut lsn = wal.next_lsn();
    let end = lsn + n;
    while lsn < end {
        let stop = (lsn + group).min(end);
        let owned: Vec<Vec<u8>> = (lsn..stop).map(payload).collect();
        let refs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        assert_eq!(wal.append(&refs).unwrap(), stop - 1);
        wal.sync().unwrap();
        lsn = stop;
    }
}

fn replayed(wal: &Wal, after: Lsn) -> Vec<(Lsn, Vec<u8>)> {
    let mut out = Vec::new();
    wal.replay(after, |lsn, p| {
        out.push((lsn, p));
        Ok(())
    })
    .unwrap();
    out
}

fn expected(range: std::ops::RangeInclusive<Lsn>) -> Vec<(Lsn, Vec<u8>)> {
    range.map(|lsn| (lsn, payload(lsn))).collect()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    files.sort();
    files
}

/// Byte offsets at which each record of a single segment starts.
fn record_offsets(lsns: std::ops::RangeInclusive<Lsn>) -> Vec<u64> {
    let mut offsets = vec![0];
    for lsn in lsns {
        let last = offsets[offsets.len() - 1];
        offsets.push(last + (record::HEADER_LEN + payload(lsn).len()) as u64);
    }
    offsets
}

#[test]
fn fresh_log_starts_at_one_and_creates_nothing_until_append() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    let mut wal = open(&dir, 1 << 20);
    assert_eq!(wal.next_lsn(), 1);
    assert!(segment_files(&dir).is_empty());
    assert_eq!(wal.append(&[]).unwrap(), 0);
    assert_eq!(wal.append(&[b"first"]).unwrap(), 1);
    wal.sync().unwrap();
    assert_eq!(
        segment_files(&dir),
        vec![dir.join("00000000000000000001.wal")]
    );
    assert_eq!(replayed(&wal, 0), vec![(1, b"first".to_vec())]);
}

#[test]
fn round_trip_across_rotations_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut wal = open(dir, 200);
    append_n(&mut wal, 25, 3);
    wal.rotate().unwrap();
    assert_eq!(wal.bytes_since_rotate(), 0);
    append_n(&mut wal, 10, 1);
    assert!(wal.bytes_since_rotate() > 0);
    assert!(
        segment_files(dir).len() > 3,
        "segments roll over at segment_bytes"
    );
    assert_eq!(replayed(&wal, 0), expected(1..=35));
    drop(wal);

    let mut wal = open(dir, 200);
    assert_eq!(wal.next_lsn(), 36);
    assert_eq!(replayed(&wal, 0), expected(1..=35));
    append_n(&mut wal, 5, 5);
    drop(wal);
    assert_eq!(replayed(&open(dir, 200), 0), expected(1..=40));
}

#[test]
fn replay_after_skips_earlier_records() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = open(tmp.path(), 100);
    append_n(&mut wal, 20, 2);
    for after in [0, 1, 7, 19, 20, 25] {
        let want = if after >= 20 {
            Vec::new()
        } else {
            expected(after + 1..=20)
        };
        assert_eq!(replayed(&wal, after), want, "after {after}");
    }
}

#[test]
fn replay_stops_at_the_callbacks_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = open(tmp.path(), 1 << 20);
    append_n(&mut wal, 5, 5);
    let mut seen = 0;
    let result = wal.replay(0, |lsn, _| {
        seen += 1;
        if lsn == 3 {
            Err(StorageError::Corrupt("stop".into()))
        } else {
            Ok(())
        }
    });
    assert!(matches!(result, Err(StorageError::Corrupt(m)) if m == "stop"));
    assert_eq!(seen, 3);
}

/// Builds a one-segment log of five records and returns its file.
fn five_records(dir: &Path) -> PathBuf {
    let mut wal = open(dir, 1 << 20);
    append_n(&mut wal, 5, 2);
    drop(wal);
    let files = segment_files(dir);
    assert_eq!(files.len(), 1);
    files[0].clone()
}

#[test]
fn torn_tail_at_every_offset_of_the_last_record() {
    let offsets = record_offsets(1..=5);
    for cut in offsets[4]..offsets[5] {
        let tmp = tempfile::tempdir().unwrap();
        let file = five_records(tmp.path());
        assert_eq!(fs::metadata(&file).unwrap().len(), offsets[5]);
        fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(cut)
            .unwrap();

        let mut wal = open(tmp.path(), 1 << 20);
        assert_eq!(replayed(&wal, 0), expected(1..=4), "cut at {cut}");
        assert_eq!(wal.next_lsn(), 5);
        assert_eq!(
            fs::metadata(&file).unwrap().len(),
            offsets[4],
            "tail truncated"
        );
        append_n(&mut wal, 2, 2);
        drop(wal);
        assert_eq!(
            replayed(&open(tmp.path(), 1 << 20), 0),
            expected(1..=6),
            "cut at {cut}"
        );
    }
}

#[test]
fn garbage_after_valid_records_is_cut_off() {
    for garbage in [
        vec![0u8; 100],
        vec![0xFF; 7],
        (0..=255u8).collect::<Vec<_>>(),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let file = five_records(tmp.path());
        let valid = fs::metadata(&file).unwrap().len();
        let mut bytes = fs::read(&file).unwrap();
        bytes.extend_from_slice(&garbage);
        fs::write(&file, bytes).unwrap();

        let mut wal = open(tmp.path(), 1 << 20);
        assert_eq!(replayed(&wal, 0), expected(1..=5));
        assert_eq!(fs::metadata(&file).unwrap().len(), valid);
        append_n(&mut wal, 1, 1);
        drop(wal);
        assert_eq!(replayed(&open(tmp.path(), 1 << 20), 0), expected(1..=6));
    }
}

#[test]
fn absurd_length_in_the_last_segment_ends_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let file = five_records(tmp.path());
    let offsets = record_offsets(1..=5);
    let mut bytes = fs::read(&file).unwrap();
    let at = offsets[3] as usize;
    bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&file, bytes).unwrap();
    assert_eq!(replayed(&open(tmp.path(), 1 << 20), 0), expected(1..=3));
}

/// Two sealed segments and a current one; returns the segment files.
fn three_segments(dir: &Path, cipher: Option<Arc<Cipher>>) -> Vec<PathBuf> {
    let mut wal = Wal::open(Arc::new(OsVfs), dir, cipher, opts(1 << 20)).unwrap();
    for _ in 0..3 {
        append_n(&mut wal, 4, 2);
        wal.rotate().unwrap();
    }
    let files = segment_files(dir);
    assert_eq!(files.len(), 3);
    files
}

#[test]
fn corruption_in_an_earlier_segment_is_an_error() {
    for (target, cut) in [(0, false), (1, false), (1, true)] {
        let tmp = tempfile::tempdir().unwrap();
        let files = three_segments(tmp.path(), None);
        let mut bytes = fs::read(&files[target]).unwrap();
        if cut {
            bytes.truncate(bytes.len() - 1);
        } else {
            bytes[20] ^= 0x10;
        }
        fs::write(&files[target], bytes).unwrap();
        let result = Wal::open(Arc::new(OsVfs), tmp.path(), None, opts(1 << 20));
        assert!(
            matches!(result, Err(StorageError::Corrupt(_))),
            "{result:?}"
        );
    }
}

#[test]
fn a_missing_middle_segment_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let files = three_segments(tmp.path(), None);
    fs::remove_file(&files[1]).unwrap();
    let result = Wal::open(Arc::new(OsVfs), tmp.path(), None, opts(1 << 20));
    assert!(
        matches!(result, Err(StorageError::Corrupt(_))),
        "{result:?}"
    );
}

#[test]
fn a_record_with_the_wrong_lsn_is_an_error_even_in_the_last_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let file = five_records(tmp.path());
    fs::rename(&file, tmp.path().join("00000000000000000002.wal")).unwrap();
    let result = Wal::open(Arc::new(OsVfs), tmp.path(), None, opts(1 << 20));
    assert!(
        matches!(result, Err(StorageError::Corrupt(_))),
        "{result:?}"
    );
}

#[test]
fn stray_files_are_ignored_but_bad_segment_names_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    five_records(tmp.path());
    fs::write(tmp.path().join("notes.txt"), b"hello").unwrap();
    assert_eq!(replayed(&open(tmp.path(), 1 << 20), 0), expected(1..=5));
    fs::write(tmp.path().join("backup.wal"), b"hello").unwrap();
    let result = Wal::open(Arc::new(OsVfs), tmp.path(), None, opts(1 << 20));
    assert!(
        matches!(result, Err(StorageError::Corrupt(_))),
        "{result:?}"
    );
}

#[test]
fn remove_upto_deletes_only_fully_covered_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let files = three_segments(tmp.path(), None);
    let mut wal = open(tmp.path(), 1 << 20);
    // Segments hold 1..=4, 5..=8, 9..=12; the last is current after open.
    wal.remove_upto(3).unwrap();
    assert_eq!(segment_files(tmp.path()), files);
    wal.remove_upto(7).unwrap();
    assert_eq!(segment_files(tmp.path()), files[1..]);
    wal.remove_upto(12).unwrap();
    assert_eq!(
        segment_files(tmp.path()),
        files[2..],
        "the current segment stays"
    );
    assert_eq!(replayed(&wal, 8), expected(9..=12));
    assert!(matches!(
        wal.replay(3, |_, _| Ok(())),
        Err(StorageError::Corrupt(_))
    ));

    wal.rotate().unwrap();
    wal.remove_upto(12).unwrap();
    assert!(segment_files(tmp.path()).is_empty());
    assert_eq!(wal.next_lsn(), 13);
    append_n(&mut wal, 2, 2);
    drop(wal);
    let wal = open(tmp.path(), 1 << 20);
    assert_eq!(replayed(&wal, 12), expected(13..=14));
}

#[test]
fn ensure_next_lsn_after_continues_an_emptied_log() {
    let tmp = tempfile::tempdir().unwrap();
    let mut wal = open(tmp.path(), 1 << 20);
    wal.ensure_next_lsn_after(41);
    assert_eq!(wal.next_lsn(), 42);
    wal.ensure_next_lsn_after(10);
    assert_eq!(wal.next_lsn(), 42);
    assert!(replayed(&wal, 41).is_empty());
    append_n(&mut wal, 3, 3);
    drop(wal);
    let wal = open(tmp.path(), 1 << 20);
    assert_eq!(wal.next_lsn(), 45);
    assert_eq!(replayed(&wal, 41), expected(42..=44));
}

#[test]
fn ensure_next_lsn_after_drops_records_the_checkpoint_covers() {
    let tmp = tempfile::tempdir().unwrap();
    five_records(tmp.path());
    let mut wal = open(tmp.path(), 1 << 20);
    wal.ensure_next_lsn_after(9);
    append_n(&mut wal, 1, 1);
    drop(wal);
    assert_eq!(
        segment_files(tmp.path()),
        vec![tmp.path().join("00000000000000000010.wal")]
    );
    assert_eq!(replayed(&open(tmp.path(), 1 << 20), 9), expected(10..=10));
}

#[test]
fn encrypted_log_round_trips_and_needs_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cipher = Arc::new(Cipher::from_key(&[7; 32]));
    let files = three_segments(tmp.path(), Some(cipher.clone()));
    let raw = fs::read(&files[0]).unwrap();
    assert!(
        !raw.windows(5).any(|w| w == b"batch"),
        "payloads are encrypted"
    );

    let wal = Wal::open(Arc::new(OsVfs), tmp.path(), Some(cipher), opts(1 << 20)).unwrap();
    assert_eq!(replayed(&wal, 0), expected(1..=12));

    let wrong = Arc::new(Cipher::from_key(&[8; 32]));
    let wal = Wal::open(Arc::new(OsVfs), tmp.path(), Some(wrong), opts(1 << 20)).unwrap();
    assert!(matches!(
        wal.replay(0, |_, _| Ok(())),
        Err(StorageError::Corrupt(_))
    ));
}

#[test]
fn the_store_can_share_the_log_and_the_cipher_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Wal>();
    send_sync::<Arc<Cipher>>();
}

#[test]
fn zero_segment_size_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let result = Wal::open(Arc::new(OsVfs), tmp.path(), None, opts(0));
    assert!(matches!(result, Err(StorageError::InvalidOption(_))));
}

#[test]
fn a_failed_append_poisons_the_log_and_reopen_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let vfs = Arc::new(FaultyVfs::new(Arc::new(OsVfs), FaultPlan::default()));
    let mut wal = Wal::open(vfs.clone(), tmp.path(), None, opts(1 << 20)).unwrap();
    append_n(&mut wal, 3, 3);
    // A short write, then the error: the worst case for the caller.
    vfs.set_plan(FaultPlan {
        fail_write: Some(vfs.writes() + 1),
        short_write: true,
        ..FaultPlan::default()
    });
    let owned = payload(4);
    assert!(matches!(
        wal.append(&[&owned]),
        Err(StorageError::Io { .. })
    ));
    assert!(matches!(
        wal.append(&[&owned]),
        Err(StorageError::Poisoned(_))
    ));
    assert!(matches!(wal.sync(), Err(StorageError::Poisoned(_))));
    assert!(matches!(wal.rotate(), Err(StorageError::Poisoned(_))));
    assert!(matches!(wal.remove_upto(1), Err(StorageError::Poisoned(_))));
    drop(wal);

    let mut wal = open(tmp.path(), 1 << 20);
    assert_eq!(replayed(&wal, 0), expected(1..=3));
    append_n(&mut wal, 1, 1);
    assert_eq!(replayed(&wal, 0), expected(1..=4));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A flipped bit anywhere in the last segment ends the log just before
    /// the record that holds it.
    #[test]
    fn a_flipped_bit_in_the_last_segment_truncates_at_its_record(seed in any::<u64>()) {
        let tmp = tempfile::tempdir().unwrap();
        let file = five_records(tmp.path());
        let offsets = record_offsets(1..=5);
        let bit = seed % (offsets[5] * 8);
        let mut bytes = fs::read(&file).unwrap();
        bytes[(bit / 8) as usize] ^= 1 << (bit % 8);
        fs::write(&file, bytes).unwrap();

        let hit = offsets.iter().rposition(|&o| o <= bit / 8).unwrap() as u64;
        let wal = open(tmp.path(), 1 << 20);
        prop_assert_eq!(replayed(&wal, 0), expected(1..=hit));
        prop_assert_eq!(wal.next_lsn(), hit + 1);
    }
}

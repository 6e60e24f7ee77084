//! Write batches: the unit of atomicity and of WAL logging.
//!
//! A batch is encoded into one WAL record. Every operation is idempotent —
//! a put sets a key, a delete removes it, creating an existing tree or
//! dropping a missing one does nothing — so replaying a batch over a state
//! that already holds some of its effects (a checkpoint taken mid-batch) gives
//! the same result as applying it once.

use super::error::{StorageError, StorageResult};

/// Identifies a B+tree in a store. Ids are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TreeId(pub u64);

/// One operation of a [`WriteBatch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOp {
    /// Sets `key` to `value` in `tree`.
    Put {
        /// The tree.
        tree: TreeId,
        /// The key.
        key: Vec<u8>,
        /// The new value.
        value: Vec<u8>,
    },
    /// Sets `key ‖ stamp(lsn)` to `value` in `tree`, where `lsn` is the LSN
    /// the batch commits at, known only when it is logged. See
    /// [`version_stamp`]: this is how MVCC stamps row versions with their
    /// commit order without a second counter that could disagree with the log.
    PutStamped {
        /// The tree.
        tree: TreeId,
        /// The key, before the stamp.
        key: Vec<u8>,
        /// The new value.
        value: Vec<u8>,
    },
    /// Removes `key` from `tree` if present.
    Delete {
        /// The tree.
        tree: TreeId,
        /// The key.
        key: Vec<u8>,
    },
    /// Creates an empty tree `name` with id `id` unless it exists.
    CreateTree {
        /// The tree's name, unique in the store.
        name: String,
        /// Its id, allocated by the store.
        id: TreeId,
    },
    /// Drops the tree `id` and frees its pages, if it exists.
    DropTree {
        /// The tree.
        id: TreeId,
    },
}

/// A list of operations committed atomically, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
}

const OP_PUT: u8 = 1;
const OP_DELETE: u8 = 2;
const OP_CREATE: u8 = 3;
const OP_DROP: u8 = 4;
const OP_PUT_STAMPED: u8 = 5;

/// Bytes [`BatchOp::PutStamped`] appends to its key.
pub const STAMP_LEN: usize = 8;

/// The suffix a stamped put appends for a commit at `lsn`: big-endian
/// `u64::MAX - lsn`, so that the newest version of a key sorts first.
pub fn version_stamp(lsn: u64) -> [u8; STAMP_LEN] {
    (u64::MAX - lsn).to_be_bytes()
}

/// The LSN a stamp was made for; `None` if `stamp` is not [`STAMP_LEN`] long.
pub fn stamp_lsn(stamp: &[u8]) -> Option<u64> {
    let bytes: [u8; STAMP_LEN] = stamp.try_into().ok()?;
    Some(u64::MAX - u64::from_be_bytes(bytes))
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `ops` operations: a commit knows how
    /// many it writes, and growing a vector of a hundred thousand by
    /// doubling copied it again and again.
    pub fn with_capacity(ops: usize) -> Self {
        WriteBatch {
            ops: Vec::with_capacity(ops),
        }
    }

    /// Adds a put.
    pub fn put(&mut self, tree: TreeId, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Put {
            tree,
            key: key.into(),
            value: value.into(),
        });
    }

    /// Adds a put whose key gets the commit LSN's [`version_stamp`].
    pub fn put_stamped(
        &mut self,
        tree: TreeId,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) {
        self.ops.push(BatchOp::PutStamped {
            tree,
            key: key.into(),
            value: value.into(),
        });
    }

    /// Adds a delete.
    pub fn delete(&mut self, tree: TreeId, key: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Delete {
            tree,
            key: key.into(),
        });
    }

    /// Adds an operation.
    pub fn push(&mut self, op: BatchOp) {
        self.ops.push(op);
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// Whether the batch has no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Appends the batch's binary form to `out`: per operation a tag byte,
    /// then varint-prefixed fields.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        // About what a tag, a tree id and two length prefixes take.
        const FRAMING: usize = 1 + 10 + 3 + 5;
        out.reserve(
            10 + self
                .ops
                .iter()
                .map(|op| {
                    FRAMING
                        + match op {
                            BatchOp::Put { key, value, .. }
                            | BatchOp::PutStamped { key, value, .. } => key.len() + value.len(),
                            BatchOp::Delete { key, .. } => key.len(),
                            BatchOp::CreateTree { name, .. } => name.len(),
                            BatchOp::DropTree { .. } => 0,
                        }
                })
                .sum::<usize>(),
        );
        put_varint(out, self.ops.len() as u64);
        for op in &self.ops {
            match op {
                BatchOp::Put { tree, key, value } => {
                    out.push(OP_PUT);
                    put_varint(out, tree.0);
                    put_bytes(out, key);
                    put_bytes(out, value);
                }
                BatchOp::PutStamped { tree, key, value } => {
                    out.push(OP_PUT_STAMPED);
                    put_varint(out, tree.0);
                    put_bytes(out, key);
                    put_bytes(out, value);
                }
                BatchOp::Delete { tree, key } => {
                    out.push(OP_DELETE);
                    put_varint(out, tree.0);
                    put_bytes(out, key);
                }
                BatchOp::CreateTree { name, id } => {
                    out.push(OP_CREATE);
                    put_varint(out, id.0);
                    put_bytes(out, name.as_bytes());
                }
                BatchOp::DropTree { id } => {
                    out.push(OP_DROP);
                    put_varint(out, id.0);
                }
            }
        }
    }

    /// Parses what [`WriteBatch::encode_into`] wrote.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] on any malformed input; it never panics.
    pub fn decode(mut buf: &[u8]) -> StorageResult<WriteBatch> {
        let r = &mut buf;
        let count = get_varint(r)?;
        let mut ops = Vec::with_capacity(count.min(4096) as usize);
        for _ in 0..count {
            let tag = *r.first().ok_or_else(|| corrupt("truncated batch"))?;
            *r = &r[1..];
            let op = match tag {
                OP_PUT => BatchOp::Put {
                    tree: TreeId(get_varint(r)?),
                    key: get_bytes(r)?.to_vec(),
                    value: get_bytes(r)?.to_vec(),
                },
                OP_PUT_STAMPED => BatchOp::PutStamped {
                    tree: TreeId(get_varint(r)?),
                    key: get_bytes(r)?.to_vec(),
                    value: get_bytes(r)?.to_vec(),
                },
                OP_DELETE => BatchOp::Delete {
                    tree: TreeId(get_varint(r)?),
                    key: get_bytes(r)?.to_vec(),
                },
                OP_CREATE => {
                    let id = TreeId(get_varint(r)?);
                    let name = String::from_utf8(get_bytes(r)?.to_vec())
                        .map_err(|_| corrupt("tree name is not UTF-8"))?;
                    BatchOp::CreateTree { name, id }
                }
                OP_DROP => BatchOp::DropTree {
                    id: TreeId(get_varint(r)?),
                },
                _ => return Err(corrupt("unknown batch operation")),
            };
            ops.push(op);
        }
        if !r.is_empty() {
            return Err(corrupt("trailing bytes after batch"));
        }
        Ok(WriteBatch { ops })
    }
}

fn corrupt(what: &str) -> StorageError {
    StorageError::Corrupt(format!("WAL record: {what}"))
}

/// Appends `v` as a LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 varint, advancing `buf`.
pub(crate) fn get_varint(buf: &mut &[u8]) -> StorageResult<u64> {
    let mut v: u64 = 0;
    for (i, &b) in buf.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *buf = &buf[i + 1..];
            return Ok(v);
        }
    }
    Err(corrupt("bad varint"))
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn get_bytes<'a>(buf: &mut &'a [u8]) -> StorageResult<&'a [u8]> {
    let len = get_varint(buf)?;
    let len = usize::try_from(len).map_err(|_| corrupt("length overflow"))?;
    if len > buf.len() {
        return Err(corrupt("length past end"));
    }
    let (head, tail) = buf.split_at(len);
    *buf = tail;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_every_operation() {
        let mut b = WriteBatch::new();
        b.push(BatchOp::CreateTree {
            name: "accounts".into(),
            id: TreeId(9),
        });
        b.put(TreeId(9), b"k".to_vec(), vec![0u8; 300]);
        b.put_stamped(TreeId(9), b"v".to_vec(), b"row".to_vec());
        b.delete(TreeId(9), b"k".to_vec());
        b.push(BatchOp::DropTree { id: TreeId(9) });
        let mut buf = Vec::new();
        b.encode_into(&mut buf);
        assert_eq!(WriteBatch::decode(&buf).unwrap(), b);
    }

    #[test]
    fn newer_stamps_sort_first_and_decode() {
        assert!(version_stamp(9) < version_stamp(8));
        assert_eq!(stamp_lsn(&version_stamp(42)), Some(42));
        assert_eq!(stamp_lsn(b"short"), None);
    }

    proptest! {
        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = WriteBatch::decode(&bytes);
        }

        #[test]
        fn every_truncation_is_an_error(key in proptest::collection::vec(any::<u8>(), 0..50)) {
            let mut b = WriteBatch::new();
            b.put(TreeId(1), key, b"value".to_vec());
            let mut buf = Vec::new();
            b.encode_into(&mut buf);
            for cut in 0..buf.len() {
                prop_assert!(WriteBatch::decode(&buf[..cut]).is_err());
            }
        }
    }
}

//! Overflow chains: values too long to sit in a leaf, zstd-compressed and
//! spread over a singly linked list of pages.
//!
//! ```text
//! overflow page: kind u8 (3) | 0 u8 ×3 | payload_len u32 | next page u64 (0 ends) | payload
//! ```
//!
//! The leaf keeps the compressed and raw lengths, so a reader knows exactly
//! how many pages the chain must have and how long each payload is; a chain
//! that is too short, too long, or cyclic is caught without trusting the
//! pages' own links beyond that count.

use crate::storage::error::{StorageError, StorageResult};
use crate::storage::page::{MAX_VALUE_LEN, PAGE_USABLE, PageAccess, PageId};

use super::node::{HEADER, KIND_OVERFLOW, OverflowRef, PageWriter, corrupt, read_u32, read_u64};

/// Compressed bytes carried by one overflow page.
const PAYLOAD: usize = PAGE_USABLE - HEADER;
/// Fast levels: the values are written on the commit path.
const ZSTD_LEVEL: i32 = 1;

/// Compresses `value` into a fresh chain.
pub(super) fn write<P: PageAccess>(pages: &P, value: &[u8]) -> StorageResult<OverflowRef> {
    let raw_len = u32::try_from(value.len()).map_err(|_| StorageError::ValueTooLarge {
        len: value.len(),
        max: MAX_VALUE_LEN,
    })?;
    let compressed = zstd::bulk::compress(value, ZSTD_LEVEL)
        .map_err(|e| StorageError::Corrupt(format!("zstd compression failed: {e}")))?;
    let compressed_len =
        u32::try_from(compressed.len()).map_err(|_| StorageError::ValueTooLarge {
            len: value.len(),
            max: MAX_VALUE_LEN,
        })?;
    let ids = compressed
        .chunks(PAYLOAD)
        .map(|_| pages.allocate_page())
        .collect::<StorageResult<Vec<_>>>()?;
    for ((chunk, &id), next) in compressed
        .chunks(PAYLOAD)
        .zip(&ids)
        .zip(ids.iter().skip(1).copied().chain([0]))
    {
        pages.write_page(id, |buf| {
            let mut w = PageWriter::new(id, buf, 0);
            w.bytes(&[KIND_OVERFLOW, 0, 0, 0])?;
            w.u32(chunk.len() as u32)?;
            w.u64(next)?;
            w.bytes(chunk)?;
            w.zero_to(PAGE_USABLE)
        })??;
    }
    let first = *ids
        .first()
        .ok_or_else(|| StorageError::Corrupt("zstd produced an empty frame".into()))?;
    Ok(OverflowRef {
        first,
        compressed_len,
        raw_len,
    })
}

/// Visits every page of a chain in order with its payload, validating the
/// chain's shape against the lengths recorded in the leaf.
pub(super) fn walk<P: PageAccess>(
    pages: &P,
    r: OverflowRef,
    mut visit: impl FnMut(PageId, &[u8]),
) -> StorageResult<()> {
    if r.raw_len as usize > MAX_VALUE_LEN
        || r.compressed_len as usize > zstd::zstd_safe::compress_bound(MAX_VALUE_LEN)
    {
        return Err(corrupt(
            r.first,
            "overflow reference with impossible lengths",
        ));
    }
    let mut remaining = r.compressed_len as usize;
    let mut page = r.first;
    while remaining > 0 {
        if page == 0 {
            return Err(corrupt(r.first, "overflow chain ends early"));
        }
        let expected = remaining.min(PAYLOAD);
        let next = pages.read_page(page, |buf| {
            if buf.first() != Some(&KIND_OVERFLOW) {
                return Err(corrupt(page, "not an overflow page"));
            }
            if read_u32(buf, 4) != Some(expected as u32) {
                return Err(corrupt(
                    page,
                    "overflow payload length disagrees with its chain",
                ));
            }
            let payload = buf
                .get(HEADER..HEADER + expected)
                .ok_or_else(|| corrupt(page, "overflow payload beyond the page"))?;
            visit(page, payload);
            read_u64(buf, 8).ok_or_else(|| corrupt(page, "short overflow page"))
        })??;
        remaining -= expected;
        page = next;
    }
    if page != 0 {
        return Err(corrupt(r.first, "overflow chain longer than recorded"));
    }
    Ok(())
}

/// Reads and decompresses a chain's value; `page_ids` collects its pages.
pub(super) fn read<P: PageAccess>(
    pages: &P,
    r: OverflowRef,
    mut page_ids: Option<&mut Vec<PageId>>,
) -> StorageResult<Vec<u8>> {
    // A corrupt length must not become a huge allocation before the chain
    // has proven it really holds that many bytes.
    let mut compressed = Vec::with_capacity((r.compressed_len as usize).min(1 << 20));
    walk(pages, r, |id, payload| {
        compressed.extend_from_slice(payload);
        if let Some(ids) = page_ids.as_deref_mut() {
            ids.push(id);
        }
    })?;
    let bad = || {
        corrupt(
            r.first,
            "overflow value does not decompress to its recorded length",
        )
    };
    match zstd::zstd_safe::get_frame_content_size(&compressed) {
        Ok(Some(n)) if n == u64::from(r.raw_len) => {}
        _ => return Err(bad()),
    }
    let value = zstd::bulk::decompress(&compressed, r.raw_len as usize).map_err(|_| bad())?;
    if value.len() != r.raw_len as usize {
        return Err(bad());
    }
    Ok(value)
}

/// Returns a chain's pages to the page layer.
pub(super) fn free<P: PageAccess>(pages: &P, r: OverflowRef) -> StorageResult<()> {
    let mut ids = Vec::new();
    walk(pages, r, |id, _| ids.push(id))?;
    ids.into_iter().try_for_each(|id| pages.free_page(id))
}

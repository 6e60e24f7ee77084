//! The two fixed pages at the start of the data file.
//!
//! Page 0, the [`FileHeader`], is written once when the file is created and
//! never again, so it can never be torn by a later crash. It is always sealed
//! with a plain checksum, even in an encrypted database, because it says
//! whether the database is encrypted and carries the key-check block that
//! turns a wrong key into a clear error instead of a storm of "corrupt page"
//! reports.
//!
//! Page 1, the [`StoreState`], holds the allocation state and the LSN of the
//! last checkpoint. It lives in the buffer pool like any page and is written
//! through on every change, so each checkpoint captures it consistently with
//! the pages it describes.

use super::error::{StorageError, StorageResult};
use super::page::{PAGE_SIZE, PAGE_USABLE, PageId};
use super::wal::Lsn;

const HEADER_MAGIC: &[u8; 8] = b"RUSTYDB\0";
const FORMAT_VERSION: u32 = 1;
const FLAG_ENCRYPTED: u32 = 1;
const STATE_MAGIC: &[u8; 8] = b"RDBSTATE";

/// The immutable file header (page 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileHeader {
    pub encrypted: bool,
    /// The cipher's key-check block (empty when not encrypted).
    pub key_check: Vec<u8>,
}

impl FileHeader {
    /// Writes the header into the usable bytes of page 0.
    pub fn encode(&self, page: &mut [u8]) -> StorageResult<()> {
        if 26 + self.key_check.len() > PAGE_USABLE {
            return Err(StorageError::Corrupt("key-check block too long".into()));
        }
        page[..8].copy_from_slice(HEADER_MAGIC);
        page[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        page[12..16].copy_from_slice(&(PAGE_SIZE as u32).to_le_bytes());
        let flags = if self.encrypted { FLAG_ENCRYPTED } else { 0 };
        page[16..20].copy_from_slice(&flags.to_le_bytes());
        let len = self.key_check.len() as u16;
        page[20..22].copy_from_slice(&len.to_le_bytes());
        page[22..22 + self.key_check.len()].copy_from_slice(&self.key_check);
        Ok(())
    }

    /// Reads the header, refusing files of another format.
    pub fn decode(page: &[u8]) -> StorageResult<FileHeader> {
        let bad = |why: &str| StorageError::Corrupt(format!("file header: {why}"));
        if page.len() < 22 || &page[..8] != HEADER_MAGIC {
            return Err(bad("not a RustyDB data file"));
        }
        let version = read_u32(page, 8);
        if version != FORMAT_VERSION {
            return Err(bad(&format!("format version {version} is not supported")));
        }
        let page_size = read_u32(page, 12);
        if page_size as usize != PAGE_SIZE {
            return Err(bad(&format!("page size {page_size} is not {PAGE_SIZE}")));
        }
        let flags = read_u32(page, 16);
        let len = u16::from_le_bytes([page[20], page[21]]) as usize;
        let key_check = page
            .get(22..22 + len)
            .ok_or_else(|| bad("key-check block past the page"))?
            .to_vec();
        Ok(FileHeader {
            encrypted: flags & FLAG_ENCRYPTED != 0,
            key_check,
        })
    }
}

/// The mutable allocation state (page 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoreState {
    /// Pages `0..page_count` exist; the next new page gets this id.
    pub page_count: u64,
    /// First page of the free list, or 0 when it is empty.
    pub free_head: PageId,
    /// Number of pages on the free list.
    pub free_count: u64,
    /// Every WAL record up to this LSN is reflected in the checkpointed pages.
    pub checkpoint_lsn: Lsn,
    /// Next tree id to hand out.
    pub next_tree_id: u64,
}

impl StoreState {
    pub fn encode(&self, page: &mut [u8]) {
        page[..8].copy_from_slice(STATE_MAGIC);
        let fields = [
            self.page_count,
            self.free_head,
            self.free_count,
            self.checkpoint_lsn,
            self.next_tree_id,
        ];
        for (i, v) in fields.iter().enumerate() {
            page[8 + i * 8..16 + i * 8].copy_from_slice(&v.to_le_bytes());
        }
    }

    pub fn decode(page: &[u8]) -> StorageResult<StoreState> {
        if page.len() < 48 || &page[..8] != STATE_MAGIC {
            return Err(StorageError::Corrupt("state page has no state".into()));
        }
        Ok(StoreState {
            page_count: read_u64(page, 8),
            free_head: read_u64(page, 16),
            free_count: read_u64(page, 24),
            checkpoint_lsn: read_u64(page, 32),
            next_tree_id: read_u64(page, 40),
        })
    }
}

/// Marks a page on the free list and links it to the next one.
const FREE_MAGIC: &[u8; 8] = b"RDBFREE\0";

pub(crate) fn encode_free_page(page: &mut [u8], next: PageId) {
    page.fill(0);
    page[..8].copy_from_slice(FREE_MAGIC);
    page[8..16].copy_from_slice(&next.to_le_bytes());
}

pub(crate) fn decode_free_page(id: PageId, page: &[u8]) -> StorageResult<PageId> {
    if page.len() < 16 || &page[..8] != FREE_MAGIC {
        return Err(StorageError::Corrupt(format!(
            "page {id} is on the free list but is not a free page"
        )));
    }
    Ok(read_u64(page, 8))
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_refuses_foreign_files() {
        let h = FileHeader {
            encrypted: true,
            key_check: vec![7; 44],
        };
        let mut page = vec![0u8; PAGE_USABLE];
        h.encode(&mut page).unwrap();
        assert_eq!(FileHeader::decode(&page).unwrap(), h);
        page[0] = b'X';
        assert!(FileHeader::decode(&page).is_err());
    }

    #[test]
    fn state_round_trips() {
        let s = StoreState {
            page_count: 10,
            free_head: 4,
            free_count: 1,
            checkpoint_lsn: 99,
            next_tree_id: 3,
        };
        let mut page = vec![0u8; PAGE_USABLE];
        s.encode(&mut page);
        assert_eq!(StoreState::decode(&page).unwrap(), s);
    }

    #[test]
    fn free_pages_link() {
        let mut page = vec![1u8; PAGE_USABLE];
        encode_free_page(&mut page, 42);
        assert_eq!(decode_free_page(9, &page).unwrap(), 42);
        page[3] = 0;
        assert!(decode_free_page(9, &page).is_err());
    }
}

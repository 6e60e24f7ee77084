//! B+trees over pages: the ordered maps the store keeps its data in.
//!
//! A tree maps byte-string keys (up to [`MAX_KEY_LEN`](crate::storage::page::MAX_KEY_LEN)) to byte-string
//! values, ordered by `memcmp`. Leaves hold the entries; internal nodes hold
//! separators and child pointers, and separator `i` bounds child `i + 1`
//! from below. The tree is written against [`PageAccess`](crate::storage::page::PageAccess) and knows nothing
//! of the buffer pool, the WAL or locking: the store serialises writers and
//! lets readers in only under its read lock.
//!
//! # Page layout
//!
//! Every node is a slotted page: a 16-byte header (kind, cell count, start of
//! the cell area, and for internal nodes the leftmost child), an array of
//! 2-byte cell offsets in key order, free space, then the cells packed
//! against the end of the page. Lookups and scans binary-search the slot
//! array directly in the page bytes, decoding nothing; every offset read from
//! a page is bounds-checked, because the bytes come from disk. A write that
//! changes one leaf cell without overflowing or underflowing the leaf splices
//! that cell into the page bytes (`splice.rs`); one that splits or rebalances
//! decodes the nodes into owned values and encodes them whole again. Both
//! keep a page canonical (cells contiguous and in slot order), so
//! anything else is reported as corruption. `node.rs` has the exact format.
//!
//! Values longer than a quarter page are zstd-compressed into a chain of
//! overflow pages (`overflow.rs`), and the leaf keeps only a 16-byte
//! reference. With keys capped at [`MAX_KEY_LEN`](crate::storage::page::MAX_KEY_LEN), every cell is then at
//! most about three-eighths of a page, which is what lets any overfull node
//! be split by bytes into two halves that both fit.
//!
//! # Why no sibling links
//!
//! Leaves are not chained. A scan is a [`Cursor`] that remembers the last key
//! it returned and descends from the root again for each chunk, so it holds
//! no page between calls and writers never have to keep sibling pointers
//! consistent. Splits and merges then touch only a node, one sibling and
//! their parent, and an interrupted operation cannot leave a dangling link.
//! The extra descent per chunk costs a few cached page reads per few
//! hundred entries.
//!
//! # Why the root never moves
//!
//! The directory tree and the catalog record a tree by its root page. If the
//! root moved on every split or collapse, each of those would have to update
//! another tree in the same batch. Instead, a full root pushes its content
//! down into two new pages and becomes their parent in place, and an
//! internal root left with a single child takes over that child's content
//! and frees it. A tree's identity is its root page id for its whole life.
//!
//! # Rebalancing
//!
//! Nodes are measured in bytes, not entries, because keys and inline values
//! vary in length. A node over a page splits at the byte midpoint, and the
//! separator pushed up from a leaf split is the shortest key between the two
//! halves, which keeps internal nodes wide. A non-root node that falls below
//! a quarter page (after a delete, or an overwrite with a shorter value)
//! merges with an adjacent sibling under the same parent if both fit one
//! page, and otherwise shares their cells evenly with it; both halves then
//! hold well over a quarter page. A parent that changes as a consequence is
//! settled the same way, up to the root, so no empty or near-empty node is
//! ever left behind and every leaf stays at the same depth.
//!
//! No operation holds more than one page at a time: reads copy what they
//! need out of a page before touching the next.

mod append;
mod check;
mod cursor;
mod node;
mod overflow;
mod run;
mod splice;
mod tree;

#[cfg(test)]
mod run_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

pub use check::TreeCheck;
pub use cursor::{Cursor, Direction};
pub use tree::BTree;

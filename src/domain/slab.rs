//! `Slab<T>`: an append-only sequence stored in fixed-size chunks. The ledger's big tables
//! (beneficiaries, entitlements, payments) grow to millions of rows; a single `Vec` would copy
//! all of them every time it doubles, stalling the writer. A slab never moves a row once pushed.

/// Rows per chunk. A power of two so that indexing is a shift and a mask.
const CHUNK_ROWS: usize = 4096;

#[derive(Debug, Clone)]
pub struct Slab<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, row: T) {
        if self.len % CHUNK_ROWS == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK_ROWS));
        }
        self.chunks.last_mut().expect("a chunk exists").push(row);
        self.len += 1;
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK_ROWS)?.get(index % CHUNK_ROWS)
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.chunks
            .get_mut(index / CHUNK_ROWS)?
            .get_mut(index % CHUNK_ROWS)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// The rows as contiguous chunks, for splitting work across threads.
    pub fn chunks(&self) -> &[Vec<T>] {
        &self.chunks
    }
}

/// Rows in order (the chunking is not part of the encoding).
impl<T: bincode::Encode> bincode::Encode for Slab<T> {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        e: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        (self.len as u64).encode(e)?;
        self.iter().try_for_each(|row| row.encode(e))
    }
}

impl<Context, T: bincode::Decode<Context>> bincode::Decode<Context> for Slab<T> {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        d: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        let len = u64::decode(d)?;
        let mut slab = Slab::default();
        for _ in 0..len {
            slab.push(T::decode(d)?);
        }
        Ok(slab)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_across_chunks() {
        let mut s = Slab::default();
        for i in 0..(CHUNK_ROWS * 2 + 5) {
            s.push(i);
        }
        assert_eq!(s.len(), CHUNK_ROWS * 2 + 5);
        assert_eq!(s.get(CHUNK_ROWS + 1), Some(&(CHUNK_ROWS + 1)));
        assert_eq!(s.get(CHUNK_ROWS * 2 + 5), None);
        *s.get_mut(3).unwrap() = 99;
        assert_eq!(s.iter().nth(3), Some(&99));
        assert_eq!(s.iter().count(), s.len());
    }
}

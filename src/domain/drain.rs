//! Handing out the items of a large vector in order while giving its memory back: a batch's
//! million computed lines become a million events, and a million events are applied one by
//! one, and holding the whole of the one while the other grows added their sizes at the
//! monthly run's peak.

/// Hands out a vector's items in order and gives its memory back as it empties, so that the
/// events of one large command (a batch's million lines, 80 bytes each) are not all held until
/// the last is appended, while the state they are applied to grows by as much again.
pub struct ShrinkingDrain<T> {
    /// The items not handed out yet, last first.
    rest: Vec<T>,
}

impl<T> ShrinkingDrain<T> {
    /// Below this capacity, the vector is left as it is: shrinking it would free too little.
    const CAPACITY_KEPT_ITEMS: usize = 4096;

    pub fn new(mut items: Vec<T>) -> ShrinkingDrain<T> {
        items.reverse();
        ShrinkingDrain { rest: items }
    }
}

impl<T> Iterator for ShrinkingDrain<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let item = self.rest.pop()?;
        // Halving when half is unused copies at most as many items as there were (and
        // jemalloc shrinks a large allocation in place, copying nothing).
        let capacity = self.rest.capacity();
        if capacity > Self::CAPACITY_KEPT_ITEMS && self.rest.len() < capacity / 2 {
            self.rest.shrink_to_fit();
        }
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rest.len(), Some(self.rest.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::ShrinkingDrain;

    #[test]
    fn a_shrinking_drain_hands_out_every_item_in_order_and_gives_its_memory_back() {
        let n = 100_000;
        let mut drain = ShrinkingDrain::new((0..n).collect::<Vec<u64>>());
        let mut seen = Vec::new();
        for _ in 0..n - 10 {
            seen.push(drain.next().expect("an item"));
            let capacity = drain.rest.capacity();
            // Never more than twice what is left, once above the capacity it keeps.
            assert!(
                capacity
                    <= ShrinkingDrain::<u64>::CAPACITY_KEPT_ITEMS.max(2 * drain.rest.len() + 2),
                "capacity {capacity} for {} items left",
                drain.rest.len()
            );
        }
        seen.extend(drain.by_ref());
        assert_eq!(seen, (0..n).collect::<Vec<u64>>());
        assert_eq!(drain.next(), None);
    }
}

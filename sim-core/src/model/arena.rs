//! A slab of reusable slots referred to by `u32` index: requests and frames live here, so
//! the hot loop reuses memory instead of allocating per request.

/// Slots of `T` with a free list.
#[derive(Debug, Default)]
pub(crate) struct Arena<T> {
    items: Vec<T>,
    free: Vec<u32>,
}

impl<T> Arena<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        Self { items: Vec::with_capacity(capacity), free: Vec::with_capacity(capacity) }
    }

    /// Stores `item` in a free slot (or a new one) and returns its index.
    #[inline]
    pub fn insert(&mut self, item: T) -> u32 {
        match self.free.pop() {
            Some(index) => {
                self.items[index as usize] = item;
                index
            }
            None => {
                self.items.push(item);
                self.items.len() as u32 - 1
            }
        }
    }

    /// A slot for a new item: a freed one, left as it was (so fields such as a generation
    /// counter survive reuse), or a new default one.
    #[inline]
    pub fn allocate(&mut self) -> u32
    where
        T: Default,
    {
        match self.free.pop() {
            Some(index) => index,
            None => {
                self.items.push(T::default());
                self.items.len() as u32 - 1
            }
        }
    }

    /// Marks a slot free for reuse; the caller must not use the index again.
    #[inline]
    pub fn remove(&mut self, index: u32) {
        self.free.push(index);
    }

    /// Number of slots, used or free (indices run below it).
    pub fn slots(&self) -> u32 {
        self.items.len() as u32
    }

    /// Number of slots in use.
    pub fn live(&self) -> usize {
        self.items.len() - self.free.len()
    }
}

impl<T> std::ops::Index<u32> for Arena<T> {
    type Output = T;

    #[inline]
    fn index(&self, index: u32) -> &T {
        &self.items[index as usize]
    }
}

impl<T> std::ops::IndexMut<u32> for Arena<T> {
    #[inline]
    fn index_mut(&mut self, index: u32) -> &mut T {
        &mut self.items[index as usize]
    }
}

//! A slab of reusable slots referred to by typed ids: requests, frames and calls live here,
//! so the hot loop reuses memory instead of allocating per request.

use crate::ids::Id;
use std::marker::PhantomData;

/// Slots of `T`, named by ids of type `I`, with a free list.
#[derive(Debug)]
pub(crate) struct Arena<I, T> {
    items: Vec<T>,
    free: Vec<u32>,
    ids: PhantomData<I>,
}

impl<I: Id, T> Arena<I, T> {
    pub fn with_capacity(capacity: usize) -> Self {
        Self { items: Vec::with_capacity(capacity), free: Vec::with_capacity(capacity), ids: PhantomData }
    }

    /// Stores `item` in a free slot (or a new one) and returns its id.
    #[inline]
    pub fn insert(&mut self, item: T) -> I {
        match self.free.pop() {
            Some(index) => {
                self.items[index as usize] = item;
                I::from_index(index)
            }
            None => {
                self.items.push(item);
                I::from_index(self.items.len() as u32 - 1)
            }
        }
    }

    /// A slot for a new item: a freed one, left as it was (so fields such as a generation
    /// counter survive reuse), or a new default one.
    #[inline]
    pub fn allocate(&mut self) -> I
    where
        T: Default,
    {
        match self.free.pop() {
            Some(index) => I::from_index(index),
            None => {
                self.items.push(T::default());
                I::from_index(self.items.len() as u32 - 1)
            }
        }
    }

    /// Marks a slot free for reuse; the caller must not use the id again.
    #[inline]
    pub fn remove(&mut self, id: I) {
        self.free.push(id.index() as u32);
    }

    /// Number of slots, used or free (ids run below it: `I::from_index(0..slots)`).
    pub fn slots(&self) -> u32 {
        self.items.len() as u32
    }

    /// Number of slots in use.
    pub fn live(&self) -> usize {
        self.items.len() - self.free.len()
    }
}

impl<I: Id, T> std::ops::Index<I> for Arena<I, T> {
    type Output = T;

    #[inline]
    fn index(&self, id: I) -> &T {
        &self.items[id.index()]
    }
}

impl<I: Id, T> std::ops::IndexMut<I> for Arena<I, T> {
    #[inline]
    fn index_mut(&mut self, id: I) -> &mut T {
        &mut self.items[id.index()]
    }
}

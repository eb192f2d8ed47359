//! Typed ids: zero-cost newtypes over `u32` indices, so that a frame cannot be passed where a
//! request is meant, each with an explicit `NONE` instead of a bare sentinel.

/// An id that indexes a table or an arena.
pub(crate) trait Id: Copy {
    /// The id of slot `index`.
    fn from_index(index: u32) -> Self;
    /// The slot this id names.
    fn index(self) -> usize;
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name(u32);

        impl $name {
            /// No such thing (the client, for a caller; not yet chosen, for an instance).
            pub const NONE: Self = Self(u32::MAX);

            /// The id of slot `index`.
            #[inline]
            pub const fn new(index: u32) -> Self {
                Self(index)
            }

            /// The slot this id names, as an index.
            #[inline]
            pub const fn index(self) -> usize {
                self.0 as usize
            }

            /// The slot this id names, as stored.
            #[inline]
            pub const fn raw(self) -> u32 {
                self.0
            }

            /// Whether this is `NONE`.
            #[inline]
            pub const fn is_none(self) -> bool {
                self.0 == u32::MAX
            }
        }

        impl Default for $name {
            /// `NONE`: a slot that names nothing until it is filled.
            fn default() -> Self {
                Self::NONE
            }
        }

        impl Id for $name {
            #[inline]
            fn from_index(index: u32) -> Self {
                Self(index)
            }

            #[inline]
            fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                if self.is_none() {
                    f.write_str("none")
                } else {
                    write!(f, "{}", self.0)
                }
            }
        }
    };
}

typed_id! {
    /// A node of the topology (its index in `Topology::nodes`, and in every per-node table).
    NodeId
}

/// Per-node tables (`Vec<T>` with one entry per node) are indexed by `NodeId` directly.
impl<T> std::ops::Index<NodeId> for Vec<T> {
    type Output = T;

    #[inline]
    fn index(&self, node: NodeId) -> &T {
        &self[node.index()]
    }
}

impl<T> std::ops::IndexMut<NodeId> for Vec<T> {
    #[inline]
    fn index_mut(&mut self, node: NodeId) -> &mut T {
        &mut self[node.index()]
    }
}

impl<T> std::ops::Index<NodeId> for [T] {
    type Output = T;

    #[inline]
    fn index(&self, node: NodeId) -> &T {
        &self[node.index()]
    }
}

impl<T> std::ops::IndexMut<NodeId> for [T] {
    #[inline]
    fn index_mut(&mut self, node: NodeId) -> &mut T {
        &mut self[node.index()]
    }
}

typed_id! {
    /// An instance of a node: a service instance, a database server, a function container,
    /// a CDN edge.
    InstanceId
}

typed_id! {
    /// A visit of a request to a node (a slot of the frame arena).
    FrameId
}

typed_id! {
    /// A request: one user action, or the work of one queue or log message.
    RequestId
}

typed_id! {
    /// A call under a call policy (its attempts, retries and hedges).
    CallId
}

typed_id! {
    /// A message stored in a work queue.
    MessageId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cost_nothing_and_none_is_explicit() {
        assert_eq!(std::mem::size_of::<FrameId>(), 4);
        assert_eq!(std::mem::size_of::<Option<FrameId>>(), 8);
        assert!(FrameId::NONE.is_none() && !FrameId::new(0).is_none());
        assert_eq!(FrameId::default(), FrameId::NONE);
        assert_eq!(RequestId::new(7).index(), 7);
        assert_eq!(CallId::NONE.to_string(), "none");
    }
}

typed_id! {
    /// A quorum call in progress (a `Quorum` step's calls, waiting for enough successes).
    FanOutId
}

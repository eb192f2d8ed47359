//! The event engine: a clock and a future-event list ordered by (time, insertion sequence).
//!
//! It knows nothing of services or load balancers; the model (`crate::model`) defines a
//! closed event enum and dispatches it with a `match`. Nothing here allocates per event once
//! the queues have grown to their working size.

mod chunks;
mod fifo;
mod quad_heap;
mod queue;
mod radix_heap;

pub use fifo::Fifo;
pub use queue::EventQueue;

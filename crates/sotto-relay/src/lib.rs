//! The Sotto relay: anonymous simplex queues of fixed-size blocks, stored durably.

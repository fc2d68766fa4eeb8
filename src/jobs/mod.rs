//! Scheduled work.

pub mod housekeeping;
pub mod outbox;
pub mod reconsent;
pub mod retention;

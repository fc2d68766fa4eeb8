//! Scheduled work.

pub mod housekeeping;
pub mod reconsent;
pub mod retention;

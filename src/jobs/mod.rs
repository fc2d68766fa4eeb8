//! Scheduled work.

pub mod housekeeping;
pub mod reconsent;

//! Pure rules and types: no IO, no database, no HTTP.

pub mod consent;
pub mod diff;
pub mod ledger;
pub mod notice;
pub mod receipt;
pub mod reminder;
pub mod retention;
pub mod review;
pub mod staff;
pub mod text;
pub mod workshop;

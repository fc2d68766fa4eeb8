//! Integration tests: the real binary on a random port, on SQLite and on PostgreSQL.

mod helpers;

mod access;
mod browser;
mod consent;
mod consultants;
mod group_commit;
mod ledger;
mod operations;
mod pages;
mod policies;
mod privacy;
mod receipts;
mod retention;
mod retention_random;
mod review;
mod staff;
mod subjects;

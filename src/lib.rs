//! consentd: provable consent to workshop privacy notices, enforced retention, and records
//! lawyers can file.

pub mod accounts;
pub mod allocator;
pub mod app;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod consultants;
pub mod deletion_journal;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod pdf;
pub mod policies;
pub mod proof;
pub mod records_zip;
pub mod retention;
pub mod review;
pub mod signing;
pub mod store;
pub mod subject_rights;
pub mod verify;
pub mod workshop_views;

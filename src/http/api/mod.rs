//! The JSON API under `/api/v1`. Routes and their audiences are declared in
//! [`super::routes`].

pub mod audit;
pub mod consents;
pub mod consultants;
pub mod keys;
pub mod ledger;
pub mod notice_versions;
pub mod notices;
pub mod openapi;
pub mod receipts;
pub mod records;
pub mod retention;
pub mod subjects;
pub mod workshops;

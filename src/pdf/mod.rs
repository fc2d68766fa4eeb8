//! Documents for filing.

pub mod consent_record;
mod fonts;
pub mod notice_pdf;
pub mod notice_version;
pub mod retention;
pub mod subject_export;
mod unhint;
mod writer;

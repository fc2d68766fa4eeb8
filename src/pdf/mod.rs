//! Documents for filing.

pub mod notice_pdf;
pub mod notice_version;
pub mod retention;
pub mod subject_export;

//! Documents for filing.

pub mod notice_version;

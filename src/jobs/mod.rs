//! Scheduled work (retention runs arrive with the retention engine).

pub mod housekeeping;

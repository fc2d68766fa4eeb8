//! A copy of the deletion log outside the database: one JSON line per deletion, written and
//! flushed to disk before the deletion commits. A restored backup lacks the deletions made
//! after it was taken; `consentd retention replay` reads this file and deletes those rows
//! again. Keep it on other storage than the database backups.
//!
//! The lines leave out the subject's pseudonym: the journal is kept elsewhere and as long as
//! backups are, so it holds no personal data and needs no deletion rule of its own (in the
//! database the pseudonym goes after five years, rule `loeschprotokoll`). Replays re-apply
//! deletions by row key and log them without it.
//!
//! Written ahead of the commit: a crash in between leaves a line whose deletion did not
//! happen. Replaying it is harmless (the row was due; its deletion is merely repeated, and a
//! row already gone changes nothing and is not logged again).

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::store::retention::DeletionLogEntry;

/// A journal line: a deletion-log entry without its pseudonym, read back as a
/// [`DeletionLogEntry`] (whose pseudonym is then absent).
#[derive(Serialize)]
struct JournalLine<'a> {
    id: &'a str,
    executed_at: DateTime<Utc>,
    category: &'a str,
    rule_version: i64,
    start_on: NaiveDate,
    due_on: NaiveDate,
    target: &'a str,
    rows_affected: i64,
    ledger_seq: i64,
    row_key: Option<&'a str>,
    replay_of: Option<&'a str>,
    sealed: Option<&'a str>,
}

impl<'a> From<&'a DeletionLogEntry> for JournalLine<'a> {
    fn from(e: &'a DeletionLogEntry) -> Self {
        JournalLine {
            id: &e.id,
            executed_at: e.executed_at,
            category: &e.category,
            rule_version: e.rule_version,
            start_on: e.start_on,
            due_on: e.due_on,
            target: &e.target,
            rows_affected: e.rows_affected,
            ledger_seq: e.ledger_seq,
            row_key: e.row_key.as_deref(),
            replay_of: e.replay_of.as_deref(),
            sealed: e.sealed.as_deref(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeletionJournal {
    path: PathBuf,
}

impl DeletionJournal {
    pub fn new(path: PathBuf) -> Self {
        DeletionJournal { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the entries in one write and waits until they are on disk.
    pub fn append(&self, entries: &[&DeletionLogEntry]) -> std::io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut buffer = Vec::with_capacity(entries.len() * 400);
        for entry in entries {
            serde_json::to_writer(&mut buffer, &JournalLine::from(*entry))?;
            buffer.push(b'\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let length = file.metadata()?.len();
        let written = file.write_all(&buffer).and_then(|()| file.sync_data());
        if written.is_err() {
            // A full disk takes part of the write: cut the journal back, or the next append
            // would follow a torn line and `retention replay` would stop at it. The deletion
            // does not commit (the caller rolls back), so its lines must not stay either.
            if let Err(e) = file.set_len(length).and_then(|()| file.sync_data()) {
                tracing::error!(error = %e, "cannot cut the deletion journal back after a failed write");
            }
        }
        written
    }
}

/// Reads a journal in chunks, so a journal of millions of lines needs little memory.
pub struct JournalReader {
    path: PathBuf,
    lines: std::io::BufReader<std::io::Take<std::fs::File>>,
    line_number: usize,
    /// The last line was cut short by a crash while it was written; it is ignored (its
    /// deletion was rolled back with it).
    pub torn_tail: bool,
}

impl JournalReader {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| {
            anyhow::anyhow!("cannot read the deletion journal {}: {e}", path.display())
        })?;
        // Only what is there now: a replay appends its own entries to the same journal.
        let length = file.metadata()?.len();
        Ok(JournalReader {
            path: path.to_owned(),
            lines: std::io::BufReader::new(std::io::Read::take(file, length)),
            line_number: 0,
            torn_tail: false,
        })
    }

    /// Up to `n` entries; empty at the end. A malformed line other than a torn last one is
    /// an error naming file and line: the journal is evidence, and guessing would hide damage.
    pub fn next_chunk(&mut self, n: usize) -> anyhow::Result<Vec<DeletionLogEntry>> {
        use std::io::BufRead;
        let mut entries = Vec::new();
        let mut line = String::new();
        while entries.len() < n {
            line.clear();
            if self.lines.read_line(&mut line)? == 0 {
                break;
            }
            self.line_number += 1;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<DeletionLogEntry>(line.trim_end()) {
                Ok(entry) => entries.push(entry),
                Err(_) if !line.ends_with('\n') => self.torn_tail = true,
                Err(e) => anyhow::bail!(
                    "{}:{}: not a deletion journal entry ({e})",
                    self.path.display(),
                    self.line_number
                ),
            }
        }
        Ok(entries)
    }
}

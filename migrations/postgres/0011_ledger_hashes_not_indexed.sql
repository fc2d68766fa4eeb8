-- The ledger's entry hashes lose their UNIQUE index. Nothing looks an entry up by its
-- hash, the chain makes every hash distinct (each covers the one before), and `verify`
-- checks the chain; the index only cost a random B-tree insert per appended entry, the
-- largest single cost of a retention sweep.
ALTER TABLE ledger DROP CONSTRAINT IF EXISTS ledger_entry_sha256_key;

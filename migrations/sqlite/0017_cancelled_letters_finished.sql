-- Letters cancelled when their consultant's listing was deleted used to stay unfinished with
-- their address and text, and the outbox's rule only takes finished letters: they were kept
-- for ever. They are finished now, as of when they were written (nothing was ever sent), and
-- lose address, text and any server answer (which may quote the address) as the listing's
-- deletion does since.
UPDATE outbox SET to_email = NULL, body = NULL, last_error = NULL, finished_at = created_at
WHERE state = 'cancelled' AND finished_at IS NULL;

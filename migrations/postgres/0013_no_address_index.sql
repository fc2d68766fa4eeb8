-- No index of the participants' e-mail addresses. It served only staff look-ups for data
-- subjects' requests (Art. 15–17), which are rare and may scan the table (about a quarter
-- of a second for a million participants; benches/NOTES.md, session 13). Every consent
-- wrote an entry at a random place of it and every erasure removed one, which made
-- retention sweeps and consent writes slower; and it was a second copy of every address,
-- one that SQLite's B-tree rebalancing can leave fragments of after an erasure.
DROP INDEX subjects_by_email;

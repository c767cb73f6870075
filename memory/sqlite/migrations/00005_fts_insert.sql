-- Hearth's embedded store, version 5: chunks enter the full-text index
-- from the store's code instead of a trigger. Conventions as in
-- 00001_init.sql.
--
-- An INSERT that fires a trigger runs in a statement savepoint, and FTS5
-- writes its pending terms to disk as a new segment at every savepoint: a
-- segment per chunk, which FTS5 then spends most of its time merging. The
-- store now inserts a transaction's chunks first and their full-text rows
-- after them, as plain single-row INSERTs, so one transaction writes one
-- segment. Deletes keep their trigger (foreign-key cascades from documents
-- and users fire it; the store deletes before it inserts).

-- +goose Up
DROP TRIGGER chunks_fts_insert;

-- +goose Down
-- +goose StatementBegin
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, owner, heading, text)
    VALUES (new.id, 'u' || hex(new.user_id), new.heading, new.text);
END;
-- +goose StatementEnd

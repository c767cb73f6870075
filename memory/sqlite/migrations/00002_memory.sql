-- Hearth's embedded store, version 2: memory (workspace documents, kept
-- versions, chunks with their full-text index and vectors, the embedding
-- space and the embedding cache). Conventions as in 00001_init.sql.

-- +goose Up
CREATE TABLE documents (
    id              INTEGER PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    path            TEXT NOT NULL,
    content         TEXT NOT NULL,
    size            INTEGER NOT NULL, -- bytes of content
    version         INTEGER NOT NULL CHECK (version > 0),
    indexed_version INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (user_id, path)
) STRICT;
-- Documents whose chunks are behind their content, oldest change first.
CREATE INDEX documents_to_index ON documents (user_id, updated_at, id)
    WHERE indexed_version <> version;

-- The replaced contents of overwritten documents.
CREATE TABLE document_versions (
    doc_id      INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    content     TEXT NOT NULL,
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    replaced_at INTEGER NOT NULL,
    PRIMARY KEY (doc_id, version)
) STRICT;

-- user_id is copied from the document so that searches filter without a
-- join. embedding is NULL until embedded, else dims little-endian float32
-- values in the space of the embedding_space row.
CREATE TABLE chunks (
    id        INTEGER PRIMARY KEY,
    doc_id    INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    heading   TEXT NOT NULL DEFAULT '',
    text      TEXT NOT NULL,
    start_off INTEGER NOT NULL,
    end_off   INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    embedding BLOB,
    UNIQUE (doc_id, seq)
) STRICT;
CREATE INDEX chunks_user ON chunks (user_id, id);
CREATE INDEX chunks_to_embed ON chunks (user_id, id) WHERE embedding IS NULL;

-- Full-text index of chunks: contentless (the text lives in chunks), rowid
-- = chunks.id. The owner column holds one token derived from the user id
-- ('u' || hex(user_id)), so a query intersects the user's posting list
-- instead of filtering every match; searches still check chunks.user_id.
CREATE VIRTUAL TABLE chunks_fts USING fts5 (
    owner, heading, text,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- rank is BM25 with the owner column ignored and the heading weighing
-- twice the text; "ORDER BY rank LIMIT n" lets FTS5 keep only the best n.
INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('rank', 'bm25(0.0, 2.0, 1.0)');

-- The full-text index follows the chunks table (chunks never change text;
-- foreign-key cascades fire these triggers too).
-- +goose StatementBegin
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, owner, heading, text)
    VALUES (new.id, 'u' || hex(new.user_id), new.heading, new.text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
    DELETE FROM chunks_fts WHERE rowid = old.id;
END;
-- +goose StatementEnd

-- The space of the stored vectors (one row) and a generation counter that
-- grows whenever vectors change, so that in-memory vector indexes of this
-- and other processes know when to reload.
CREATE TABLE embedding_space (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    model      TEXT NOT NULL DEFAULT '',
    dims       INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO embedding_space (id) VALUES (1);

-- Per-user generation of vectors (see embedding_space.generation) and
-- the number of the user's chunks (full-text search sizes its queries by
-- it; counting the rows would scan them).
CREATE TABLE vector_generations (
    user_id    TEXT PRIMARY KEY,
    generation INTEGER NOT NULL,
    chunks     INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE TABLE embedding_cache (
    model      TEXT NOT NULL,
    dims       INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    vector     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (model, dims, hash)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE embedding_cache;
DROP TABLE vector_generations;
DROP TABLE embedding_space;
DROP TRIGGER chunks_fts_delete;
DROP TRIGGER chunks_fts_insert;
DROP TABLE chunks_fts;
DROP TABLE chunks;
DROP TABLE document_versions;
DROP TABLE documents;

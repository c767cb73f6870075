-- Hearth's embedded store, version 6: chunk vectors and the queue of
-- chunks to embed kept apart from the chunks' rows, a compact key for the
-- embedding cache, and fewer full-text merges. Conventions as in
-- 00001_init.sql.
--
-- SQLite rewrites a whole row on UPDATE: storing a chunk's vector in its
-- row rewrote the chunk's text (three pages for a chunk of 800 words), and
-- reading a vector walked the text's overflow pages. Vectors now live in
-- chunk_vectors and the chunks still waiting for one in chunks_to_embed
-- (both keyed by chunks.id and removed with the chunk). The embedding
-- cache kept each vector inside its WITHOUT ROWID key b-tree (about four
-- entries a page), so looking up a hash read pages scattered over the
-- whole cache; it is now a rowid table with a small unique index on the
-- key. FTS5 merges segments when 8 (was 4) of one size accumulate: about
-- a third less merging while indexing, a few more segments per query.

-- +goose Up
CREATE TABLE chunk_vectors (
    chunk_id  INTEGER PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    embedding BLOB NOT NULL -- dims little-endian float32 values
) STRICT;
INSERT INTO chunk_vectors (chunk_id, user_id, embedding)
    SELECT id, user_id, embedding FROM chunks WHERE embedding IS NOT NULL;
CREATE INDEX chunk_vectors_user ON chunk_vectors (user_id);

DROP INDEX chunks_to_embed;
CREATE TABLE chunks_to_embed (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL
) STRICT;
INSERT INTO chunks_to_embed (chunk_id, user_id)
    SELECT id, user_id FROM chunks WHERE embedding IS NULL;
CREATE INDEX chunks_to_embed_user ON chunks_to_embed (user_id);

ALTER TABLE chunks DROP COLUMN embedding;

CREATE TABLE embedding_cache_v6 (
    id         INTEGER PRIMARY KEY,
    model      TEXT NOT NULL,
    dims       INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    vector     BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
INSERT INTO embedding_cache_v6 (model, dims, hash, vector, created_at)
    SELECT model, dims, hash, vector, created_at FROM embedding_cache;
DROP TABLE embedding_cache;
ALTER TABLE embedding_cache_v6 RENAME TO embedding_cache;
CREATE UNIQUE INDEX embedding_cache_key ON embedding_cache (model, dims, hash);

INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('automerge', 8);

-- +goose Down
INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('automerge', 4);

CREATE TABLE embedding_cache_v5 (
    model      TEXT NOT NULL,
    dims       INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    vector     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (model, dims, hash)
) STRICT, WITHOUT ROWID;
INSERT INTO embedding_cache_v5 (model, dims, hash, vector, created_at)
    SELECT model, dims, hash, vector, created_at FROM embedding_cache;
DROP TABLE embedding_cache;
ALTER TABLE embedding_cache_v5 RENAME TO embedding_cache;

ALTER TABLE chunks ADD COLUMN embedding BLOB;
UPDATE chunks SET embedding = (SELECT v.embedding FROM chunk_vectors v WHERE v.chunk_id = chunks.id);
DROP TABLE chunks_to_embed;
DROP TABLE chunk_vectors;
CREATE INDEX chunks_to_embed ON chunks (user_id, id) WHERE embedding IS NULL;

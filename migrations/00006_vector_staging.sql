-- Hearth's PostgreSQL store, version 6: vectors in their own table, and
-- new vectors staged outside the vector index until a background absorber
-- moves them in, so that an HNSW index (the default again) no longer holds
-- chunk writes back.
--
-- Why: an HNSW insert costs about 2,000 buffer visits, which held indexing
-- at 100,000 vectors of 384 dimensions to 350-900 chunks/s (version 5
-- answered with an IVFFlat index, at the cost of recall on hard data). A
-- vector is now written staged (indexed = false), outside the index's
-- predicate; searches compare the searching user's staged vectors exactly
-- and merge them with the index's answer; the store's absorber (memory/
-- postgres, absorb.go) marks staged vectors indexed in small transactions,
-- paying the index insert off the write path.
--
--   * chunk_vectors holds one vector per chunk that has one, with the
--     chunk's user_id and path copied (searches filter without a join).
--     Its rows are narrow (a 384-dimension vector is 1.5 kB), kept in line
--     up to 8 kB (toast_tuple_target), so that comparing vectors reads no
--     TOAST, and marking a vector indexed rewrites neither the chunk's
--     text nor its full-text entries;
--   * chunk_vectors.indexed: false while staged. The vector index, which
--     the store builds (vecindex.go: chunk_vectors_hnsw, or
--     chunk_vectors_ivf for IVFFlat), is partial, WHERE indexed;
--     chunk_vectors_staged finds a user's staged vectors;
--   * embed_queue lists the chunks without a vector (what chunks.embedding
--     IS NULL said), so that storing a vector later does not rewrite the
--     chunk's row either;
--   * chunks.embedding goes (with its indexes, version 5's vector index
--     among them); the moved vectors start staged and the store builds its
--     index over them at Open (index_vectors = 0). The dropped column's
--     values stay in chunks' storage until rows are rewritten: VACUUM FULL
--     chunks gives the space back.

-- +goose Up
CREATE TABLE chunk_vectors (
    chunk_id  bigint PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
    user_id   text NOT NULL,
    path      text COLLATE "C" NOT NULL,
    indexed   boolean NOT NULL DEFAULT false,
    embedding vector NOT NULL
) WITH (toast_tuple_target = 8160);
CREATE INDEX chunk_vectors_user ON chunk_vectors (user_id);
CREATE INDEX chunk_vectors_staged ON chunk_vectors (user_id, chunk_id) WHERE NOT indexed;

CREATE TABLE embed_queue (
    chunk_id bigint PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
    user_id  text NOT NULL
);
CREATE INDEX embed_queue_user ON embed_queue (user_id, chunk_id);

INSERT INTO chunk_vectors (chunk_id, user_id, path, embedding)
    SELECT id, user_id, path, embedding FROM chunks WHERE embedding IS NOT NULL;
INSERT INTO embed_queue (chunk_id, user_id)
    SELECT id, user_id FROM chunks WHERE embedding IS NULL;
-- Drops chunks_to_embed, chunks_embedded and version 5's vector index.
ALTER TABLE chunks DROP COLUMN embedding;
UPDATE embedding_space SET index_vectors = 0, index_lists = 0;

-- +goose Down
ALTER TABLE chunks ADD COLUMN embedding vector;
UPDATE chunks c SET embedding = v.embedding FROM chunk_vectors v WHERE v.chunk_id = c.id;
CREATE INDEX chunks_to_embed ON chunks (user_id, id) WHERE embedding IS NULL;
CREATE INDEX chunks_embedded ON chunks (user_id) WHERE embedding IS NOT NULL;
DROP TABLE embed_queue;
DROP TABLE chunk_vectors;
-- Version 5's store builds its vector index at Open.
UPDATE embedding_space SET index_vectors = 0, index_lists = 0;

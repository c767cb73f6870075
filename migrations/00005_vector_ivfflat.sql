-- Hearth's PostgreSQL store, version 5: the store builds the vector index
-- itself, by default an IVFFlat index that it rebuilds as the vectors
-- grow, instead of the HNSW index that version 4 created with the space.
--
-- Why: an HNSW insert costs about 2,000 buffer visits; at 100,000 vectors
-- of 384 dimensions that held chunk indexing to 350-1,000 chunks/s, below
-- the 2,000 chunks/s the memory issue asks for, whatever m and
-- ef_construction. An IVFFlat insert only finds its nearest list (about
-- 5,000 chunks/s with every other index kept), and a build is cheap (about
-- 5 s at 100,000 vectors), so the store rebuilds the index each time the
-- number of vectors doubles: the builds cost about twice the last one in
-- all, a fraction of a millisecond per vector.
--
--   * embedding_space.index_vectors is the number of vectors the current
--     index was built over (0: no index), index_lists its lists; the store
--     (memory/postgres, vecindex.go) keeps them with the index on
--     (embedding::halfvec(N)), N the space's dimension:
--     chunks_embedding_ivf, or chunks_embedding_hnsw when the store is
--     configured for HNSW (better recall on hard data, slower indexing);
--   * until a space has 2,000 vectors there is no index: searches compare
--     every vector, which is exact and fast at that size.

-- +goose Up
ALTER TABLE embedding_space
    ADD COLUMN index_vectors bigint NOT NULL DEFAULT 0,
    ADD COLUMN index_lists integer NOT NULL DEFAULT 0;
-- Version 4's HNSW index stays (a store configured for HNSW keeps it; one
-- configured for IVFFlat replaces it at Open).
UPDATE embedding_space SET index_vectors = (SELECT count(*) FROM chunks WHERE embedding IS NOT NULL)
    WHERE to_regclass('chunks_embedding_hnsw') IS NOT NULL;

-- +goose Down
DROP INDEX IF EXISTS chunks_embedding_ivf;
ALTER TABLE embedding_space DROP COLUMN index_vectors, DROP COLUMN index_lists;
-- Version 4's HNSW index for the current space.
-- +goose StatementBegin
DO $$
DECLARE
    d integer;
BEGIN
    SELECT dims INTO d FROM embedding_space WHERE id = 1;
    IF d > 0 AND d <= 4000 THEN
        EXECUTE format('CREATE INDEX IF NOT EXISTS chunks_embedding_hnsw ON chunks USING hnsw ((embedding::halfvec(%s)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 48) WHERE embedding IS NOT NULL', d);
    END IF;
END
$$;
-- +goose StatementEnd

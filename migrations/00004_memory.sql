-- Hearth's PostgreSQL store, version 4: memory (workspace documents, kept
-- versions, chunks with a full-text index and pgvector vectors, the
-- embedding space and the embedding cache), the model of the embedded
-- store's 00002_memory.sql.
--
-- pgvector must be installed on the server. CREATE EXTENSION needs a
-- superuser (pgvector is not a trusted extension): when Hearth's role is
-- not one, run `CREATE EXTENSION vector;` in the database as a superuser
-- once, and this migration finds it.
--
--   * paths are COLLATE "C": listed in byte order, and prefix-matched
--     byte-wise with starts_with (never LIKE);
--   * chunks copy user_id and path from their document, so that searches
--     filter without a join;
--   * chunks.tsv is generated from heading (weight A) and text (weight B)
--     with the 'simple' configuration (lower-cased words, no stemming, no
--     stopwords: the content is in any language) and indexed by GIN;
--   * chunks.embedding is a vector of the embedding space's dimension (the
--     column has no fixed dimension because the space is configured at run
--     time); SetEmbeddingSpace (re)creates the HNSW index
--     chunks_embedding_hnsw on (embedding::halfvec(N)) for the space's N.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE documents (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    path            text COLLATE "C" NOT NULL,
    content         text NOT NULL,
    size            bigint NOT NULL, -- bytes of content
    version         bigint NOT NULL CHECK (version > 0),
    indexed_version bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (user_id, path)
);
-- Documents whose chunks are behind their content, oldest change first.
CREATE INDEX documents_to_index ON documents (user_id, updated_at, id)
    WHERE indexed_version <> version;

-- The replaced contents of overwritten documents.
CREATE TABLE document_versions (
    doc_id      bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    version     bigint NOT NULL,
    content     text NOT NULL,
    size        bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    replaced_at timestamptz NOT NULL,
    PRIMARY KEY (doc_id, version)
);

CREATE TABLE chunks (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_id    bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    user_id   text NOT NULL,
    path      text COLLATE "C" NOT NULL,
    seq       integer NOT NULL,
    heading   text NOT NULL DEFAULT '',
    text      text NOT NULL,
    start_off integer NOT NULL,
    end_off   integer NOT NULL,
    hash      text NOT NULL,
    embedding vector,
    tsv       tsvector GENERATED ALWAYS AS (
                  setweight(to_tsvector('simple'::regconfig, heading), 'A') ||
                  setweight(to_tsvector('simple'::regconfig, text), 'B')) STORED,
    UNIQUE (doc_id, seq)
);
CREATE INDEX chunks_user ON chunks (user_id, id);
CREATE INDEX chunks_to_embed ON chunks (user_id, id) WHERE embedding IS NULL;
CREATE INDEX chunks_embedded ON chunks (user_id) WHERE embedding IS NOT NULL;
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);

-- The space of the stored vectors (one row).
CREATE TABLE embedding_space (
    id    integer PRIMARY KEY CHECK (id = 1),
    model text NOT NULL DEFAULT '',
    dims  integer NOT NULL DEFAULT 0
);
INSERT INTO embedding_space (id) VALUES (1);

CREATE TABLE embedding_cache (
    model      text NOT NULL,
    dims       integer NOT NULL,
    hash       text NOT NULL,
    vector     vector NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (model, dims, hash)
);

-- +goose Down
DROP TABLE embedding_cache;
DROP TABLE embedding_space;
DROP TABLE chunks;
DROP TABLE document_versions;
DROP TABLE documents;

-- Hearth's embedded store, version 4: API tokens of the OpenAI-compatible
-- API. Only the SHA-256 of a token is stored; the token itself is shown
-- once, when it is created. Conventions as in 00001_init.sql.

-- +goose Up
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    hash       BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    hint       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    last_used  INTEGER,
    revoked_at INTEGER
) STRICT;
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);

-- +goose Down
DROP TABLE api_tokens;

-- Hearth's PostgreSQL store, version 3: API tokens of the OpenAI-compatible
-- API, as the embedded store's 00004_tokens.sql. Only the SHA-256 of a token
-- is stored; the token itself is shown once, when it is created.

-- +goose Up
CREATE TABLE api_tokens (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text NOT NULL DEFAULT '',
    hash       bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    hint       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    last_used  timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at, id);

-- +goose Down
DROP TABLE api_tokens;

-- Hearth's PostgreSQL store, version 1: users, identities, pairing,
-- sessions, inbox, history, outbox, audit and secrets (the same model as
-- the embedded store's memory/sqlite/migrations/00001_init.sql).
--
-- Conventions (later migrations follow them):
--   * times are timestamptz (microseconds); NULL means "not set" (a zero
--     time.Time in Go);
--   * user and session ids are text (engine.NewID); tables added later
--     reference users(id) and sessions(id) the same way;
--   * integer ids come from identity columns: positive, increasing in the
--     order they are drawn, never reused (a rolled-back insert leaves a gap);
--   * objects are created unqualified, in the first schema of the
--     search_path, so that one database can hold several Hearth schemas.

-- +goose Up
CREATE TABLE users (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    role       text NOT NULL CHECK (role IN ('owner', 'member')),
    timezone   text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE identities (
    channel      text NOT NULL,
    platform_id  text NOT NULL,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    display_name text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (channel, platform_id)
);
CREATE INDEX identities_user ON identities (user_id, created_at);

CREATE TABLE pairing_requests (
    code         text PRIMARY KEY,
    channel      text NOT NULL,
    platform_id  text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    conversation text NOT NULL DEFAULT '',
    status       text NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    user_id      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    resolved_at  timestamptz
);
CREATE INDEX pairing_pending_sender ON pairing_requests (channel, platform_id, expires_at)
    WHERE status = 'pending';
CREATE INDEX pairing_pending_created ON pairing_requests (created_at)
    WHERE status = 'pending';

CREATE TABLE sessions (
    id              text PRIMARY KEY,
    -- n orders sessions created in the same instant (ListSessions).
    n               bigint GENERATED ALWAYS AS IDENTITY,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address_key     text NOT NULL,
    channel         text NOT NULL DEFAULT '',
    conversation    text NOT NULL DEFAULT '',
    thread          text NOT NULL DEFAULT '',
    reply_to        text NOT NULL DEFAULT '',
    is_group        boolean NOT NULL DEFAULT false,
    active          boolean NOT NULL DEFAULT true,
    model           text NOT NULL DEFAULT '',
    summary         text NOT NULL DEFAULT '',
    summary_through bigint NOT NULL DEFAULT 0,
    -- last_seq is the highest history seq of the session; CompleteTurn
    -- advances it under the row lock, which orders concurrent turns.
    last_seq        bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
-- At most one active session per user and conversation key.
CREATE UNIQUE INDEX sessions_one_active ON sessions (user_id, address_key) WHERE active;
CREATE INDEX sessions_user_updated ON sessions (user_id, updated_at DESC, n DESC);
CREATE INDEX sessions_updated ON sessions (updated_at DESC, n DESC);

CREATE TABLE inbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel       text NOT NULL,
    message_id    text NOT NULL,
    conversation  text NOT NULL DEFAULT '',
    thread        text NOT NULL DEFAULT '',
    sender_id     text NOT NULL DEFAULT '',
    sender_name   text NOT NULL DEFAULT '',
    direct        boolean NOT NULL DEFAULT false,
    mentioned     boolean NOT NULL DEFAULT false,
    text          text NOT NULL DEFAULT '',
    attachments   jsonb, -- array of engine.Attachment
    meta          jsonb, -- object
    received_at   timestamptz,
    user_id       text REFERENCES users (id),
    session_id    text REFERENCES sessions (id),
    status        text NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'held')),
    input_tokens  bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (channel, message_id)
);
CREATE INDEX inbox_pending ON inbox (id) WHERE status = 'pending';
CREATE INDEX inbox_pending_session ON inbox (session_id, id) WHERE status = 'pending';

CREATE TABLE history (
    session_id   text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq          bigint NOT NULL,
    inbound_id   bigint REFERENCES inbox (id),
    role         text NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content      text NOT NULL DEFAULT '',
    tool_calls   json, -- array of engine.ToolCall, kept verbatim; NULL when none
    tool_call_id text NOT NULL DEFAULT '',
    name         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         smallint NOT NULL,
    channel      text NOT NULL,
    conversation text NOT NULL DEFAULT '',
    thread       text NOT NULL DEFAULT '',
    reply_to     text NOT NULL DEFAULT '',
    text         text NOT NULL DEFAULT '',
    delta        text NOT NULL DEFAULT '',
    final        boolean NOT NULL DEFAULT false,
    error        boolean NOT NULL DEFAULT false,
    inbound_id   bigint REFERENCES inbox (id),
    meta         jsonb, -- object
    created_at   timestamptz NOT NULL,
    delivered_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_inbound ON outbox (inbound_id, id) WHERE inbound_id IS NOT NULL;

CREATE TABLE audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time        timestamptz NOT NULL,
    kind        text NOT NULL,
    user_id     text NOT NULL DEFAULT '',
    session_id  text NOT NULL DEFAULT '',
    tool        text NOT NULL DEFAULT '',
    input       text NOT NULL DEFAULT '',
    output      text NOT NULL DEFAULT '',
    outcome     text NOT NULL DEFAULT '',
    error       text NOT NULL DEFAULT '',
    duration_ns bigint NOT NULL DEFAULT 0,
    bytes       bigint NOT NULL DEFAULT 0,
    detail      text NOT NULL DEFAULT ''
);
CREATE INDEX audit_time ON audit (time DESC, id DESC);
CREATE INDEX audit_user_time ON audit (user_id, time DESC, id DESC);

-- Secrets hold ciphertext only (sandbox/secrets encrypts). user_id is not a
-- foreign key so that instance-wide secrets (channel tokens) can live under
-- a reserved owner id.
CREATE TABLE secrets (
    user_id    text NOT NULL,
    name       text NOT NULL,
    ciphertext bytea NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_used  timestamptz,
    PRIMARY KEY (user_id, name)
);

-- +goose Down
DROP TABLE secrets;
DROP TABLE audit;
DROP TABLE outbox;
DROP TABLE history;
DROP TABLE inbox;
DROP TABLE sessions;
DROP TABLE pairing_requests;
DROP TABLE identities;
DROP TABLE users;

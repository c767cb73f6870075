-- Hearth's embedded store, version 1: users, identities, pairing, sessions,
-- inbox, history, outbox, audit and secrets.
--
-- Conventions (later migrations follow them):
--   * times are INTEGER microseconds since the Unix epoch, UTC; NULL means
--     "not set" (a zero time.Time);
--   * user ids and session ids are TEXT (engine.NewID); tables added later
--     (documents, chunks and their FTS5/vector indexes, routines, heartbeat
--     runs, API tokens) reference users(id) and sessions(id) the same way;
--   * integer ids are rowids (max + 1), not AUTOINCREMENT, which would cost
--     a write of sqlite_sequence per insert; ids handed outside the process
--     (inbox, outbox: adapters use outbox ids as idempotency keys) are
--     therefore never reused only while the newest row is kept, so a
--     retention job must never delete the newest row of these tables;
--   * optional text that is usually empty is NULL rather than '' where a
--     hot read path selects it (reading NULL is cheaper);
--   * every table is STRICT.

-- +goose Up
CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    timezone   TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE identities (
    channel      TEXT NOT NULL,
    platform_id  TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (channel, platform_id)
) STRICT;
CREATE INDEX identities_user ON identities (user_id, created_at);

CREATE TABLE pairing_requests (
    code         TEXT PRIMARY KEY,
    channel      TEXT NOT NULL,
    platform_id  TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    conversation TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
    user_id      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    resolved_at  INTEGER
) STRICT;
CREATE INDEX pairing_pending_sender ON pairing_requests (channel, platform_id, expires_at)
    WHERE status = 'pending';
CREATE INDEX pairing_pending_created ON pairing_requests (created_at)
    WHERE status = 'pending';

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address_key     TEXT NOT NULL,
    channel         TEXT NOT NULL DEFAULT '',
    conversation    TEXT NOT NULL DEFAULT '',
    thread          TEXT NOT NULL DEFAULT '',
    reply_to        TEXT NOT NULL DEFAULT '',
    is_group        INTEGER NOT NULL DEFAULT 0,
    active          INTEGER NOT NULL DEFAULT 1,
    model           TEXT NOT NULL DEFAULT '',
    summary         TEXT NOT NULL DEFAULT '',
    summary_through INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
-- At most one active session per user and conversation key.
CREATE UNIQUE INDEX sessions_one_active ON sessions (user_id, address_key) WHERE active = 1;
CREATE INDEX sessions_user_updated ON sessions (user_id, updated_at);
CREATE INDEX sessions_updated ON sessions (updated_at);

CREATE TABLE inbox (
    id            INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    conversation  TEXT NOT NULL DEFAULT '',
    thread        TEXT NOT NULL DEFAULT '',
    sender_id     TEXT NOT NULL DEFAULT '',
    sender_name   TEXT NOT NULL DEFAULT '',
    direct        INTEGER NOT NULL DEFAULT 0,
    mentioned     INTEGER NOT NULL DEFAULT 0,
    text          TEXT NOT NULL DEFAULT '',
    attachments   TEXT, -- JSON array of engine.Attachment
    meta          TEXT, -- JSON object
    received_at   INTEGER,
    user_id       TEXT REFERENCES users (id),
    session_id    TEXT REFERENCES sessions (id),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'held')),
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (channel, message_id)
) STRICT;
-- Only pending rows: PendingInbound scans it whole (INDEXED BY), per
-- session lookups seek it.
CREATE INDEX inbox_pending ON inbox (session_id, id) WHERE status = 'pending';

CREATE TABLE history (
    id           INTEGER PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    inbound_id   INTEGER REFERENCES inbox (id),
    role         TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content      TEXT NOT NULL DEFAULT '',
    tool_calls   TEXT, -- JSON array of engine.ToolCall, NULL when none
    tool_call_id TEXT, -- NULL when empty
    name         TEXT, -- NULL when empty
    created_at   INTEGER NOT NULL,
    UNIQUE (session_id, seq)
) STRICT;

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    kind         INTEGER NOT NULL,
    channel      TEXT NOT NULL,
    conversation TEXT NOT NULL DEFAULT '',
    thread       TEXT NOT NULL DEFAULT '',
    reply_to     TEXT NOT NULL DEFAULT '',
    text         TEXT NOT NULL DEFAULT '',
    delta        TEXT NOT NULL DEFAULT '',
    final        INTEGER NOT NULL DEFAULT 0,
    error        INTEGER NOT NULL DEFAULT 0,
    inbound_id   INTEGER REFERENCES inbox (id),
    meta         TEXT, -- JSON object
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER
) STRICT;
CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_inbound ON outbox (inbound_id, id) WHERE inbound_id IS NOT NULL;

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    time        INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    user_id     TEXT NOT NULL DEFAULT '',
    session_id  TEXT NOT NULL DEFAULT '',
    tool        TEXT NOT NULL DEFAULT '',
    input       TEXT NOT NULL DEFAULT '',
    output      TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    duration_ns INTEGER NOT NULL DEFAULT 0,
    bytes       INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_time ON audit (time);
CREATE INDEX audit_user_time ON audit (user_id, time);

-- Secrets hold ciphertext only (engine/secrets encrypts). user_id is not a
-- foreign key so that instance-wide secrets (channel tokens) can live under a
-- reserved owner id.
CREATE TABLE secrets (
    user_id    TEXT NOT NULL,
    name       TEXT NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_used  INTEGER,
    PRIMARY KEY (user_id, name)
) STRICT;

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

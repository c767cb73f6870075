-- version: 6
-- The schema every migration in migrations/ produces, for new databases
-- (baseline.go). Generated: go test ./memory/sqlite -run TestSchemaBaseline -update

CREATE TABLE goose_db_version (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		version_id INTEGER NOT NULL,
		is_applied INTEGER NOT NULL,
		tstamp TIMESTAMP DEFAULT (datetime('now'))
	);

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

CREATE TABLE secrets (
    user_id    TEXT NOT NULL,
    name       TEXT NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_used  INTEGER,
    PRIMARY KEY (user_id, name)
) STRICT;

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

CREATE INDEX documents_to_index ON documents (user_id, updated_at, id)
    WHERE indexed_version <> version;

CREATE TABLE document_versions (
    doc_id      INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    content     TEXT NOT NULL,
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    replaced_at INTEGER NOT NULL,
    PRIMARY KEY (doc_id, version)
) STRICT;

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
    UNIQUE (doc_id, seq)
) STRICT;

CREATE INDEX chunks_user ON chunks (user_id, id);

CREATE VIRTUAL TABLE chunks_fts USING fts5 (
    owner, heading, text,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
    DELETE FROM chunks_fts WHERE rowid = old.id;
END;

CREATE TABLE embedding_space (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    model      TEXT NOT NULL DEFAULT '',
    dims       INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE vector_generations (
    user_id    TEXT PRIMARY KEY,
    generation INTEGER NOT NULL,
    chunks     INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE TABLE routines (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    prompt            TEXT NOT NULL,
    schedule_kind     TEXT NOT NULL CHECK (schedule_kind IN ('cron', 'every', 'once')),
    cron              TEXT NOT NULL DEFAULT '',
    every_ns          INTEGER NOT NULL DEFAULT 0,
    at                INTEGER,
    timezone          TEXT NOT NULL DEFAULT '',
    session           TEXT NOT NULL CHECK (session IN ('own', 'main')),
    deliver           TEXT NOT NULL CHECK (deliver IN ('origin', 'last', 'none')),
    from_channel      TEXT NOT NULL DEFAULT '',
    from_conversation TEXT NOT NULL DEFAULT '',
    from_thread       TEXT NOT NULL DEFAULT '',
    missed            TEXT NOT NULL CHECK (missed IN ('run_once', 'skip')),
    status            TEXT NOT NULL CHECK (status IN ('active', 'paused', 'done')),
    status_reason     TEXT NOT NULL DEFAULT '',
    last_slot         INTEGER,
    last_run_at       INTEGER,
    next_run_at       INTEGER,
    failures          INTEGER NOT NULL DEFAULT 0,
    run_requested_at  INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

CREATE INDEX routines_user ON routines (user_id, created_at);

CREATE TABLE heartbeats (
    user_id             TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    paused              INTEGER NOT NULL DEFAULT 0,
    pause_reason        TEXT NOT NULL DEFAULT '',
    target_channel      TEXT NOT NULL DEFAULT '',
    target_conversation TEXT NOT NULL DEFAULT '',
    target_thread       TEXT NOT NULL DEFAULT '',
    last_slot           INTEGER,
    last_run_at         INTEGER,
    failures            INTEGER NOT NULL DEFAULT 0,
    last_alert_hash     TEXT NOT NULL DEFAULT '',
    last_alert_at       INTEGER,
    budget_notice_day   TEXT NOT NULL DEFAULT '',
    updated_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE job_runs (
    run_id              TEXT PRIMARY KEY,
    kind                TEXT NOT NULL CHECK (kind IN ('heartbeat', 'routine')),
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    routine_id          TEXT NOT NULL DEFAULT '',
    scheduled_at        INTEGER NOT NULL,
    started_at          INTEGER NOT NULL,
    finished_at         INTEGER,
    outcome             TEXT NOT NULL CHECK (outcome IN ('running', 'ok', 'failed', 'skipped')),
    detail              TEXT NOT NULL DEFAULT '',
    input_tokens        INTEGER NOT NULL DEFAULT 0,
    output_tokens       INTEGER NOT NULL DEFAULT 0,
    delivered           INTEGER NOT NULL DEFAULT 0,
    suppressed          INTEGER NOT NULL DEFAULT 0,
    target_channel      TEXT NOT NULL DEFAULT '',
    target_conversation TEXT NOT NULL DEFAULT '',
    target_thread       TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX job_runs_user_started ON job_runs (user_id, started_at);

CREATE INDEX job_runs_routine_started ON job_runs (routine_id, started_at) WHERE routine_id <> '';

CREATE INDEX job_runs_started ON job_runs (started_at);

CREATE INDEX inbox_user_direct ON inbox (user_id, id) WHERE direct = 1 AND channel <> 'job';

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

CREATE TABLE chunk_vectors (
    chunk_id  INTEGER PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    embedding BLOB NOT NULL -- dims little-endian float32 values
) STRICT;

CREATE INDEX chunk_vectors_user ON chunk_vectors (user_id);

CREATE TABLE chunks_to_embed (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL
) STRICT;

CREATE INDEX chunks_to_embed_user ON chunks_to_embed (user_id);

CREATE TABLE "embedding_cache" (
    id         INTEGER PRIMARY KEY,
    model      TEXT NOT NULL,
    dims       INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    vector     BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX embedding_cache_key ON embedding_cache (model, dims, hash);

INSERT INTO embedding_space VALUES (1, '', 0, 0);

INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('automerge', 8);

INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('rank', 'bm25(0.0, 2.0, 1.0)');

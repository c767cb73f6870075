-- Hearth's embedded store, version 3: the scheduler (routines, per-user
-- heartbeat settings and state, run records). Conventions as in
-- 00001_init.sql.

-- +goose Up
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

-- One row per run; run_id (kind, owner, scheduled time) is unique across
-- every process sharing the file. routine_id is not a foreign key: runs
-- outlive a deleted routine.
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

-- LastInbound: a user's newest direct message on a real channel.
CREATE INDEX inbox_user_direct ON inbox (user_id, id) WHERE direct = 1 AND channel <> 'job';

-- +goose Down
DROP INDEX inbox_user_direct;
DROP TABLE job_runs;
DROP TABLE heartbeats;
DROP TABLE routines;

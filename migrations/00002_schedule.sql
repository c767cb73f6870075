-- Hearth's PostgreSQL store, version 2: the scheduler (routines, per-user
-- heartbeat settings and state, run records), as the embedded store's
-- 00003_schedule.sql. Conventions as in 00001_core.sql.

-- +goose Up
CREATE TABLE routines (
    id                text PRIMARY KEY,
    user_id           text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name              text NOT NULL,
    prompt            text NOT NULL,
    schedule_kind     text NOT NULL CHECK (schedule_kind IN ('cron', 'every', 'once')),
    cron              text NOT NULL DEFAULT '',
    every_ns          bigint NOT NULL DEFAULT 0,
    at                timestamptz,
    timezone          text NOT NULL DEFAULT '',
    session           text NOT NULL CHECK (session IN ('own', 'main')),
    deliver           text NOT NULL CHECK (deliver IN ('origin', 'last', 'none')),
    from_channel      text NOT NULL DEFAULT '',
    from_conversation text NOT NULL DEFAULT '',
    from_thread       text NOT NULL DEFAULT '',
    missed            text NOT NULL CHECK (missed IN ('run_once', 'skip')),
    status            text NOT NULL CHECK (status IN ('active', 'paused', 'done')),
    status_reason     text NOT NULL DEFAULT '',
    last_slot         timestamptz,
    last_run_at       timestamptz,
    next_run_at       timestamptz,
    failures          integer NOT NULL DEFAULT 0,
    run_requested_at  timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX routines_user ON routines (user_id, created_at, id);
CREATE INDEX routines_created ON routines (created_at, id);

CREATE TABLE heartbeats (
    user_id             text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    paused              boolean NOT NULL DEFAULT false,
    pause_reason        text NOT NULL DEFAULT '',
    target_channel      text NOT NULL DEFAULT '',
    target_conversation text NOT NULL DEFAULT '',
    target_thread       text NOT NULL DEFAULT '',
    last_slot           timestamptz,
    last_run_at         timestamptz,
    failures            integer NOT NULL DEFAULT 0,
    last_alert_hash     text NOT NULL DEFAULT '',
    last_alert_at       timestamptz,
    budget_notice_day   text NOT NULL DEFAULT '',
    updated_at          timestamptz NOT NULL
);

-- One row per run; run_id (kind, owner, scheduled time) is unique across
-- every process sharing the database: StartRun's INSERT ... ON CONFLICT DO
-- NOTHING lets exactly one of them run it. routine_id is not a foreign key:
-- runs outlive a deleted routine.
CREATE TABLE job_runs (
    run_id              text PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN ('heartbeat', 'routine')),
    user_id             text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    routine_id          text NOT NULL DEFAULT '',
    scheduled_at        timestamptz NOT NULL,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz,
    outcome             text NOT NULL CHECK (outcome IN ('running', 'ok', 'failed', 'skipped')),
    detail              text NOT NULL DEFAULT '',
    input_tokens        bigint NOT NULL DEFAULT 0,
    output_tokens       bigint NOT NULL DEFAULT 0,
    delivered           boolean NOT NULL DEFAULT false,
    suppressed          boolean NOT NULL DEFAULT false,
    target_channel      text NOT NULL DEFAULT '',
    target_conversation text NOT NULL DEFAULT '',
    target_thread       text NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_user_started ON job_runs (user_id, started_at);
CREATE INDEX job_runs_routine_started ON job_runs (routine_id, started_at) WHERE routine_id <> '';
CREATE INDEX job_runs_started ON job_runs (started_at);

-- LastInbound: a user's newest direct message on a real channel.
CREATE INDEX inbox_user_direct ON inbox (user_id, id) WHERE direct AND channel <> 'job';

-- +goose Down
DROP INDEX inbox_user_direct;
DROP TABLE job_runs;
DROP TABLE heartbeats;
DROP TABLE routines;

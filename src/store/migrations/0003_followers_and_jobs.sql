-- Followers as the last sync saw them, follower syncs, and batch jobs with their chunks and the
-- outcome of every OpenID. Times are microseconds since the Unix epoch (UTC), as in 0001.

-- Every follower of the account with their group, as WeChat last confirmed it (a sync, or a move
-- made through wxgroups).
CREATE TABLE followers (
    openid       TEXT    PRIMARY KEY,
    group_id     INTEGER NOT NULL,
    confirmed_at INTEGER NOT NULL,
    -- The sync that last saw this follower: after a full pass, rows of older syncs are followers
    -- who left.
    sync_id      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
-- A group's members in OpenID order; `openid >= ? AND openid < ?` prefix searches use it too.
CREATE INDEX followers_group_openid ON followers (group_id, openid);

-- One pass over user/get + user/info/batchget. `next_openid` is the checkpoint: the pages up to
-- it are stored, and a restart goes on from there.
CREATE TABLE follower_syncs (
    id          INTEGER PRIMARY KEY,
    state       TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    operator    TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    next_openid TEXT,
    pages       INTEGER NOT NULL DEFAULT 0,
    seen        INTEGER NOT NULL DEFAULT 0,
    total       INTEGER,
    dropped     INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    audit_id    INTEGER
);

-- A batch move. 'draft' is a previewed list not yet confirmed; only 'queued' and 'running' jobs
-- are picked up by the worker, one at a time.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    state       TEXT    NOT NULL CHECK (state IN ('draft', 'queued', 'running', 'done', 'failed', 'cancelled')),
    operator    TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    ip          TEXT,
    to_group    INTEGER NOT NULL,
    origin      TEXT    NOT NULL,
    total       INTEGER NOT NULL,
    moved       INTEGER NOT NULL DEFAULT 0,
    invalid     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    cancelled   INTEGER NOT NULL DEFAULT 0,
    calls       INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    queued_at   INTEGER,
    started_at  INTEGER,
    finished_at INTEGER,
    error       TEXT,
    audit_id    INTEGER
);
CREATE INDEX jobs_state ON jobs (state, id);

-- Chunks of at most 50 OpenIDs. 'sending' is written (and committed) before the chunk's upstream
-- call; 'done' is written in the same transaction as its OpenIDs' outcomes.
CREATE TABLE job_chunks (
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    state  TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'done')),
    sends  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

-- Every OpenID of a job, in the order given, with its outcome once known.
CREATE TABLE job_items (
    job_id  INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    pos     INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    openid  TEXT    NOT NULL,
    outcome TEXT CHECK (outcome IN ('moved', 'invalid', 'failed', 'cancelled')),
    errcode INTEGER,
    PRIMARY KEY (job_id, pos)
) WITHOUT ROWID;
CREATE INDEX job_items_chunk ON job_items (job_id, seq);

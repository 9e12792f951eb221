-- Times are microseconds since the Unix epoch (UTC): they sort and compare as numbers.

-- Operators who sign in with a password kept here (proxy users are not stored).
CREATE TABLE operators (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    -- Sessions that signed in before this instant are dead (disable, password change).
    sessions_valid_after INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Every sign-in, sign-out and change. A change is written as 'pending' before WeChat is
-- called and finished after, so a crash leaves a row whose outcome is unknown, never no row.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    operator    TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    ip          TEXT,
    action      TEXT    NOT NULL,
    target      TEXT,
    before      TEXT,
    after       TEXT,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('pending', 'ok', 'failed', 'unknown')),
    errcode     INTEGER,
    detail      TEXT,
    finished_at INTEGER
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_operator_at ON audit_log (operator, at);
CREATE INDEX audit_log_action_at ON audit_log (action, at);

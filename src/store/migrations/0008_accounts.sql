-- Several Official Accounts in one deployment (issue 14): every row of the per-account data
-- names its account (the key of an [[accounts]] table), so that one account's followers, jobs,
-- syncs, audit rows and quota counts are never read under another. Rows from before this
-- migration were written by a single-account deployment: they belong to 'default', the key its
-- account keeps.
--
-- Where only a column is added, SQLite needs a default for NOT NULL, and 'default' is the right
-- one for the old rows. Where the primary key must include the account the table is rebuilt
-- (SQLite cannot change a primary key), and the rebuilt column has no default: every write names
-- its account, and one that forgot would fail instead of landing in 'default' unseen.
--
-- job_chunks, job_items and job_copy_groups hang off a job (their ids are the deployment-wide
-- job id): they belong to their job's account and are read through it.

-- The audit page reads one account's rows, newest first, by operator or action.
ALTER TABLE audit_log ADD COLUMN account TEXT NOT NULL DEFAULT 'default';
DROP INDEX audit_log_at;
DROP INDEX audit_log_operator_at;
DROP INDEX audit_log_action_at;
CREATE INDEX audit_log_at ON audit_log (account, at);
CREATE INDEX audit_log_operator_at ON audit_log (account, operator, at);
CREATE INDEX audit_log_action_at ON audit_log (account, action, at);

-- Each account has its own daily quota at WeChat, so its own meter.
CREATE TABLE quota_usage_new (
    account  TEXT    NOT NULL,
    day      TEXT    NOT NULL,
    endpoint TEXT    NOT NULL,
    calls    INTEGER NOT NULL,
    PRIMARY KEY (account, day, endpoint)
);
INSERT INTO quota_usage_new (account, day, endpoint, calls)
    SELECT 'default', day, endpoint, calls FROM quota_usage;
DROP TABLE quota_usage;
ALTER TABLE quota_usage_new RENAME TO quota_usage;

-- An OpenID is per account already at WeChat (one person has a different OpenID under each
-- account), but nothing stops two accounts' rows from sharing one (a test, a simulator, a
-- copied list): the account is part of the key.
CREATE TABLE followers_new (
    account      TEXT    NOT NULL,
    openid       TEXT    NOT NULL,
    group_id     INTEGER NOT NULL,
    confirmed_at INTEGER NOT NULL,
    sync_id      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, openid)
) WITHOUT ROWID;
INSERT INTO followers_new (account, openid, group_id, confirmed_at, sync_id)
    SELECT 'default', openid, group_id, confirmed_at, sync_id FROM followers;
DROP TABLE followers;
ALTER TABLE followers_new RENAME TO followers;
CREATE INDEX followers_group_openid ON followers (account, group_id, openid);

CREATE TABLE follower_tags_new (
    account TEXT    NOT NULL,
    tag_id  INTEGER NOT NULL,
    openid  TEXT    NOT NULL,
    PRIMARY KEY (account, tag_id, openid)
) WITHOUT ROWID;
INSERT INTO follower_tags_new (account, tag_id, openid)
    SELECT 'default', tag_id, openid FROM follower_tags;
DROP TABLE follower_tags;
ALTER TABLE follower_tags_new RENAME TO follower_tags;
CREATE INDEX follower_tags_openid ON follower_tags (account, openid);

-- Each account has its own sync (one running at a time per account), read newest first.
ALTER TABLE follower_syncs ADD COLUMN account TEXT NOT NULL DEFAULT 'default';
CREATE INDEX follower_syncs_account ON follower_syncs (account, id);

-- One worker per account picks its own queued and running jobs; the start and the orphan check
-- ask for every account's queued and running jobs: state first serves both. The recent list
-- reads one account's jobs newest first.
ALTER TABLE jobs ADD COLUMN account TEXT NOT NULL DEFAULT 'default';
DROP INDEX jobs_state;
CREATE INDEX jobs_state ON jobs (state, account, id);
CREATE INDEX jobs_account ON jobs (account, id);

-- Roles per account. An operator with grants has exactly these roles on these accounts and none
-- elsewhere; one without keeps operators.role on every account (the single-account behaviour).
-- The account is not a foreign key: accounts live in the configuration file, not here.
CREATE TABLE operator_grants (
    operator_id INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    account     TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    PRIMARY KEY (operator_id, account)
) WITHOUT ROWID;

-- Batch jobs for the tags API (WXGROUPS_API=tags): a job now says what it does to each OpenID.
-- Additive only: a job from before this migration is a group move ('move'), with every chunk
-- at its only step (0) and no copied groups.

-- What the job does: 'move' (groups/members/batchupdate to to_group, the original jobs), 'tag'
-- (batchtagging with to_group), 'untag' (batchuntagging of to_group), 'retag' (per chunk: untag
-- from_tag, then tag to_group), 'blacklist' / 'unblacklist' (batchblacklist / batchunblacklist,
-- to_group unused: 0), 'copy_groups' (each chunk tags the members of one group with that group's
-- tag, see job_copy_groups; to_group unused: 0).
ALTER TABLE jobs ADD COLUMN action TEXT NOT NULL DEFAULT 'move'
    CHECK (action IN ('move', 'tag', 'untag', 'retag', 'blacklist', 'unblacklist', 'copy_groups'));
-- A retag's tag A (taken off before to_group is given), and its name when the job was created.
ALTER TABLE jobs ADD COLUMN from_tag INTEGER;
ALTER TABLE jobs ADD COLUMN from_name TEXT;
-- 1 while the job's list is still being read from WeChat (untagging everyone of a tag: the
-- members come from user/tag/get when the job starts). list_next is the checkpoint: the pages up
-- to it are stored as items, and a restart reads on from there.
ALTER TABLE jobs ADD COLUMN listing INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN list_next TEXT;

-- The step a chunk is at: 0 for one-step actions; a retag's chunk goes
-- pending/0 → sending/0 (untag sent) → pending/1 (untagged) → sending/1 (tag sent) → done,
-- each state committed before or after its call.
ALTER TABLE job_chunks ADD COLUMN step INTEGER NOT NULL DEFAULT 0;
-- A copy's chunk holds members of one group only: which one (job_copy_groups.group_id).
ALTER TABLE job_chunks ADD COLUMN group_id INTEGER;

-- The step an OpenID's outcome was settled at (its chunk's step when the job ended, for those
-- it never reached). For a retag, 1 with any outcome but 'moved' means tag A was taken off and
-- tag B was not given: the follower carries neither.
ALTER TABLE job_items ADD COLUMN step INTEGER;

-- The groups a copy-groups job copies, each with the tag of the same name once the job has found
-- or created it (tag_id is committed right after, so a restart never creates it twice: it finds
-- it by name). A group whose name cannot be a tag's (more than 30 bytes) is kept with skipped set
-- and no items: the preview and the job's page report it.
CREATE TABLE job_copy_groups (
    job_id   INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    members  INTEGER NOT NULL,
    -- The tag the list had by this name at preview (NULL: to be created).
    listed_tag INTEGER,
    tag_id   INTEGER,
    created  INTEGER NOT NULL DEFAULT 0,
    -- Why the group is not copied: 'name' (not a valid tag name; `error` says which rule).
    skipped  TEXT,
    errcode  INTEGER,
    error    TEXT,
    PRIMARY KEY (job_id, group_id)
) WITHOUT ROWID;

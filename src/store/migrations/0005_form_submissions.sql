-- Plain (no-JavaScript) forms carry a one-time id: a second post of the same form (a double
-- click, a reload that re-posts) is answered "already done" instead of changing WeChat again.
CREATE TABLE form_submissions (
    form_id    TEXT PRIMARY KEY,
    operator   TEXT NOT NULL,
    created_at INTEGER NOT NULL,   -- µs since the epoch
    location   TEXT                -- where the first post's redirect went; NULL while it runs
);
CREATE INDEX form_submissions_created_at ON form_submissions (created_at);

-- Calls made to each WeChat endpoint per WeChat day (Beijing time, YYYY-MM-DD), so the quota
-- meter survives restarts.
CREATE TABLE quota_usage (
    day      TEXT    NOT NULL,
    endpoint TEXT    NOT NULL,
    calls    INTEGER NOT NULL,
    PRIMARY KEY (day, endpoint)
);

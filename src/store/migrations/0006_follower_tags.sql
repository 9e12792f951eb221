-- The tags of every stored follower (WeChat's user-tag API, WXGROUPS_API=tags), as the follower
-- sync (user/info/batchget's tagid_list) or a tagging made through wxgroups last confirmed them.
-- A follower carries up to 20 tags, so one row per follower and tag rather than a column.
CREATE TABLE follower_tags (
    tag_id INTEGER NOT NULL,
    openid TEXT    NOT NULL,
    PRIMARY KEY (tag_id, openid)
) WITHOUT ROWID;
-- A follower's tags, and dropping them with the follower.
CREATE INDEX follower_tags_openid ON follower_tags (openid);

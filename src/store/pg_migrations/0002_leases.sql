-- Work that one instance of the deployment does at a time (an account's batch jobs, its follower
-- sync): the instance holding the lease does it, renewing it well within its lifetime; when an
-- instance dies its leases run out and another takes them over. Times: µs since the epoch.
CREATE TABLE leases (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- The group (or tag) list of each account as an instance last fetched it from WeChat, patched by
-- every instance's successful writes: the other instances read it here instead of asking WeChat
-- (whose quota is per account), and each change is announced with NOTIFY wxgroups.
CREATE TABLE list_snapshots (
    account    TEXT   NOT NULL,
    api        TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    fetched_at BIGINT NOT NULL,
    body       TEXT   NOT NULL,
    PRIMARY KEY (account, api)
);

-- The access_token each account's instances share (one fetches, the others use it): sealed
-- with a key derived from the deployment's secret key (ChaCha20-Poly1305), never in clear; the
-- fingerprint (an HMAC under another derived key) tells which token WeChat refused.
CREATE TABLE access_tokens (
    account     TEXT   PRIMARY KEY,
    sealed      TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    refresh_at  BIGINT NOT NULL
);

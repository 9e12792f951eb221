-- Work that one instance of the deployment does at a time (an account's batch jobs, its follower
-- sync): the instance holding the lease does it, renewing it well within its lifetime; when an
-- instance dies its leases run out and another takes them over. Times: µs since the epoch.
CREATE TABLE leases (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

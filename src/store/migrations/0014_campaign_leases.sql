-- Which node runs a campaign's dialer. Several nodes sharing one PostgreSQL each read every
-- running campaign; only the node holding an unexpired lease paces it, so two nodes never
-- pace the same campaign (and its agents) at once. A node renews its leases every second;
-- a crashed node's lease expires and another node takes the campaign over.
CREATE TABLE campaign_leases (
    campaign_id   TEXT   NOT NULL PRIMARY KEY,
    node          TEXT   NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

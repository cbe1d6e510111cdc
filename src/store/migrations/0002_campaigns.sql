-- Campaigns, their lead lists, leads (the durable hopper), call attempts, agent
-- dispositions and do-not-call lists. Portable across SQLite and PostgreSQL: TEXT ids
-- generated in Rust (ULIDs), BIGINT for numbers, flags and unix-millisecond times.

-- A campaign: the columns the store itself enforces when it hands out leads (state,
-- attempt cap, calling window in minutes after local midnight) plus the whole definition
-- as JSON (`settings`: trunk, caller id, dial mode, retry rules, ...), owned by
-- dialer::campaign.
CREATE TABLE campaigns (
    id               TEXT   NOT NULL PRIMARY KEY,
    name             TEXT   NOT NULL UNIQUE,
    state            TEXT   NOT NULL,
    max_attempts     BIGINT NOT NULL,
    window_open_min  BIGINT NOT NULL,
    window_close_min BIGINT NOT NULL,
    settings         TEXT   NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    updated_at_ms    BIGINT NOT NULL
);

-- One uploaded list (a CSV file) and what became of its rows.
CREATE TABLE lead_lists (
    id             TEXT   NOT NULL PRIMARY KEY,
    campaign_id    TEXT   NOT NULL REFERENCES campaigns (id),
    name           TEXT   NOT NULL,
    imported_at_ms BIGINT NOT NULL,
    rows_loaded    BIGINT NOT NULL,
    rows_rejected  BIGINT NOT NULL,
    rows_duplicate BIGINT NOT NULL
);

-- One number to call in one campaign. `id` is the list's id followed by `seq`, so a
-- bulk load appends to the primary key's B-tree instead of inserting at random. `status`: ready | claimed | dialing | done | dnc.
-- A ready lead is due at `next_at_ms`; `callback` = 1 when an agent scheduled it (due
-- callbacks are handed out first). `claimed_by` names the node holding a claimed or
-- dialing lead. Counters per outcome feed the per-outcome retry caps.
CREATE TABLE leads (
    id               TEXT   NOT NULL PRIMARY KEY,
    campaign_id      TEXT   NOT NULL REFERENCES campaigns (id),
    list_id          TEXT   NOT NULL REFERENCES lead_lists (id),
    seq              BIGINT NOT NULL,
    phone            TEXT   NOT NULL,
    tz               TEXT   NOT NULL,
    fields           TEXT   NOT NULL,
    priority         BIGINT NOT NULL,
    status           TEXT   NOT NULL,
    callback         BIGINT NOT NULL,
    next_at_ms       BIGINT NOT NULL,
    attempts         BIGINT NOT NULL,
    busy_count       BIGINT NOT NULL,
    no_answer_count  BIGINT NOT NULL,
    machine_count    BIGINT NOT NULL,
    congestion_count BIGINT NOT NULL,
    last_outcome     TEXT,
    claimed_by       TEXT,
    claimed_at_ms    BIGINT,
    updated_at_ms    BIGINT NOT NULL
);

-- The hopper's order: ready leads of a campaign, callbacks first, then priority, then due
-- time, then list order.
CREATE INDEX leads_hopper
    ON leads (campaign_id, status, callback DESC, priority DESC, next_at_ms, seq);
-- A number is loaded once per campaign (duplicates are flagged at import, not loaded).
CREATE UNIQUE INDEX leads_campaign_phone ON leads (campaign_id, phone);
-- Partial: bulk-loaded leads (never claimed yet) cost this index nothing.
CREATE INDEX leads_claimed_by ON leads (claimed_by) WHERE claimed_by IS NOT NULL;

-- The time zones that occur among a campaign's leads: the claim checks each one's calling
-- window once instead of once per lead.
CREATE TABLE campaign_zones (
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    tz          TEXT NOT NULL,
    PRIMARY KEY (campaign_id, tz)
);

-- One call placed to a lead.
CREATE TABLE attempts (
    id             TEXT   NOT NULL PRIMARY KEY,
    lead_id        TEXT   NOT NULL REFERENCES leads (id),
    campaign_id    TEXT   NOT NULL,
    node           TEXT   NOT NULL,
    call_id        TEXT,
    outcome        TEXT   NOT NULL,
    sip_status     BIGINT,
    started_at_ms  BIGINT NOT NULL,
    answered_at_ms BIGINT,
    ended_at_ms    BIGINT NOT NULL
);
CREATE INDEX attempts_lead ON attempts (lead_id, started_at_ms);

-- What an agent concluded about a lead.
CREATE TABLE dispositions (
    id             TEXT   NOT NULL PRIMARY KEY,
    lead_id        TEXT   NOT NULL REFERENCES leads (id),
    campaign_id    TEXT   NOT NULL,
    agent          TEXT   NOT NULL,
    code           TEXT   NOT NULL,
    note           TEXT   NOT NULL,
    callback_at_ms BIGINT,
    at_ms          BIGINT NOT NULL
);
CREATE INDEX dispositions_lead ON dispositions (lead_id, at_ms);

-- Do-not-call numbers (E.164). `scope`: '' for the global list, else a campaign id.
CREATE TABLE dnc (
    number      TEXT   NOT NULL,
    scope       TEXT   NOT NULL,
    source      TEXT   NOT NULL,
    added_at_ms BIGINT NOT NULL,
    PRIMARY KEY (number, scope)
);

-- The recordings index: one row per recording, written when it starts (ended_at_ms NULL
-- while it runs) and completed when the relay closes the file, so a recording cut by a
-- crash is still indexed: the node's next start completes its open rows from the files.
-- `path` is relative to the configured recordings directory. `call_record` is the CDR id,
-- `call_id` the SIP Call-ID of the caller's leg; `node` the switch that records (see
-- Store::with_node); `failed` = 1 when the recording did not end normally (the file could
-- not be written, or a crash cut it).
CREATE TABLE recordings (
    id            TEXT   NOT NULL PRIMARY KEY,
    node          TEXT   NOT NULL,
    call_record   TEXT   NOT NULL,
    call_id       TEXT   NOT NULL,
    path          TEXT   NOT NULL,
    started_at_ms BIGINT NOT NULL,
    ended_at_ms   BIGINT,
    bytes         BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    failed        BIGINT NOT NULL
);
CREATE INDEX recordings_started ON recordings (started_at_ms);
CREATE INDEX recordings_call ON recordings (call_record);

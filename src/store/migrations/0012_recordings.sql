-- The recordings index: one row per finished recording. `path` is relative to the
-- configured recordings directory. `call_record` is the CDR id, `call_id` the SIP Call-ID
-- of the caller's leg; `failed` = 1 when the file could not be written completely.
CREATE TABLE recordings (
    id            TEXT   NOT NULL PRIMARY KEY,
    call_record   TEXT   NOT NULL,
    call_id       TEXT   NOT NULL,
    path          TEXT   NOT NULL,
    started_at_ms BIGINT NOT NULL,
    ended_at_ms   BIGINT NOT NULL,
    bytes         BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    failed        BIGINT NOT NULL
);
CREATE INDEX recordings_started ON recordings (started_at_ms);
CREATE INDEX recordings_call ON recordings (call_record);

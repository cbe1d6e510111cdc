-- Call detail records (CDRs) and the in-flight calls they are made from.
-- Portable across SQLite and PostgreSQL: TEXT ids generated in Rust, BIGINT for every
-- number (unix milliseconds, durations, SIP status codes), no SERIAL/AUTOINCREMENT.

-- One row per call that has started and not yet ended. Deleted in the same transaction
-- that inserts the call's CDR; rows left over after a crash are closed at the next start
-- of the node that wrote them (`node`: "" for a single node).
CREATE TABLE calls_in_flight (
    id            TEXT   NOT NULL PRIMARY KEY,
    node          TEXT   NOT NULL,
    call_id       TEXT   NOT NULL,
    caller        TEXT   NOT NULL,
    callee        TEXT   NOT NULL,
    direction     TEXT,
    started_at_ms BIGINT NOT NULL
);

CREATE TABLE cdrs (
    id             TEXT   NOT NULL PRIMARY KEY,
    call_id        TEXT   NOT NULL,
    caller         TEXT   NOT NULL,
    callee         TEXT   NOT NULL,
    direction      TEXT,
    started_at_ms  BIGINT NOT NULL,
    answered_at_ms BIGINT,
    ended_at_ms    BIGINT NOT NULL,
    duration_ms    BIGINT NOT NULL,
    billable_ms    BIGINT NOT NULL,
    sip_status     BIGINT NOT NULL,
    hangup_side    TEXT   NOT NULL,
    hangup_cause   TEXT   NOT NULL
);

CREATE INDEX cdrs_started_at ON cdrs (started_at_ms);
CREATE INDEX cdrs_call_id ON cdrs (call_id);
CREATE INDEX cdrs_caller ON cdrs (caller);
CREATE INDEX cdrs_callee ON cdrs (callee);

CREATE TABLE cdr_legs (
    cdr_id         TEXT   NOT NULL REFERENCES cdrs (id) ON DELETE CASCADE,
    leg_index      BIGINT NOT NULL,
    role           TEXT   NOT NULL,
    peer           TEXT   NOT NULL,
    sip_call_id    TEXT   NOT NULL,
    remote_uri     TEXT   NOT NULL,
    started_at_ms  BIGINT NOT NULL,
    answered_at_ms BIGINT,
    ended_at_ms    BIGINT NOT NULL,
    final_status   BIGINT,
    PRIMARY KEY (cdr_id, leg_index)
);

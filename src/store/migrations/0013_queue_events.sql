-- Every queue happening the ACD reports (join, answer, abandon, overflow, refuse,
-- callback kept/due, complete), the source of queue reports over any period. `id` sorts
-- in time order like agent_states'. `wait_ms`/`talk_ms` where the event has them.
CREATE TABLE queue_events (
    id        TEXT   NOT NULL PRIMARY KEY,
    queue     TEXT   NOT NULL,
    call_ref  TEXT,
    event     TEXT   NOT NULL,
    agent     TEXT,
    wait_ms   BIGINT,
    talk_ms   BIGINT,
    detail    TEXT,
    at_ms     BIGINT NOT NULL
);
CREATE INDEX queue_events_queue_at ON queue_events (queue, at_ms);

-- Every agent state transition the ACD reports. `id` sorts in time order (the ms time,
-- then a per-process sequence), so two transitions in one millisecond keep their order.
-- States are the ACD's names (available, paused, on_call, ...); `from_reason`/`to_reason`
-- the pause reasons; `reason` why it changed (login, missed, answered, ...).
CREATE TABLE agent_states (
    id          TEXT   NOT NULL PRIMARY KEY,
    agent       TEXT   NOT NULL,
    from_state  TEXT   NOT NULL,
    from_reason TEXT,
    to_state    TEXT   NOT NULL,
    to_reason   TEXT,
    reason      TEXT   NOT NULL,
    call_ref    TEXT,
    at_ms       BIGINT NOT NULL
);
CREATE INDEX agent_states_agent_at ON agent_states (agent, at_ms);

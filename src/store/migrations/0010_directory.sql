-- Endpoints and trunks changed through the API, laid over the config file's at start-up
-- (a row wins over the file's entry of the same name). `kind`: endpoint | trunk. `spec`:
-- the entry as JSON (config::EndpointSpec / TrunkSpec); `deleted` = 1 with spec '' for an
-- entry removed through the API (so a file entry stays removed across restarts).
CREATE TABLE directory (
    kind          TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    spec          TEXT   NOT NULL,
    deleted       BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, name)
);

-- RTP counters per side of a call whose media the switch relayed (see store::CdrMedia).
-- (Version 3: version 2 is the dialer's campaign schema.)
CREATE TABLE cdr_media (
    cdr_id      TEXT   NOT NULL REFERENCES cdrs (id) ON DELETE CASCADE,
    role        TEXT   NOT NULL,
    packets_in  BIGINT NOT NULL,
    bytes_in    BIGINT NOT NULL,
    packets_out BIGINT NOT NULL,
    bytes_out   BIGINT NOT NULL,
    rtcp_in     BIGINT NOT NULL,
    lost        BIGINT NOT NULL,
    jitter_us   BIGINT NOT NULL,
    PRIMARY KEY (cdr_id, role)
);

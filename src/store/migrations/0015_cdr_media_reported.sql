-- What each phone reported in RTCP of the stream the relay sent it (RFC 3550 §6.4.1):
-- cumulative packets lost and interarrival jitter from its last report block. NULL when the
-- phone sent no report.
ALTER TABLE cdr_media ADD COLUMN reported_lost BIGINT;
ALTER TABLE cdr_media ADD COLUMN reported_jitter_us BIGINT;

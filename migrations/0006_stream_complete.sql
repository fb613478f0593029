-- Whether a read's body reached the caller whole: 1 when the stream ended, 0 when it was cut off
-- (the caller went away, or S3's stream failed); NULL for replies without a streamed body.
ALTER TABLE audit_log ADD COLUMN stream_complete INTEGER;

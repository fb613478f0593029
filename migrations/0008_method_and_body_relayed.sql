-- The method as the caller sent it, and what a streamed read's relay achieved. docs/audit.md
-- describes both.
--
-- `stream_complete` (0006_stream_complete.sql) is no longer written: its name promised that the
-- caller received the whole body, which a server cannot know. It stays, because rows already
-- sealed hash every column by name; renaming it would make them look tampered with.
ALTER TABLE audit_log ADD COLUMN method TEXT;          -- exactly as received, at most 32 bytes
ALTER TABLE audit_log ADD COLUMN body_relayed INTEGER; -- 1: S3's body read to its end and handed
                                                       -- to the runtime; 0: the relay stopped early

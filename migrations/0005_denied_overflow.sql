-- Refusals past the per-caller or per-isolate budget are counted here instead of one row each
-- (docs/audit.md, "Floods of refused requests"). `ip` is '*' for the isolate-wide overflow.
CREATE TABLE denied_overflow (
  minute_ms INTEGER NOT NULL,        -- start of the minute, milliseconds since 1970 UTC
  ip TEXT NOT NULL,
  count INTEGER NOT NULL,            -- refusals beyond the budget (a lower bound, at least half)
  PRIMARY KEY (minute_ms, ip)
) WITHOUT ROWID;

//! The D1 ledger of multipart uploads: which grant each upload id is bound to, and how many
//! bytes each of its parts may hold (migration 0015).
//!
//! The core writes the SQL and its parameters; the adapter only binds and runs them. A part is
//! counted by one statement that checks the binding and the size limit and records the part's
//! size together ([`reserve`]), so two parts sent at once cannot both pass a limit that only one
//! fits: D1 runs statements one at a time.

use serde::Deserialize;

use super::{Binding, UploadId};
use crate::audit::{SqlValue, Statement};

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_owned())
}

fn integer(n: u64) -> SqlValue {
    SqlValue::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Records that `upload` is bound to `binding`. Fails (primary key) if the id is bound already.
pub fn bind(upload: &UploadId, binding: &Binding) -> Statement {
    Statement {
        sql: "INSERT INTO multipart_uploads (upload_id, key_id, jti, object_key, max_bytes, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)".to_owned(),
        params: vec![
            text(upload.as_str()),
            text(&binding.key_id),
            text(&binding.jti),
            text(&binding.object_key),
            integer(binding.max_bytes),
            SqlValue::Integer(binding.expires_ms),
        ],
    }
}

/// Whether `upload` is bound to `binding`'s grant and key and still usable at `now_ms`: one row
/// of [`Lookup`] if the upload id is known at all.
pub fn lookup(upload: &UploadId, binding: &Binding, now_ms: i64) -> Statement {
    Statement {
        sql: "SELECT (key_id = ?2 AND jti = ?3 AND object_key = ?4 AND expires_ms >= ?5) AS mine FROM multipart_uploads WHERE upload_id = ?1".to_owned(),
        params: vec![
            text(upload.as_str()),
            text(&binding.key_id),
            text(&binding.jti),
            text(&binding.object_key),
            SqlValue::Integer(now_ms),
        ],
    }
}

/// A row of [`lookup`].
#[derive(Debug, Deserialize)]
pub struct Lookup {
    /// 1 if the upload is bound to the grant and key and usable now, else 0.
    pub mine: i64,
}

/// Counts part `number` of `upload` as `bytes` long, in one statement, if and only if the upload
/// is bound to `binding`'s grant and key, is usable at `now_ms`, and the part, with every other
/// part counted, fits the upload's limit. A part counted before keeps the larger of its two
/// sizes until [`settle`] says S3 has taken the new one. Returns one row of [`Reserved`] when
/// counted, none when refused.
pub fn reserve(
    upload: &UploadId,
    number: u16,
    bytes: u64,
    binding: &Binding,
    now_ms: i64,
) -> Statement {
    Statement {
        sql: "INSERT INTO multipart_parts (upload_id, part, bytes, generation, pending) \
              SELECT u.upload_id, ?2, ?3, 1, 1 FROM multipart_uploads AS u \
              WHERE u.upload_id = ?1 AND u.key_id = ?4 AND u.jti = ?5 AND u.object_key = ?6 AND u.expires_ms >= ?7 \
              AND ?3 + (SELECT coalesce(sum(p.bytes), 0) FROM multipart_parts AS p WHERE p.upload_id = ?1 AND p.part <> ?2) <= u.max_bytes \
              ON CONFLICT (upload_id, part) DO UPDATE SET bytes = max(bytes, excluded.bytes), generation = generation + 1, pending = pending + 1 \
              RETURNING generation"
            .to_owned(),
        params: vec![
            text(upload.as_str()),
            SqlValue::Integer(number.into()),
            integer(bytes),
            text(&binding.key_id),
            text(&binding.jti),
            text(&binding.object_key),
            SqlValue::Integer(now_ms),
        ],
    }
}

/// A row of [`reserve`]: the part was counted.
#[derive(Debug, Deserialize)]
pub struct Reserved {
    /// Which counting of the part this was, for [`settle`].
    pub generation: i64,
}

/// Settles the sending of a part counted by [`reserve`] as `generation`. If S3 took it
/// (`taken`) and no other sending of that part is in flight or began later, the part's size
/// becomes `bytes`: S3 now holds exactly that. Otherwise the larger size stays, since S3 may
/// hold either.
pub fn settle(
    upload: &UploadId,
    number: u16,
    generation: i64,
    bytes: u64,
    taken: bool,
) -> Statement {
    Statement {
        sql: "UPDATE multipart_parts SET pending = max(pending - 1, 0), \
              bytes = CASE WHEN ?5 AND generation = ?3 AND pending = 1 THEN ?4 ELSE bytes END \
              WHERE upload_id = ?1 AND part = ?2"
            .to_owned(),
        params: vec![
            text(upload.as_str()),
            SqlValue::Integer(number.into()),
            SqlValue::Integer(generation),
            integer(bytes),
            SqlValue::Integer(taken.into()),
        ],
    }
}

/// How many of `numbers` were counted for `upload`, and their bytes: one row of [`Counted`].
pub fn counted(upload: &UploadId, numbers: &[u16]) -> Statement {
    let list = serde_json::Value::from(numbers.to_vec()).to_string();
    Statement {
        sql: "SELECT count(*) AS parts, coalesce(sum(bytes), 0) AS bytes FROM multipart_parts \
              WHERE upload_id = ?1 AND part IN (SELECT value FROM json_each(?2))"
            .to_owned(),
        params: vec![text(upload.as_str()), SqlValue::Text(list)],
    }
}

/// A row of [`counted`].
#[derive(Debug, Deserialize)]
pub struct Counted {
    /// How many of the named parts were counted.
    pub parts: i64,
    /// Their bytes.
    pub bytes: i64,
}

/// Forgets `upload` once S3 has completed or aborted it: its parts and its binding.
pub fn forget(upload: &UploadId) -> [Statement; 2] {
    [
        Statement {
            sql: "DELETE FROM multipart_parts WHERE upload_id = ?1".to_owned(),
            params: vec![text(upload.as_str())],
        },
        Statement {
            sql: "DELETE FROM multipart_uploads WHERE upload_id = ?1".to_owned(),
            params: vec![text(upload.as_str())],
        },
    ]
}

/// Forgets uploads whose grant can no longer be used at `now_ms`. Their parts stay in S3 until
/// the bucket's lifecycle rule aborts them (docs/api.md).
pub fn purge(now_ms: i64) -> [Statement; 2] {
    [
        Statement {
            sql: "DELETE FROM multipart_parts WHERE upload_id IN (SELECT upload_id FROM multipart_uploads WHERE expires_ms < ?1)".to_owned(),
            params: vec![SqlValue::Integer(now_ms)],
        },
        Statement {
            sql: "DELETE FROM multipart_uploads WHERE expires_ms < ?1".to_owned(),
            params: vec![SqlValue::Integer(now_ms)],
        },
    ]
}

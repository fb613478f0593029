//! The audit record: one row per transaction, allowed or denied, in the D1 table `audit_log`.
//!
//! The core builds the row and the SQL; the adapter only binds and runs it. Every value from the
//! request is a bound parameter, cut to a documented length (docs/audit.md), so a hostile user
//! agent or key can neither break the statement nor bloat the log.

mod batch;

pub use batch::{Batch, Entry, MAX_ENTRIES, UnaccountedRows};

use crate::grant::{Grant, Scope};
use crate::request::Intent;

/// A value bound to an SQL parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlValue {
    /// SQL NULL.
    Null,
    /// An INTEGER.
    Integer(i64),
    /// A TEXT.
    Text(String),
}

impl From<Option<String>> for SqlValue {
    fn from(v: Option<String>) -> Self {
        v.map_or(Self::Null, Self::Text)
    }
}

impl From<Option<u64>> for SqlValue {
    /// Counts and sizes; one beyond the range of an SQL integer (never seen in practice) is clamped.
    fn from(v: Option<u64>) -> Self {
        v.map_or(Self::Null, |n| {
            Self::Integer(i64::try_from(n).unwrap_or(i64::MAX))
        })
    }
}

impl From<Option<i64>> for SqlValue {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Self::Null, Self::Integer)
    }
}

/// A statement and its bound parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// SQL with `?N` placeholders.
    pub sql: String,
    /// The parameters, in order.
    pub params: Vec<SqlValue>,
}

/// Longest stored user agent, origin, user id and grant id, in bytes.
pub const MAX_TEXT: usize = 256;

/// Longest stored method, in bytes: every registered HTTP method is shorter.
pub const MAX_METHOD: usize = 32;

/// One transaction as the audit log records it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditRecord {
    /// When the request arrived, in milliseconds since the Unix epoch (UTC).
    pub time_ms: i64,
    /// The `cf-ray` id, or one the gatekeeper made.
    pub request_id: String,
    /// The request's HTTP method exactly as it arrived (cut to [`MAX_METHOD`] bytes), so a
    /// method the API does not take is recorded as itself.
    pub method: Option<String>,
    /// `get`, `head`, …, or `None` when the request named no operation.
    pub operation: Option<&'static str>,
    /// The bucket.
    pub bucket: String,
    /// The object key, or the prefix of a list.
    pub object_key: Option<String>,
    /// `allowed`, or the stable code of the refusal.
    pub decision: &'static str,
    /// The HTTP status the caller received.
    pub status: u16,
    /// The HTTP status S3 answered with, if S3 was asked.
    pub s3_status: Option<u16>,
    /// Request body bytes sent to S3.
    pub bytes_in: Option<u64>,
    /// Response body bytes from S3, as S3 declared them.
    pub bytes_out: Option<u64>,
    /// Milliseconds from arrival to the reply's headers.
    pub duration_ms: Option<u64>,
    /// For a read: milliseconds from sending the request to S3 to S3's reply headers.
    pub s3_ms: Option<u64>,
    /// For a read: milliseconds from sending the row's INSERT to D1 to its commit. It runs while
    /// S3 is asked, so the read waits for the longer of the two, not their sum.
    pub d1_ms: Option<u64>,
    /// The caller's IP.
    pub ip: Option<String>,
    /// The caller's country.
    pub country: Option<String>,
    /// The caller's autonomous system number.
    pub asn: Option<u32>,
    /// The Cloudflare data centre that served the request.
    pub colo: Option<String>,
    /// The caller's `User-Agent`.
    pub user_agent: Option<String>,
    /// The caller's `Origin`.
    pub origin: Option<String>,
    /// The PASERK id of the key that signed the first grant, in the order of
    /// [`crate::grant::Verifier::authorize`].
    pub key_id: Option<String>,
    /// That grant's user.
    pub sub: Option<String>,
    /// That grant's unique id.
    pub jti: Option<String>,
    /// Every grant whose signature verified, in that order, as a JSON array of
    /// `{"key_id", "sub", "jti"}` objects (`sub` and `jti` cut to [`MAX_TEXT`]); [`ONE_SIGNER`]
    /// when only one did.
    pub signers: Option<String>,
    /// For a write: the grant ids it spends, as the JSON of [`crate::replay::spent_column`];
    /// inserting the row spends them.
    pub spent: Option<String>,
    /// Whether the request carried its grant in the URL (a link), accepted or not. Recorded as
    /// 1, or NULL for a grant in `Authorization` (or none); the token itself is never recorded.
    pub grant_in_url: bool,
}

/// The INSERT statement's text, shared by [`INSERT_SQL`] and [`INSERT_RETURNING_SQL`].
macro_rules! insert_sql {
    () => {
        "INSERT INTO audit_log (time_ms, request_id, operation, bucket, object_key, decision, status, s3_status, bytes_in, bytes_out, duration_ms, ip, country, asn, colo, user_agent, origin, key_id, sub, jti, signers, method, spent, grant_in_url) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)"
    };
}

/// The INSERT for one record; the parameters follow [`AuditRecord::params`].
pub const INSERT_SQL: &str = insert_sql!();

/// [`INSERT_SQL`] returning the new row's id, for a pending row completed afterwards.
pub const INSERT_RETURNING_SQL: &str = concat!(insert_sql!(), " RETURNING id");

/// `signers` of a request that one grant alone vouched for: that grant is the row's `key_id`,
/// `sub` and `jti`, which the array would only repeat, at about a fifth of the row's size. The
/// view `audit_readable` shows the array (`migrations/0014_audit_one_signer.sql`).
pub const ONE_SIGNER: &str = "1";

/// The status a row holds between being recorded and its outcome: a write's until S3 answers, a
/// read's until its relay ends.
pub const PENDING_STATUS: u16 = 0;

impl AuditRecord {
    /// Fills in what the request asked for and who signed it: the first grant's key id, user
    /// and grant id, and every signer in `signers`. `grants` are those whose signature verified,
    /// refused or not (see [`crate::Decision::grants`]), in the order the caller cannot choose.
    pub fn describe(&mut self, intent: Option<&Intent>, grants: &[Grant]) {
        if let Some(intent) = intent {
            // A call of an upload in parts is recorded by its own name, such as `put.part`.
            self.operation = Some(intent.multipart.as_ref().map_or(
                intent.operation.as_str(),
                crate::multipart::Step::audit_name,
            ));
            self.object_key = Some(match &intent.target {
                Scope::Key(key) => key.as_str().to_owned(),
                Scope::Prefix(prefix) => prefix.clone(),
            });
        }
        if let Some(first) = grants.first() {
            self.key_id = Some(first.key_id.clone());
            self.sub = Some(first.sub.clone());
            self.jti.clone_from(&first.jti);
            // Each value is cut before it is encoded, so the JSON stays whole; a request carries
            // at most `MAX_GRANTS` grants, which bounds its length.
            let signers: Vec<serde_json::Value> = grants
                .iter()
                .map(|g| {
                    serde_json::json!({
                        "key_id": g.key_id,
                        "sub": cut(&g.sub, MAX_TEXT),
                        "jti": g.jti.as_deref().map(|jti| cut(jti, MAX_TEXT)),
                    })
                })
                .collect();
            self.signers = Some(if let [_] = grants {
                ONE_SIGNER.to_owned()
            } else {
                serde_json::Value::Array(signers).to_string()
            });
        }
    }

    /// The parameters of [`INSERT_SQL`], in order, with text cut to its documented length.
    pub fn params(&self) -> Vec<SqlValue> {
        let text =
            |v: &Option<String>, max| SqlValue::from(v.as_deref().map(|s| cut(s, max).to_owned()));
        vec![
            SqlValue::Integer(self.time_ms),
            SqlValue::Text(cut(&self.request_id, 64).to_owned()),
            SqlValue::from(self.operation.map(str::to_owned)),
            SqlValue::Text(self.bucket.clone()),
            text(&self.object_key, crate::s3::MAX_KEY_BYTES),
            SqlValue::Text(self.decision.to_owned()),
            SqlValue::Integer(self.status.into()),
            SqlValue::from(self.s3_status.map(i64::from)),
            SqlValue::from(self.bytes_in),
            SqlValue::from(self.bytes_out),
            SqlValue::from(self.duration_ms),
            text(&self.ip, 64),
            text(&self.country, 8),
            SqlValue::from(self.asn.map(i64::from)),
            text(&self.colo, 8),
            text(&self.user_agent, MAX_TEXT),
            text(&self.origin, MAX_TEXT),
            text(&self.key_id, 512),
            text(&self.sub, MAX_TEXT),
            text(&self.jti, MAX_TEXT),
            SqlValue::from(self.signers.clone()),
            text(&self.method, MAX_METHOD),
            SqlValue::from(self.spent.clone()),
            SqlValue::from(self.grant_in_url.then_some(1_i64)),
        ]
    }
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_match_the_insert_and_are_cut() {
        let record = AuditRecord {
            user_agent: Some("é".repeat(200)),
            ..AuditRecord::default()
        };
        let params = record.params();
        assert_eq!(params.len(), INSERT_SQL.matches('?').count());
        let SqlValue::Text(ua) = &params[15] else {
            panic!("user agent is text")
        };
        assert_eq!(ua.len(), MAX_TEXT);
    }

    #[test]
    fn the_method_is_recorded_as_it_came_and_cut() {
        let record = |method: &str| AuditRecord {
            method: Some(method.to_owned()),
            ..AuditRecord::default()
        };
        let method = |params: Vec<SqlValue>| params[21].clone();
        assert!(INSERT_SQL.contains("signers, method, spent, grant_in_url)"));
        assert_eq!(
            method(record("PROPFIND").params()),
            SqlValue::Text("PROPFIND".into())
        );
        assert_eq!(method(record("get").params()), SqlValue::Text("get".into()));
        assert_eq!(
            method(record(&"X".repeat(100)).params()),
            SqlValue::Text("X".repeat(MAX_METHOD))
        );
    }

    #[test]
    fn a_pending_row_is_inserted_with_status_zero() {
        let record = AuditRecord {
            decision: "allowed",
            status: PENDING_STATUS,
            ..AuditRecord::default()
        };
        assert_eq!(record.params()[6], SqlValue::Integer(0));
        assert!(INSERT_RETURNING_SQL.ends_with(" RETURNING id"));
    }
}

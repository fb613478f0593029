//! Checking vendor grants: format, key, signature, audience, time and scope, in that order, and
//! then whether enough distinct keys signed.

use std::net::IpAddr;
use std::time::SystemTime;

use ipnet::IpNet;
use serde::Deserialize;

use crate::acl::{canonical_ip, canonical_net};
use crate::disposition::Filename;
use crate::grant::GrantError;
use crate::grant::claims::Claims;
use crate::grant::error::Kind;
use crate::grant::keyring::KeyRing;
use crate::grant::quorum::Quorum;
use crate::grant::signature::{Ed25519, SignatureCheck};
use crate::grant::time::{self, UnixSeconds};
use crate::grant::token::Untrusted;
use crate::{ObjectKey, Operation};

/// The most grants one request may carry.
pub const MAX_GRANTS: usize = 4;

/// Limits on grant lifetimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The longest a grant may live, from `iat` (or from now, without one) to `exp`, in seconds.
    pub max_lifetime: u32,
    /// How far the vendor's clock may be from the gatekeeper's, in seconds.
    pub clock_skew: u32,
}

impl Default for Policy {
    /// Grants live at most 15 minutes; clocks may differ by 60 seconds.
    fn default() -> Self {
        Self {
            max_lifetime: 15 * 60,
            clock_skew: 60,
        }
    }
}

/// What a grant names: one object, or a prefix to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Exactly this key.
    Key(ObjectKey),
    /// Keys beginning with this prefix (may be empty: the whole bucket).
    Prefix(String),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(key) => write!(f, "key {key:?}", key = key.as_str()),
            Self::Prefix(prefix) => write!(f, "prefix {prefix:?}"),
        }
    }
}

/// A grant whose signature verified, with what it says. On its own this says nothing about
/// whether it allows a request: [`Verifier::authorize`] decides that, and keeps the grants it
/// refused too, so that the audit log names who signed a refused request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The PASERK id of the key that signed it.
    pub key_id: String,
    /// The vendor's user.
    pub sub: String,
    /// The grant's unique id, if it has one.
    pub jti: Option<String>,
    /// The operation it allows.
    pub operation: Operation,
    /// What it allows the operation on.
    pub scope: Scope,
    /// When it expires, in Unix seconds.
    pub expires: i64,
    /// The network the caller must be in, if bound.
    pub ip: Option<IpNet>,
    /// For uploads, the largest size allowed.
    pub max_size: Option<u64>,
    /// For uploads, the only content type allowed.
    pub content_type: Option<String>,
    /// For uploads, the SHA-256 of the only content allowed.
    pub sha256: Option<[u8; 32]>,
    /// For reads, the name the reply offers the object under.
    pub filename: Option<Filename>,
    /// For uploads, whether the upload may be made in parts; such a grant always has a
    /// `max_size`.
    pub multipart: bool,
}

impl Grant {
    /// Checks that the grant covers `op` on `target`, byte for byte, from a caller at `ip`.
    /// An IPv4-mapped IPv6 `ip` is checked as the IPv4 address it carries, as the ACL does.
    pub fn permits(
        &self,
        op: Operation,
        target: &Scope,
        ip: Option<IpAddr>,
    ) -> Result<(), GrantError> {
        if op != self.operation || *target != self.scope {
            return Err(GrantError::scope_mismatch());
        }
        if let Some(net) = self.ip
            && !ip.is_some_and(|ip| net.contains(&canonical_ip(ip)))
        {
            return Err(GrantError::new(Kind::IpMismatch));
        }
        Ok(())
    }
}

/// Why [`Verifier::authorize`] refused a request, with the grants whose signatures verified
/// (in the order the audit log names them), so that a refusal still names who signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Why the request was refused.
    pub error: GrantError,
    /// Every grant of the request whose signature verified; empty if none did.
    pub grants: Vec<Grant>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Refusal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The footer every grant carries: the PASERK id of the signing key, and nothing else. A field
/// the gatekeeper does not read would be signed but silently ignored, so any other field makes
/// the grant malformed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Footer {
    kid: String,
}

/// The claims of a genuine grant that are checked against this gatekeeper and the clock rather
/// than kept in the [`Grant`].
struct Validity {
    audience: String,
    not_before: Option<UnixSeconds>,
    issued: Option<UnixSeconds>,
}

/// Verifies grants for one gatekeeper.
#[derive(Clone, Debug)]
pub struct Verifier {
    audience: String,
    keys: KeyRing,
    policy: Policy,
    quorums: Vec<Quorum>,
}

impl Verifier {
    /// A verifier for grants addressed to `audience` and signed by `keys`, where requests covered
    /// by one of `quorums` need several signatures.
    pub fn new(audience: String, keys: KeyRing, policy: Policy, quorums: Vec<Quorum>) -> Self {
        Self {
            audience,
            keys,
            policy,
            quorums,
        }
    }

    /// Verifies one token as of `now`: the grant, if it is genuine and valid now.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<Grant, GrantError> {
        let (grant, valid) = self.open(token, now)?;
        valid.map(|()| grant)
    }

    /// [`Verifier::open_with`] with the core's own Ed25519.
    pub fn open(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<(Grant, Result<(), GrantError>), GrantError> {
        self.open_with(token, now, &Ed25519)
    }

    /// Opens one token as of `now`. The outer error: the token is not genuine (format, key,
    /// signature) or its claims are not of the documented shape. Otherwise the grant, and
    /// whether it is valid now: its key's window and operations, audience, times and `jti`.
    ///
    /// Cheap checks come first: a token that is too long, not `v4.public`, badly encoded or
    /// signed by an unknown key is refused before any signature is checked, which `check` makes.
    pub fn open_with(
        &self,
        token: &str,
        now: SystemTime,
        check: &dyn SignatureCheck,
    ) -> Result<(Grant, Result<(), GrantError>), GrantError> {
        let untrusted = Untrusted::parse(token)?;
        let footer: Footer =
            serde_json::from_slice(untrusted.footer()).map_err(|_| GrantError::malformed())?;
        let trusted_key = self
            .keys
            .get(&footer.kid)
            .ok_or(GrantError::new(Kind::UnknownKey))?;
        let payload = untrusted.open(&trusted_key.key, b"", check)?;
        let claims: Claims = serde_json::from_str(&payload).map_err(|_| GrantError::malformed())?;
        let (grant, validity) = read(footer.kid, claims)?;

        let now = time::unix_seconds(now);
        let valid = trusted_key
            .allows(grant.operation, now)
            .and_then(|()| {
                if validity.audience == self.audience {
                    Ok(())
                } else {
                    Err(GrantError::new(Kind::WrongAudience))
                }
            })
            .and_then(|()| self.check_times(&validity, grant.expires, now))
            .and_then(|()| {
                if grant.operation.is_write() && grant.jti.is_none() {
                    Err(GrantError::new(Kind::JtiRequired))
                } else {
                    Ok(())
                }
            });
        Ok((grant, valid))
    }

    /// Verifies every grant a request carries and checks that, together, they allow `op` on
    /// `target` from a caller at `ip`: each must cover exactly that, no key may sign twice, and
    /// where a [`Quorum`] applies, enough distinct keys must have signed (and, if it says so,
    /// for one `sub`).
    ///
    /// The grants come back in an order the caller cannot choose: the first covering rule's
    /// `keys` first, in that order, then the rest in the order of the key ring; the first is
    /// the one the audit log names as the user's. A refusal carries every grant whose signature
    /// verified, in the same order.
    pub fn authorize<'t>(
        &self,
        tokens: impl IntoIterator<Item = &'t str>,
        op: Operation,
        target: &Scope,
        ip: Option<IpAddr>,
        now: SystemTime,
    ) -> Result<Vec<Grant>, Refusal> {
        self.authorize_with(tokens, op, target, ip, now, &Ed25519)
    }

    /// [`Verifier::authorize`], with signatures checked by `check`.
    pub fn authorize_with<'t>(
        &self,
        tokens: impl IntoIterator<Item = &'t str>,
        op: Operation,
        target: &Scope,
        ip: Option<IpAddr>,
        now: SystemTime,
        check: &dyn SignatureCheck,
    ) -> Result<Vec<Grant>, Refusal> {
        let refuse = |kind, grants| {
            Err(Refusal {
                error: GrantError::new(kind),
                grants,
            })
        };
        // Counted before any signature is checked, so a flood of tokens costs nothing.
        let tokens: Vec<&str> = tokens.into_iter().take(MAX_GRANTS + 1).collect();
        if tokens.len() > MAX_GRANTS {
            return refuse(Kind::TooMany, Vec::new());
        }
        // Every token is opened, even after one is refused, so that the refusal names every
        // signer; at most MAX_GRANTS signatures are checked, as for an allowed request.
        let mut grants: Vec<Grant> = Vec::with_capacity(tokens.len());
        let mut refused = None;
        for token in tokens {
            let verdict = self
                .open_with(token, now, check)
                .and_then(|(grant, valid)| {
                    let verdict =
                        valid
                            .and_then(|()| grant.permits(op, target, ip))
                            .and_then(|()| {
                                if grants.iter().any(|g| g.key_id == grant.key_id) {
                                    Err(GrantError::new(Kind::DuplicateSigner))
                                } else {
                                    Ok(())
                                }
                            });
                    grants.push(grant);
                    verdict
                });
            if let Err(error) = verdict {
                refused.get_or_insert(error);
            }
        }
        let rules: Vec<&Quorum> = self
            .quorums
            .iter()
            .filter(|q| q.covers(op, target))
            .collect();
        self.order(&mut grants, rules.first().copied());
        if let Some(error) = refused {
            return Err(Refusal { error, grants });
        }
        if grants.is_empty() {
            return refuse(Kind::Missing, grants);
        }
        for rule in rules {
            if grants.iter().filter(|g| rule.counts(&g.key_id)).count() < rule.signatures {
                return refuse(Kind::SignaturesInsufficient, grants);
            }
            if rule.same_sub && grants.iter().any(|g| g.sub != grants[0].sub) {
                return refuse(Kind::SubMismatch, grants);
            }
        }
        Ok(grants)
    }

    /// Puts `grants` in the order the audit log names them, which the caller cannot choose:
    /// `rule`'s keys in its order, then other keys in the order of the key ring; grants by one
    /// key (only ever in a refused request) by `sub`, then `jti`.
    fn order(&self, grants: &mut [Grant], rule: Option<&Quorum>) {
        let named = rule.map_or(0, |rule| rule.keys.len());
        grants.sort_by_cached_key(|g| {
            let rank = rule
                .and_then(|rule| rule.rank(&g.key_id))
                .or_else(|| self.keys.position(&g.key_id).map(|i| named + i))
                .unwrap_or(usize::MAX);
            (rank, g.sub.clone(), g.jti.clone())
        });
    }

    /// Whether a genuine `grant` lies, at `now`, within the window in which any grant can be
    /// accepted: not past its expiry plus the clock skew, and expiring no later than the longest
    /// lifetime from now (a grant that passes every time check meets both). It says nothing of
    /// `nbf`, which only delays a grant that already expires within the lifetime.
    pub fn is_current(&self, grant: &Grant, now: SystemTime) -> bool {
        let now = time::unix_seconds(now);
        now <= grant
            .expires
            .saturating_add(i64::from(self.policy.clock_skew))
            && grant.expires.saturating_sub(now) <= i64::from(self.policy.max_lifetime)
    }

    fn check_times(
        &self,
        validity: &Validity,
        exp: UnixSeconds,
        now: UnixSeconds,
    ) -> Result<(), GrantError> {
        let skew = i64::from(self.policy.clock_skew);
        if now > exp.saturating_add(skew) {
            return Err(GrantError::new(Kind::Expired));
        }
        if [validity.not_before, validity.issued]
            .into_iter()
            .flatten()
            .any(|t| t > now.saturating_add(skew))
        {
            return Err(GrantError::new(Kind::NotYetValid));
        }
        let start = validity.issued.unwrap_or(now).min(now);
        if exp.saturating_sub(start) > i64::from(self.policy.max_lifetime) {
            return Err(GrantError::new(Kind::LifetimeTooLong));
        }
        Ok(())
    }
}

/// Reads the claims of a genuine grant into what it allows and what it must be checked against.
/// Claims not of the documented shape are `grant_malformed`: a required claim missing or empty
/// (only a listing's `prefix` may be empty, for the whole bucket), a time, operation, key or
/// network that does not parse, or an empty optional one.
fn read(key_id: String, claims: Claims) -> Result<(Grant, Validity), GrantError> {
    let malformed = GrantError::malformed;
    let parse_time = |s: &str| time::parse(s).ok_or_else(malformed);
    if claims.aud.is_empty() || claims.sub.is_empty() {
        return Err(malformed());
    }
    let operation: Operation = claims.op.parse().map_err(|_| malformed())?;
    let expires = parse_time(&claims.exp)?;
    let not_before = claims.nbf.as_deref().map(parse_time).transpose()?;
    let issued = claims.iat.as_deref().map(parse_time).transpose()?;
    let scope = match (operation, claims.key, claims.prefix) {
        (Operation::List, None, Some(prefix)) => Scope::Prefix(prefix),
        (_, Some(key), None) if operation != Operation::List => {
            Scope::Key(key.parse().map_err(|_| malformed())?)
        }
        _ => return Err(malformed()),
    };
    // A write without a usable `jti` is `grant_jti_required`, checked with the grant's validity.
    let jti = match claims.jti {
        Some(jti) if jti.is_empty() && !operation.is_write() => return Err(malformed()),
        jti => jti.filter(|jti| !jti.is_empty()),
    };
    if claims.content_type.as_deref() == Some("") {
        return Err(malformed());
    }
    // Only an upload has content to bind; on any other grant the claim would promise nothing.
    let sha256 = match claims.sha256.as_deref() {
        None => None,
        Some(hex) if operation == Operation::Put => {
            Some(crate::digest::parse_claim(hex).ok_or_else(malformed)?)
        }
        Some(_) => return Err(malformed()),
    };
    // A name for a write or a listing would mean nothing: a mistake, like a `prefix` on a read.
    let filename = match claims.filename {
        Some(_) if !matches!(operation, Operation::Get | Operation::Head) => {
            return Err(malformed());
        }
        name => name
            .as_deref()
            .map(str::parse::<Filename>)
            .transpose()
            .map_err(|_| malformed())?,
    };
    // A multipart upload is bounded by the grant's `max_size` alone (each part is checked
    // against what the upload already holds), so a grant without one, or for another
    // operation, is not of the documented shape.
    let multipart = claims.multipart == Some(true);
    if multipart && (operation != Operation::Put || claims.max_size.is_none()) {
        return Err(malformed());
    }
    // S3 checks a SHA-256 per part, and of a whole multipart object only as a checksum of
    // checksums: `sha256` would bind nothing on such an upload, so the pair is not a grant.
    if multipart && sha256.is_some() {
        return Err(malformed());
    }
    let ip = claims
        .ip
        .as_deref()
        .map(str::parse::<IpNet>)
        .transpose()
        .map_err(|_| malformed())?
        .map(canonical_net);
    let grant = Grant {
        key_id,
        sub: claims.sub,
        jti,
        operation,
        scope,
        expires,
        ip,
        max_size: claims.max_size,
        content_type: claims.content_type,
        sha256,
        filename,
        multipart,
    };
    let validity = Validity {
        audience: claims.aud,
        not_before,
        issued,
    };
    Ok((grant, validity))
}

//! Checking vendor grants: format, key, signature, audience, time and scope, in that order, and
//! then whether enough distinct keys signed.

use std::net::IpAddr;
use std::time::SystemTime;

use ipnet::IpNet;
use serde::Deserialize;

use crate::grant::GrantError;
use crate::grant::claims::Claims;
use crate::grant::error::Kind;
use crate::grant::keyring::KeyRing;
use crate::grant::quorum::Quorum;
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

/// A grant whose signature, audience and times have been verified.
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
}

impl Grant {
    /// Checks that the grant covers `op` on `target`, byte for byte, from a caller at `ip`.
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
            && !ip.is_some_and(|ip| net.contains(&ip))
        {
            return Err(GrantError::new(Kind::IpMismatch));
        }
        Ok(())
    }
}

/// The footer every grant carries: the PASERK id of the signing key.
#[derive(Deserialize)]
struct Footer {
    kid: String,
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

    /// Verifies one token as of `now`.
    ///
    /// Cheap checks come first: a token that is too long, not `v4.public`, badly encoded or
    /// signed by an unknown key is refused before any signature is checked.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<Grant, GrantError> {
        let untrusted = Untrusted::parse(token)?;
        let footer: Footer =
            serde_json::from_slice(untrusted.footer()).map_err(|_| GrantError::malformed())?;
        let trusted_key = self
            .keys
            .get(&footer.kid)
            .ok_or(GrantError::new(Kind::UnknownKey))?;
        let payload = untrusted.open(&trusted_key.key, b"")?;
        let claims: Claims = serde_json::from_str(&payload).map_err(|_| GrantError::malformed())?;

        let now = time::unix_seconds(now);
        let operation: Operation = claims.op.parse().map_err(|_| GrantError::malformed())?;
        trusted_key.allows(operation, now)?;
        if claims.aud != self.audience {
            return Err(GrantError::new(Kind::WrongAudience));
        }
        let expires = self.check_times(&claims, now)?;
        let scope = match (operation, claims.key, claims.prefix) {
            (Operation::List, None, Some(prefix)) => Scope::Prefix(prefix),
            (_, Some(key), None) if operation != Operation::List => {
                Scope::Key(key.parse().map_err(|_| GrantError::malformed())?)
            }
            _ => return Err(GrantError::malformed()),
        };
        if operation.is_write() && claims.jti.as_deref().is_none_or(str::is_empty) {
            return Err(GrantError::new(Kind::JtiRequired));
        }
        let ip = claims
            .ip
            .as_deref()
            .map(str::parse::<IpNet>)
            .transpose()
            .map_err(|_| GrantError::malformed())?;
        Ok(Grant {
            key_id: footer.kid,
            sub: claims.sub,
            jti: claims.jti,
            operation,
            scope,
            expires,
            ip,
            max_size: claims.max_size,
            content_type: claims.content_type,
        })
    }

    /// Verifies every grant a request carries and checks that, together, they allow `op` on
    /// `target` from a caller at `ip`: each must cover exactly that, no key may sign twice, and
    /// where a [`Quorum`] applies, enough distinct keys must have signed.
    ///
    /// Returns the grants in the order they came; the first is the one recorded as the user's.
    pub fn authorize<'t>(
        &self,
        tokens: impl IntoIterator<Item = &'t str>,
        op: Operation,
        target: &Scope,
        ip: Option<IpAddr>,
        now: SystemTime,
    ) -> Result<Vec<Grant>, GrantError> {
        // Counted before any signature is checked, so a flood of tokens costs nothing.
        let tokens: Vec<&str> = tokens.into_iter().take(MAX_GRANTS + 1).collect();
        if tokens.len() > MAX_GRANTS {
            return Err(GrantError::new(Kind::TooMany));
        }
        let mut grants: Vec<Grant> = Vec::with_capacity(tokens.len());
        for token in tokens {
            let grant = self.verify(token, now)?;
            grant.permits(op, target, ip)?;
            if grants.iter().any(|g| g.key_id == grant.key_id) {
                return Err(GrantError::new(Kind::DuplicateSigner));
            }
            grants.push(grant);
        }
        if grants.is_empty() {
            return Err(GrantError::missing());
        }
        for quorum in self.quorums.iter().filter(|q| q.covers(op, target)) {
            if grants.iter().filter(|g| quorum.counts(&g.key_id)).count() < quorum.signatures {
                return Err(GrantError::new(Kind::SignaturesInsufficient));
            }
        }
        Ok(grants)
    }

    fn check_times(&self, claims: &Claims, now: UnixSeconds) -> Result<UnixSeconds, GrantError> {
        let parse = |s: &str| time::parse(s).ok_or(GrantError::malformed());
        let skew = i64::from(self.policy.clock_skew);
        let exp = parse(&claims.exp)?;
        let nbf = claims.nbf.as_deref().map(parse).transpose()?;
        let iat = claims.iat.as_deref().map(parse).transpose()?;
        if now > exp.saturating_add(skew) {
            return Err(GrantError::new(Kind::Expired));
        }
        if [nbf, iat]
            .into_iter()
            .flatten()
            .any(|t| t > now.saturating_add(skew))
        {
            return Err(GrantError::new(Kind::NotYetValid));
        }
        let start = iat.unwrap_or(now).min(now);
        if exp.saturating_sub(start) > i64::from(self.policy.max_lifetime) {
            return Err(GrantError::new(Kind::LifetimeTooLong));
        }
        Ok(exp)
    }
}

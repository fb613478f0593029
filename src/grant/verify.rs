//! Checking a vendor grant: format, key, signature, audience, time and scope, in that order.

use std::net::IpAddr;
use std::time::SystemTime;

use ipnet::IpNet;
use pasetors::Public;
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use serde::Deserialize;

use crate::grant::GrantError;
use crate::grant::claims::Claims;
use crate::grant::error::Kind;
use crate::grant::keyring::KeyRing;
use crate::grant::time::{self, UnixSeconds};
use crate::{ObjectKey, Operation};

/// The longest token the gatekeeper will look at. Real grants are a few hundred bytes; the bound
/// keeps a hostile header from costing more than a length check.
pub const MAX_TOKEN_LEN: usize = 4096;

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
    /// When it expires.
    pub expires: UnixSeconds,
    /// The network the caller must be in, if bound.
    pub ip: Option<IpNet>,
    /// For uploads, the largest size allowed.
    pub max_size: Option<u64>,
    /// For uploads, the only content type allowed.
    pub content_type: Option<String>,
}

impl Grant {
    /// Checks that the grant covers `op` on `key` (or, for `list`, the prefix in `key`),
    /// byte for byte, from a caller at `ip`.
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
}

impl Verifier {
    /// A verifier for grants addressed to `audience` and signed by one of `keys`.
    pub fn new(audience: String, keys: KeyRing, policy: Policy) -> Self {
        Self {
            audience,
            keys,
            policy,
        }
    }

    /// Verifies `token` as of `now`.
    ///
    /// Cheap checks come first: a token that is too long, not `v4.public`, badly encoded or
    /// signed by an unknown key is refused before any signature is checked.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<Grant, GrantError> {
        let malformed = || GrantError::new(Kind::Malformed);
        if token.len() > MAX_TOKEN_LEN {
            return Err(GrantError::new(Kind::TooLong));
        }
        let untrusted = UntrustedToken::<Public, V4>::try_from(token).map_err(|_| malformed())?;
        let footer: Footer =
            serde_json::from_slice(untrusted.untrusted_footer()).map_err(|_| malformed())?;
        let trusted_key = self
            .keys
            .get(&footer.kid)
            .ok_or(GrantError::new(Kind::UnknownKey))?;

        let verified = PublicToken::verify(&trusted_key.key, &untrusted, None, None)
            .map_err(|_| GrantError::new(Kind::BadSignature))?;
        let claims: Claims = serde_json::from_str(verified.payload()).map_err(|_| malformed())?;

        let now = time::unix_seconds(now);
        let operation: Operation = claims.op.parse().map_err(|_| malformed())?;
        trusted_key.allows(operation, now)?;
        if claims.aud != self.audience {
            return Err(GrantError::new(Kind::WrongAudience));
        }
        let expires = self.check_times(&claims, now)?;
        let scope = match (operation, claims.key, claims.prefix) {
            (Operation::List, None, Some(prefix)) => Scope::Prefix(prefix),
            (Operation::List, _, _) | (_, None, _) | (_, Some(_), Some(_)) => {
                return Err(malformed());
            }
            (_, Some(key), None) => Scope::Key(key.parse().map_err(|_| malformed())?),
        };
        if operation.is_write() && claims.jti.is_none() {
            return Err(GrantError::new(Kind::JtiRequired));
        }
        let ip = claims
            .ip
            .as_deref()
            .map(str::parse::<IpNet>)
            .transpose()
            .map_err(|_| malformed())?;
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

    fn check_times(&self, claims: &Claims, now: UnixSeconds) -> Result<UnixSeconds, GrantError> {
        let parse = |s: &str| time::parse(s).ok_or(GrantError::new(Kind::Malformed));
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

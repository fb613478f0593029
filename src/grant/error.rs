//! Why a grant was refused.

use std::fmt;

use http::StatusCode;

/// A vendor grant was missing, malformed, or does not allow this request.
///
/// Each refusal has a stable code. Malformed and unverifiable grants are 401 (the caller must get
/// a new grant); grants that are genuine but do not cover the request are 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantError {
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Missing,
    TooMany,
    TooLong,
    Malformed,
    UnknownKey,
    KeyNotValidNow,
    KeyNotTrustedForOperation,
    BadSignature,
    WrongAudience,
    Expired,
    NotYetValid,
    LifetimeTooLong,
    ScopeMismatch,
    JtiRequired,
    IpMismatch,
    Replayed,
    SignaturesInsufficient,
    DuplicateSigner,
    SubMismatch,
}

impl GrantError {
    /// One error of each kind, for checks that every code is documented.
    pub(crate) fn all() -> Vec<Self> {
        [
            Kind::Missing,
            Kind::TooMany,
            Kind::TooLong,
            Kind::Malformed,
            Kind::UnknownKey,
            Kind::KeyNotValidNow,
            Kind::KeyNotTrustedForOperation,
            Kind::BadSignature,
            Kind::WrongAudience,
            Kind::Expired,
            Kind::NotYetValid,
            Kind::LifetimeTooLong,
            Kind::ScopeMismatch,
            Kind::JtiRequired,
            Kind::IpMismatch,
            Kind::Replayed,
            Kind::SignaturesInsufficient,
            Kind::DuplicateSigner,
            Kind::SubMismatch,
        ]
        .into_iter()
        .map(Self::new)
        .collect()
    }
}

impl GrantError {
    pub(crate) const fn new(kind: Kind) -> Self {
        Self { kind }
    }

    /// The grant is not a well-formed token, or its claims are not of the documented shape.
    pub const fn malformed() -> Self {
        Self::new(Kind::Malformed)
    }

    /// The request carries no grant.
    pub const fn missing() -> Self {
        Self::new(Kind::Missing)
    }

    /// The grant is well formed and genuine but does not name this operation and key.
    pub const fn scope_mismatch() -> Self {
        Self::new(Kind::ScopeMismatch)
    }

    /// The grant's `jti` was already used for a write.
    pub const fn replayed() -> Self {
        Self::new(Kind::Replayed)
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            Kind::Missing
            | Kind::TooMany
            | Kind::TooLong
            | Kind::Malformed
            | Kind::UnknownKey
            | Kind::KeyNotValidNow
            | Kind::BadSignature
            | Kind::WrongAudience
            | Kind::Expired
            | Kind::NotYetValid
            | Kind::LifetimeTooLong
            | Kind::JtiRequired => StatusCode::UNAUTHORIZED,
            Kind::KeyNotTrustedForOperation
            | Kind::ScopeMismatch
            | Kind::IpMismatch
            | Kind::Replayed
            | Kind::SignaturesInsufficient
            | Kind::DuplicateSigner
            | Kind::SubMismatch => StatusCode::FORBIDDEN,
        }
    }

    /// The stable code in replies and the audit log.
    pub fn code(&self) -> &'static str {
        match self.kind {
            Kind::Missing => "grant_missing",
            Kind::TooMany => "grant_too_many",
            Kind::TooLong => "grant_too_long",
            Kind::Malformed => "grant_malformed",
            Kind::UnknownKey => "grant_unknown_key",
            Kind::KeyNotValidNow => "grant_key_expired",
            Kind::KeyNotTrustedForOperation => "grant_key_not_trusted",
            Kind::BadSignature => "grant_bad_signature",
            Kind::WrongAudience => "grant_wrong_audience",
            Kind::Expired => "grant_expired",
            Kind::NotYetValid => "grant_not_yet_valid",
            Kind::LifetimeTooLong => "grant_lifetime_too_long",
            Kind::ScopeMismatch => "grant_scope_mismatch",
            Kind::JtiRequired => "grant_jti_required",
            Kind::IpMismatch => "grant_ip_mismatch",
            Kind::Replayed => "grant_replayed",
            Kind::SignaturesInsufficient => "signatures_insufficient",
            Kind::DuplicateSigner => "signatures_duplicate",
            Kind::SubMismatch => "signatures_sub_mismatch",
        }
    }

    /// A short message that is safe to show anyone.
    pub fn message(&self) -> &'static str {
        match self.kind {
            Kind::Missing => "this request needs a grant from the application",
            Kind::TooMany => "the request carries more grants than allowed",
            Kind::TooLong => "the grant is too long",
            Kind::Malformed => "the grant is not a well-formed v4.public token",
            Kind::UnknownKey => "the grant is signed with a key this gatekeeper does not trust",
            Kind::KeyNotValidNow => "the grant is signed with a key that is not valid at this time",
            Kind::KeyNotTrustedForOperation => {
                "the grant's signing key is not trusted for this operation"
            }
            Kind::BadSignature => "the grant's signature is not valid",
            Kind::WrongAudience => "the grant is meant for a different gatekeeper",
            Kind::Expired => "the grant has expired",
            Kind::NotYetValid => "the grant is not valid yet",
            Kind::LifetimeTooLong => "the grant lives longer than this gatekeeper allows",
            Kind::ScopeMismatch => "the grant does not allow this operation on this key",
            Kind::JtiRequired => "a grant for a write must carry a unique id (jti)",
            Kind::IpMismatch => "the grant is bound to a different network",
            Kind::Replayed => "this grant has already been used",
            Kind::SignaturesInsufficient => "this request needs more signatures",
            Kind::DuplicateSigner => "the same key signed more than one of the grants",
            Kind::SubMismatch => "the grants must all name the same user (sub)",
        }
    }
}

impl fmt::Display for GrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for GrantError {}

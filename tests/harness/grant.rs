//! Grants: tokens as they arrive in `Authorization`, and claims past a good signature.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::OnceLock;

use s3_gatekeeper::grant::token::{Untrusted, seal};
use s3_gatekeeper::grant::{Claims, MAX_GRANTS, MAX_TOKEN_LEN, Scope, SigningKey};
use s3_gatekeeper::{ObjectKey, Operation};

use super::fixtures::{
    self, AUDIENCE, NOW, QUORUM_PREFIX, approver_key, stranger_key, vendor_key, verifier,
};

/// Every token that may verify: those minted here, by the trusted keys, at [`NOW`]. Signatures
/// are deterministic (RFC 8032), so the set is the same on every run; a token outside it that
/// verifies is a forgery, or a malleated copy of one of these.
pub fn valid_tokens() -> &'static [String] {
    static TOKENS: OnceLock<Vec<String>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let mut bound = fixtures::claims("get", "reports/q3.csv");
        bound.ip = Some("203.0.113.0/24".into());
        let mut upload = fixtures::claims("put", "uploads/a b.csv");
        upload.max_size = Some(1024);
        upload.content_type = Some("text/csv".into());
        let mut no_iat = fixtures::claims("head", "reports/q3.csv");
        no_iat.iat = None;
        no_iat.nbf = Some(s3_gatekeeper::grant::format_time(NOW - 5).unwrap());
        let all = [
            bound,
            upload,
            no_iat,
            fixtures::claims("get", "reports/é/%2F/x"),
            fixtures::claims("list", "reports/"),
            fixtures::claims("list", ""),
            fixtures::claims("delete", "finance/q3.csv"),
            fixtures::claims("delete", "tmp/x"),
        ];
        let mut tokens = Vec::new();
        for claims in &all {
            tokens.push(vendor_key().mint(claims).unwrap());
            tokens.push(approver_key().mint(claims).unwrap());
        }
        tokens
    })
}

/// Tokens that must never verify although they are well formed: a stranger's signature, the
/// wrong audience, expired.
pub fn invalid_tokens() -> Vec<String> {
    let claims = fixtures::claims("get", "reports/q3.csv");
    let mut wrong_audience = claims.clone();
    wrong_audience.aud = "another-gatekeeper".into();
    let mut expired = claims.clone();
    expired.exp = s3_gatekeeper::grant::format_time(NOW - 3600).unwrap();
    expired.iat = s3_gatekeeper::grant::format_time(NOW - 3700);
    vec![
        stranger_key().mint(&claims).unwrap(),
        vendor_key().mint(&wrong_audience).unwrap(),
        vendor_key().mint(&expired).unwrap(),
    ]
}

fn is_valid_token(token: &str) -> bool {
    valid_tokens().iter().any(|t| t == token)
}

/// An `Authorization` header's value, split as the gatekeeper splits it (see
/// `request::grants`), verified token by token and together. Properties:
/// - only a token minted by a trusted key verifies: a change to any byte of a valid token makes
///   it fail;
/// - a verified grant is coherent (a key for objects, a prefix for `list`, a `jti` for writes,
///   not expired, not longer-lived than the policy allows);
/// - `authorize` accepts only sets of valid tokens, at most [`MAX_GRANTS`], from distinct keys.
pub fn check_header(header: &str) {
    let tokens: Vec<&str> = header
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    for token in tokens.iter().take(MAX_GRANTS + 1) {
        check_token(token);
    }
    let first = tokens
        .iter()
        .find_map(|t| verifier().verify(t, fixtures::now()).ok());
    let (op, target) = first.map_or_else(
        || {
            (
                Operation::Get,
                Scope::Key("reports/q3.csv".parse().unwrap()),
            )
        },
        |g| (g.operation, g.scope),
    );
    let ip: Option<IpAddr> = Some("203.0.113.9".parse().unwrap());
    if let Ok(grants) =
        verifier().authorize(tokens.iter().copied(), op, &target, ip, fixtures::now())
    {
        assert!(!grants.is_empty() && grants.len() <= MAX_GRANTS);
        assert_eq!(grants.len(), tokens.len(), "every token was checked");
        assert!(tokens.iter().all(|t| is_valid_token(t)), "{tokens:?}");
        let signers: BTreeSet<&str> = grants.iter().map(|g| g.key_id.as_str()).collect();
        assert_eq!(signers.len(), grants.len(), "one grant per key");
        for grant in &grants {
            assert_eq!((grant.operation, &grant.scope), (op, &target));
        }
        if op == Operation::Delete && scope_path(&target).starts_with(QUORUM_PREFIX) {
            assert!(grants.len() >= 2, "the quorum needs two signatures");
        }
    }
}

fn scope_path(scope: &Scope) -> &str {
    match scope {
        Scope::Key(key) => key.as_str(),
        Scope::Prefix(prefix) => prefix,
    }
}

/// One token: parsing its format never panics, and it verifies only if it is a known valid one.
pub fn check_token(token: &str) {
    if let Ok(untrusted) = Untrusted::parse(token) {
        assert!(token.len() <= MAX_TOKEN_LEN);
        assert!(untrusted.footer().len() <= token.len());
        assert!(untrusted.unverified_payload().len() <= token.len());
    }
    match verifier().verify(token, fixtures::now()) {
        Ok(grant) => {
            assert!(
                is_valid_token(token),
                "a token nobody minted verified: {token}"
            );
            check_grant_coherent(&grant);
        }
        Err(e) => {
            assert!(!is_valid_token(token), "a valid token was refused: {e}");
            // The error must be presentable without panicking.
            let _ = e.to_string();
        }
    }
}

fn check_grant_coherent(grant: &s3_gatekeeper::grant::Grant) {
    let policy = s3_gatekeeper::grant::Policy::default();
    let skew = i64::from(policy.clock_skew);
    assert!(grant.expires + skew >= NOW, "expired grant accepted");
    assert!(
        grant.expires <= NOW + i64::from(policy.max_lifetime),
        "grant lives longer than the policy allows"
    );
    match (&grant.scope, grant.operation) {
        (Scope::Prefix(_), Operation::List) => {}
        (Scope::Key(key), op) if op != Operation::List => {
            assert_eq!(key.as_str().parse::<ObjectKey>().as_ref(), Ok(key));
        }
        (scope, op) => panic!("{op:?} grant with scope {scope:?}"),
    }
    if grant.operation.is_write() {
        assert!(grant.jti.as_deref().is_some_and(|j| !j.is_empty()));
    }
    assert!(
        grant.key_id == vendor_key().id() || grant.key_id == approver_key().id(),
        "signed by an untrusted key"
    );
}

/// Which key signs a payload in [`check_payload`].
#[derive(Clone, Copy, Debug)]
pub enum Signer {
    Vendor,
    Approver,
    /// A key that is not trusted, under its own key id.
    Stranger,
    /// A key that is not trusted, claiming the vendor's key id.
    Impostor,
}

impl Signer {
    pub fn from_byte(b: u8) -> Self {
        match b % 8 {
            0..=4 => Self::Vendor,
            5 => Self::Approver,
            6 => Self::Stranger,
            _ => Self::Impostor,
        }
    }

    fn key(self) -> SigningKey {
        match self {
            Self::Vendor => vendor_key(),
            Self::Approver => approver_key(),
            Self::Stranger | Self::Impostor => stranger_key(),
        }
    }

    fn kid(self) -> String {
        match self {
            Self::Impostor => vendor_key().id().to_owned(),
            other => other.key().id().to_owned(),
        }
    }
}

/// Arbitrary bytes as the payload of a token that `signer` signs properly, so the claims parser
/// and every check after the signature run on them. Properties: a grant results only from a
/// trusted key's signature, and only from claims that say exactly what the grant says; a grant
/// permits its own operation and scope and nothing else; `authorize` agrees with `verify`.
pub fn check_payload(payload: &[u8], signer: Signer) {
    let footer = serde_json::json!({ "kid": signer.kid() }).to_string();
    let Ok(token) = seal(&signer.key(), payload, footer.as_bytes(), b"") else {
        return;
    };
    let verified = verifier().verify(&token, fixtures::now());
    let Ok(grant) = verified else {
        return;
    };
    assert!(
        matches!(signer, Signer::Vendor | Signer::Approver),
        "{signer:?} signed a grant that verified"
    );
    check_grant_coherent(&grant);
    let claims: Claims = serde_json::from_slice(payload).expect("verified claims parse as claims");
    assert_eq!(claims.aud, AUDIENCE);
    assert_eq!(claims.sub, grant.sub);
    assert_eq!(claims.jti, grant.jti);
    assert_eq!(claims.op.parse::<Operation>(), Ok(grant.operation));
    assert_eq!(claims.max_size, grant.max_size);
    assert_eq!(claims.content_type, grant.content_type);
    match &grant.scope {
        Scope::Key(key) => assert_eq!(
            (claims.key.as_deref(), claims.prefix.as_deref()),
            (Some(key.as_str()), None)
        ),
        Scope::Prefix(prefix) => assert_eq!(
            (claims.key.as_deref(), claims.prefix.as_deref()),
            (None, Some(prefix.as_str()))
        ),
    }
    assert_eq!(claims.ip.is_some(), grant.ip.is_some());

    let inside: Option<IpAddr> = grant.ip.map(|net| net.network());
    let ip = inside.or_else(|| Some("203.0.113.9".parse().unwrap()));
    assert!(grant.permits(grant.operation, &grant.scope, ip).is_ok());
    let other_op = if grant.operation == Operation::Get {
        Operation::Head
    } else {
        Operation::Get
    };
    assert!(grant.permits(other_op, &grant.scope, ip).is_err());
    let other_scope = match &grant.scope {
        Scope::Key(key) => Scope::Key(
            format!("{key}x")
                .parse()
                .unwrap_or_else(|_| "another/key".parse().unwrap()),
        ),
        Scope::Prefix(prefix) => Scope::Prefix(format!("{prefix}x")),
    };
    assert!(grant.permits(grant.operation, &other_scope, ip).is_err());

    let together = verifier().authorize(
        [token.as_str()],
        grant.operation,
        &grant.scope,
        ip,
        fixtures::now(),
    );
    let needs_quorum =
        grant.operation == Operation::Delete && scope_path(&grant.scope).starts_with(QUORUM_PREFIX);
    assert_eq!(together.is_ok(), !needs_quorum, "{together:?}");
}

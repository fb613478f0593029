//! The decision: every check, in order, ending in a signed S3 request or a refusal.

use std::time::SystemTime;

use http::{HeaderName, HeaderValue, Method, Request, header};

use crate::acl::{Acl, Caller};
use crate::config::Config;
use crate::cors::Cors;
use crate::grant::{Ed25519, Grant, Scope, SignatureCheck, Verifier};
use crate::health::Limits;
use crate::request::{self, Intent, RequestError};
use crate::s3::{Bucket, BucketUrl, Encryption, Payload, Signer};
use crate::seal::Sealer;
use crate::upload::{self, Upload};
use crate::{Error, Operation};

/// Request headers a read passes on to S3, so ranges and caching work end to end.
const READ_PASSTHROUGH: [HeaderName; 5] = [
    header::RANGE,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
    header::IF_UNMODIFIED_SINCE,
];

/// The policy core: holds the parsed configuration and decides each request.
#[derive(Debug)]
pub struct Gatekeeper {
    bucket: Bucket,
    acl: Acl,
    cors: Cors,
    verifier: Verifier,
    signer: Signer,
    encryption: Encryption,
    max_upload_bytes: u64,
    upstream_timeout: u32,
    delete_enabled: bool,
    clock_skew: u32,
    sealer: Sealer,
    health: Limits,
}

/// The outcome of [`Gatekeeper::decide`], with what was learnt on the way for the audit log.
#[derive(Debug)]
pub struct Decision {
    /// What the request asked for, if it could be read.
    pub intent: Option<Intent>,
    /// Every grant whose signature verified, in the order the audit log names them (see
    /// [`Verifier::authorize`]): the grants that allowed the request, or, when it was refused,
    /// the genuine ones among those it carried, so the refusal still names who signed. Empty
    /// only if no grant's signature verified (or none was looked at). Whether the request is
    /// allowed is `outcome` alone.
    pub grants: Vec<Grant>,
    /// Whether one of `grants` could still be accepted at the time of the request (see
    /// [`Verifier::is_current`]). A refusal that such a grant vouches for is the vendor's, or a
    /// stolen grant's, and the audit log records it in full whatever the flood bound
    /// ([`crate::flood`]); a genuine grant that expired long ago vouches for nothing.
    pub current_signature: bool,
    /// For an upload, its checked length and type.
    pub upload: Option<Upload>,
    /// The S3 request to send, signed, or why not.
    pub outcome: Result<Request<()>, Error>,
}

impl Gatekeeper {
    /// A gatekeeper for a validated configuration.
    pub fn new(config: Config) -> Self {
        let bucket_url = BucketUrl::new(
            &config.endpoint,
            &config.bucket,
            config.addressing,
            config.key_root,
        );
        Self {
            clock_skew: config.policy.clock_skew,
            verifier: Verifier::new(config.id, config.keys, config.policy, config.quorums),
            signer: Signer::new(bucket_url, config.region, config.credentials),
            acl: config.acl,
            cors: config.cors,
            bucket: config.bucket,
            encryption: config.encryption,
            max_upload_bytes: config.max_upload_bytes,
            upstream_timeout: config.upstream_timeout,
            delete_enabled: config.delete_enabled,
            sealer: Sealer::new(config.seal_key, config.seal_policy),
            health: config.health,
        }
    }

    /// The bucket behind this gatekeeper.
    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    /// How long to wait for S3's reply headers, in seconds. A body that takes longer to stream is
    /// not cut off: a large object may take minutes.
    pub fn upstream_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.upstream_timeout.into())
    }

    /// The folder every key is placed under, which listings strip from the keys they return.
    pub fn key_root(&self) -> &str {
        self.signer.bucket_url.key_root()
    }

    /// The cross-origin rules, for preflights and reply headers.
    pub fn cors(&self) -> &Cors {
        &self.cors
    }

    /// Seals the audit log and applies retention, from the cron trigger.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// What `GET /health` checks against ([`crate::health`]).
    pub fn health(&self) -> Limits {
        self.health
    }

    /// Whether `caller` may reach the gatekeeper at all: the ACL's rules for a request that
    /// names no operation, as `GET /health` is checked.
    pub fn admits(&self, caller: &Caller) -> bool {
        self.acl.check(caller, None).is_ok()
    }

    /// How far grant times may be off, which bounds how long a spent `jti` must be kept.
    pub fn clock_skew(&self) -> u32 {
        self.clock_skew
    }

    /// Decides `request` from `caller` at `now`.
    ///
    /// Order matters: the ACL first (a refused network costs a few comparisons), then the
    /// request's shape, then the grants' signatures, then the upload's bounds, and only then the
    /// gatekeeper's own `SigV4` signature. Nothing is signed for a request that failed any check.
    pub fn decide<B>(&self, request: &Request<B>, caller: &Caller, now: SystemTime) -> Decision {
        self.decide_with(request, caller, now, &Ed25519)
    }

    /// [`Gatekeeper::decide`], with the grants' signatures checked by `check` (the Worker's is
    /// the runtime's own Ed25519; see [`crate::grant::signature`]).
    pub fn decide_with<B>(
        &self,
        request: &Request<B>,
        caller: &Caller,
        now: SystemTime,
        check: &dyn SignatureCheck,
    ) -> Decision {
        let mut decision = Decision {
            intent: None,
            grants: Vec::new(),
            current_signature: false,
            upload: None,
            outcome: Err(Error::internal()),
        };
        decision.outcome = self.decide_into(request, caller, now, check, &mut decision);
        decision.current_signature = decision
            .grants
            .iter()
            .any(|grant| self.verifier.is_current(grant, now));
        decision
    }

    fn decide_into<B>(
        &self,
        request: &Request<B>,
        caller: &Caller,
        now: SystemTime,
        check: &dyn SignatureCheck,
        decision: &mut Decision,
    ) -> Result<Request<()>, Error> {
        self.acl.check(caller, request::operation(request))?;
        self.cors.check(request.headers())?;
        let intent = decision.intent.insert(request::intent(request)?);
        if intent.operation == Operation::Delete && !self.delete_enabled {
            return Err(RequestError::OperationDisabled.into());
        }
        let authorized = self.verifier.authorize_with(
            request::grants(request),
            intent.operation,
            &intent.target,
            caller.canonical_ip(),
            now,
            check,
        );
        match authorized {
            Ok(grants) => decision.grants = grants,
            Err(refusal) => {
                decision.grants = refusal.grants;
                return Err(refusal.error.into());
            }
        }
        let Scope::Key(key) = &intent.target else {
            let page = intent.page.as_ref().ok_or(RequestError::NotImplemented)?;
            return self.signer.list(page, now).map_err(|_| Error::internal());
        };
        let key = key.as_str();
        let headers = request.headers();
        // SigV4 signs header values as text, so a value with bytes outside printable ASCII
        // (which HTTP and the runtime allow) cannot be passed on to S3: the caller's mistake, a
        // 400, not a fault of the gatekeeper.
        let passed_on: &[HeaderName] = match intent.operation {
            Operation::Get | Operation::Head => &READ_PASSTHROUGH,
            Operation::Put => &[header::CONTENT_TYPE],
            Operation::Delete | Operation::List => &[],
        };
        if passed_on
            .iter()
            .filter_map(|name| headers.get(name))
            .any(|value| value.to_str().is_err())
        {
            return Err(RequestError::BadHeader.into());
        }
        let signed = match intent.operation {
            Operation::Get | Operation::Head => {
                let method = if intent.operation == Operation::Get {
                    Method::GET
                } else {
                    Method::HEAD
                };
                let passthrough = READ_PASSTHROUGH
                    .iter()
                    .filter_map(|name| Some((name.clone(), headers.get(name)?.clone())));
                self.signer
                    .object(method, key, passthrough, Payload::Empty, now)
            }
            Operation::Put => {
                let checked = decision.upload.insert(upload::check(
                    headers,
                    &decision.grants,
                    self.max_upload_bytes,
                )?);
                let mut sent = vec![(header::CONTENT_LENGTH, HeaderValue::from(checked.length))];
                sent.extend(
                    checked
                        .content_type
                        .clone()
                        .map(|v| (header::CONTENT_TYPE, v)),
                );
                sent.extend(self.encryption.headers());
                self.signer
                    .object(Method::PUT, key, sent, Payload::Unsigned, now)
            }
            Operation::Delete => self
                .signer
                .object(Method::DELETE, key, [], Payload::Empty, now),
            // A list names a prefix, not a key, and was answered above.
            Operation::List => return Err(RequestError::NotImplemented.into()),
        };
        signed.map_err(|_| Error::internal())
    }
}

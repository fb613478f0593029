//! The decision: every check, in order, ending in a signed S3 request or a refusal.

use std::time::SystemTime;

use http::{HeaderName, HeaderValue, Method, Request, header};

use crate::acl::{Acl, Caller};
use crate::archive::{Archive, Storage};
use crate::config::Config;
use crate::cors::Cors;
use crate::grant::{Ed25519, Grant, Policy, Scope, SignatureCheck, Verifier};
use crate::health::Limits;
use crate::multipart::{Binding, Call, MultipartError, Step};
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
    /// The verifier for grants in the URL, with their shorter lifetime; `None` when the customer
    /// does not accept them.
    url_verifier: Option<Verifier>,
    signer: Signer,
    encryption: Encryption,
    max_upload_bytes: u64,
    multipart_part_max_bytes: u64,
    upstream_timeout: u32,
    delete_enabled: bool,
    clock_skew: u32,
    sealer: Sealer,
    storage: Storage,
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
    /// Whether the URL carried a grant (`?grant=`), accepted or not.
    pub grant_in_url: bool,
    /// For a call of an upload in parts, the grant and limits its upload id is bound to.
    pub multipart: Option<Call>,
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
        let url_verifier = config.url_grant_lifetime.map(|max_lifetime| {
            let policy = Policy {
                max_lifetime,
                ..config.policy
            };
            Verifier::new(
                config.id.clone(),
                config.keys.clone(),
                policy,
                config.quorums.clone(),
            )
        });
        let storage = Storage::new(
            config.archive.map(|target| {
                Archive::new(
                    target,
                    &config.endpoint,
                    config.region.clone(),
                    config.addressing,
                )
            }),
            config.size_budget_mb,
        );
        Self {
            url_verifier,
            clock_skew: config.policy.clock_skew,
            verifier: Verifier::new(config.id, config.keys, config.policy, config.quorums),
            signer: Signer::new(bucket_url, config.region, config.credentials),
            acl: config.acl,
            cors: config.cors,
            bucket: config.bucket,
            encryption: config.encryption,
            max_upload_bytes: config.max_upload_bytes,
            multipart_part_max_bytes: config.multipart_part_max_bytes,
            upstream_timeout: config.upstream_timeout,
            delete_enabled: config.delete_enabled,
            sealer: Sealer::new(config.seal_key, config.seal_policy),
            storage,
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

    /// The audit archive and D1's size budget, for the cron trigger.
    pub fn storage(&self) -> &Storage {
        &self.storage
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
            grant_in_url: false,
            multipart: None,
            outcome: Err(Error::internal()),
        };
        decision.outcome = self.decide_into(request, caller, now, check, &mut decision);
        // Known even when the request was refused before its grant was looked at, so the audit
        // row says where the caller put it.
        decision.grant_in_url = !matches!(request::url_grants(request), Ok(None));
        // A grant from the URL was only ever accepted with the URL's shorter lifetime.
        let verifier = match &self.url_verifier {
            Some(url_verifier) if decision.grant_in_url => url_verifier,
            _ => &self.verifier,
        };
        decision.current_signature = decision
            .grants
            .iter()
            .any(|grant| verifier.is_current(grant, now));
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
        let authorize = |verifier: &Verifier, tokens: &mut dyn Iterator<Item = &str>| {
            verifier.authorize_with(
                tokens,
                intent.operation,
                &intent.target,
                caller.canonical_ip(),
                now,
                check,
            )
        };
        let in_url = request::url_grants(request);
        // Off means off: any `grant` parameter is refused as such, however it is spelt.
        if self.url_verifier.is_none() && !matches!(in_url, Ok(None)) {
            return Err(RequestError::GrantInUrlDisabled.into());
        }
        let authorized = match in_url? {
            None => authorize(&self.verifier, &mut request::grants(request)),
            Some(tokens) => {
                let url_verifier = self
                    .url_verifier
                    .as_ref()
                    .ok_or(RequestError::GrantInUrlDisabled)?;
                // A link is for reading: a write or a listing in a URL would be one click (or
                // one prefetch) away from being done again by anyone who saw it.
                if !matches!(intent.operation, Operation::Get | Operation::Head) {
                    return Err(RequestError::GrantInUrlNotAllowed.into());
                }
                if request.headers().contains_key(header::AUTHORIZATION) {
                    return Err(RequestError::GrantAmbiguous.into());
                }
                authorize(url_verifier, &mut tokens.iter().map(String::as_str))
            }
        };
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
        if let Some(step) = &intent.multipart {
            let binding = Binding::of(
                &decision.grants,
                key,
                self.max_upload_bytes,
                self.clock_skew,
            )
            .ok_or(MultipartError::not_allowed())?;
            let call = Call {
                step: step.clone(),
                binding,
                part_max_bytes: self.multipart_part_max_bytes,
            };
            let (signed, upload) = self.multipart(&call, key, headers, &decision.grants, now)?;
            decision.upload = upload;
            decision.multipart = Some(call);
            return Ok(signed);
        }
        self.single(
            intent.operation,
            key,
            headers,
            &decision.grants,
            &mut decision.upload,
            now,
        )
    }

    /// Signs the S3 request of a single-object call: a read, a one-request upload, a delete.
    fn single(
        &self,
        operation: Operation,
        key: &str,
        headers: &http::HeaderMap,
        grants: &[Grant],
        upload: &mut Option<Upload>,
        now: SystemTime,
    ) -> Result<Request<()>, Error> {
        let signed = match operation {
            Operation::Get | Operation::Head => {
                let method = if operation == Operation::Get {
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
                let checked = upload.insert(upload::check(headers, grants, self.max_upload_bytes)?);
                let mut sent = vec![(header::CONTENT_LENGTH, HeaderValue::from(checked.length))];
                sent.extend(
                    checked
                        .content_type
                        .clone()
                        .map(|v| (header::CONTENT_TYPE, v)),
                );
                sent.extend(self.encryption.headers());
                sent.extend(crate::digest::headers(headers, grants)?);
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

    /// Checks and signs one call of an upload in parts. Only what the request alone shows is
    /// checked here; whether the upload id is bound to this grant, and whether a part fits the
    /// upload's limit, is the D1 ledger's to say ([`crate::multipart::ledger`]), before S3 is
    /// asked.
    fn multipart(
        &self,
        call: &Call,
        key: &str,
        headers: &http::HeaderMap,
        grants: &[Grant],
        now: SystemTime,
    ) -> Result<(Request<()>, Option<Upload>), Error> {
        let id = |upload: &crate::multipart::UploadId| ("uploadId", upload.as_str().to_owned());
        let (method, query, sent, payload, upload) = match &call.step {
            Step::Create => {
                upload::check_type(headers, grants)?;
                let mut sent: Vec<_> = headers
                    .get(header::CONTENT_TYPE)
                    .map(|v| (header::CONTENT_TYPE, v.clone()))
                    .into_iter()
                    .collect();
                sent.extend(self.encryption.headers());
                let query = vec![("uploads", String::new())];
                (Method::POST, query, sent, Payload::Empty, None)
            }
            Step::Part { upload, number } => {
                let length = upload::length(headers)?;
                if length > call.part_max_bytes {
                    return Err(MultipartError::part_too_large().into());
                }
                if length > call.binding.max_bytes {
                    return Err(MultipartError::upload_too_large().into());
                }
                let query = vec![("partNumber", number.to_string()), id(upload)];
                let sent = vec![(header::CONTENT_LENGTH, HeaderValue::from(length))];
                let checked = Upload {
                    length,
                    content_type: None,
                };
                (Method::PUT, query, sent, Payload::Unsigned, Some(checked))
            }
            // The body, S3's XML made from the caller's JSON, is attached by the adapter.
            Step::Complete { upload } => (
                Method::POST,
                vec![id(upload)],
                Vec::new(),
                Payload::Unsigned,
                None,
            ),
            Step::Abort { upload } => (
                Method::DELETE,
                vec![id(upload)],
                Vec::new(),
                Payload::Empty,
                None,
            ),
            Step::ListParts { upload } => (
                Method::GET,
                vec![id(upload)],
                Vec::new(),
                Payload::Empty,
                None,
            ),
        };
        let signed = self
            .signer
            .object_query(method, key, &query, sent, payload, now)
            .map_err(|_| Error::internal())?;
        Ok((signed, upload))
    }
}

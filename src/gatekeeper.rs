//! The decision: every check, in order, ending in a signed S3 request or a refusal.

use std::time::SystemTime;

use http::{HeaderName, Request, header};

use crate::acl::Caller;
use crate::config::Config;
use crate::grant::{Grant, Verifier};
use crate::request::{self, Intent};
use crate::s3::{Bucket, BucketUrl, Signer};
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
    acl: crate::acl::Acl,
    verifier: Verifier,
    signer: Signer,
}

/// The outcome of [`Gatekeeper::decide`], with what was learnt on the way for the audit log.
#[derive(Debug)]
pub struct Decision {
    /// What the request asked for, if it could be read.
    pub intent: Option<Intent>,
    /// The verified grants, the user's first; empty if they were missing or refused.
    pub grants: Vec<Grant>,
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
            verifier: Verifier::new(config.id, config.keys, config.policy, config.quorums),
            signer: Signer::new(bucket_url, config.region, config.credentials),
            acl: config.acl,
            bucket: config.bucket,
        }
    }

    /// The bucket behind this gatekeeper.
    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    /// Decides `request` from `caller` at `now`.
    ///
    /// Order matters: the ACL first (a refused network costs a few comparisons), then the
    /// request's shape, then the grant's signature, and only then the gatekeeper's own `SigV4`
    /// signature. Nothing is signed for a request that failed any check.
    pub fn decide<B>(&self, request: &Request<B>, caller: &Caller, now: SystemTime) -> Decision {
        let mut decision = Decision {
            intent: None,
            grants: Vec::new(),
            outcome: Err(Error::internal()),
        };
        decision.outcome = self.decide_into(request, caller, now, &mut decision);
        decision
    }

    fn decide_into<B>(
        &self,
        request: &Request<B>,
        caller: &Caller,
        now: SystemTime,
        decision: &mut Decision,
    ) -> Result<Request<()>, Error> {
        self.acl.check(caller)?;
        let intent = decision.intent.insert(request::intent(request)?);
        decision.grants = self.verifier.authorize(
            request::grants(request),
            intent.operation,
            &intent.target,
            caller.ip,
            now,
        )?;

        let crate::grant::Scope::Key(key) = &intent.target else {
            return Err(request::RequestError::NotImplemented.into());
        };
        let method = match intent.operation {
            Operation::Get => http::Method::GET,
            Operation::Head => http::Method::HEAD,
            _ => return Err(request::RequestError::NotImplemented.into()),
        };
        let passthrough = READ_PASSTHROUGH.iter().filter_map(|name| {
            request
                .headers()
                .get(name)
                .map(|value| (name.clone(), value.clone()))
        });
        self.signer
            .read_object(method, key.as_str(), passthrough, now)
            .map_err(|_| Error::internal())
    }
}

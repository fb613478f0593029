//! Building the S3 request and signing it with SigV4: the gatekeeper's half of the multisig.

use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4::SigningParams;
use http::{HeaderValue, Method, Request};

use crate::s3::endpoint::BucketUrl;
use crate::s3::key::encode_query;
use crate::s3::{Credentials, ListRequest};

/// How the body of a request is covered by the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Payload {
    /// No body: the signature covers the hash of the empty string.
    Empty,
    /// A streamed body: `UNSIGNED-PAYLOAD`. The body cannot be hashed in advance without
    /// buffering it; TLS protects it in transit, and the gatekeeper fixes its exact length.
    Unsigned,
    /// A body held whole, whose SHA-256 (hex) the signature covers, so S3 refuses it if any
    /// byte differs from what was signed (the audit archive's objects).
    Digest([u8; 32]),
}

/// Signs requests for one bucket with the customer's credentials.
#[derive(Clone, Debug)]
pub(crate) struct Signer {
    pub(crate) bucket_url: BucketUrl,
    region: String,
    credentials: Credentials,
}

/// SigV4 could not sign the request. Only a malformed region or header can cause it, and both
/// are validated earlier, so this is an internal fault.
#[derive(Debug)]
pub(crate) struct SigningFailed;

impl Signer {
    pub(crate) fn new(bucket_url: BucketUrl, region: String, credentials: Credentials) -> Self {
        Self {
            bucket_url,
            region,
            credentials,
        }
    }

    /// Signs `request` as of `now` and returns it with the SigV4 headers added.
    ///
    /// S3 rules: the path is signed exactly as sent (encoded once, never normalised: S3 keys may
    /// contain `..` or `//`), and `x-amz-content-sha256` must be present and signed.
    pub(crate) fn sign(
        &self,
        mut request: Request<()>,
        payload: Payload,
        now: SystemTime,
    ) -> Result<Request<()>, SigningFailed> {
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;

        let identity = self.credentials.to_identity();
        let params = SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(now)
            .settings(settings)
            .build()
            .map_err(|_| SigningFailed)?;

        let body = match payload {
            Payload::Empty => SignableBody::empty(),
            Payload::Unsigned => SignableBody::UnsignedPayload,
            Payload::Digest(sha256) => SignableBody::Precomputed(
                <ct_codecs::Hex as ct_codecs::Encoder>::encode_to_string(sha256)
                    .map_err(|_| SigningFailed)?,
            ),
        };
        let uri = request.uri().to_string();
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| value.to_str().map(|value| (name.as_str(), value)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| SigningFailed)?;
        let signable =
            SignableRequest::new(request.method().as_str(), uri, headers.into_iter(), body)
                .map_err(|_| SigningFailed)?;
        let (instructions, _signature) = sign(signable, &params.into())
            .map_err(|_| SigningFailed)?
            .into_parts();
        instructions.apply_to_request_http1x(&mut request);
        Ok(request)
    }

    /// A ListObjectsV2 request for one page under `prefix` (relative to the key root).
    ///
    /// The query is written in SigV4's canonical form (parameters sorted, values encoded with
    /// only unreserved characters literal), so what is signed is exactly what is sent.
    pub(crate) fn list(
        &self,
        page: &ListRequest,
        now: SystemTime,
    ) -> Result<Request<()>, SigningFailed> {
        let mut params: Vec<(&str, String)> = vec![
            ("list-type", "2".to_owned()),
            ("max-keys", page.limit.to_string()),
            ("prefix", self.bucket_url.full_key(&page.prefix)),
        ];
        if let Some(cursor) = &page.cursor {
            params.push(("continuation-token", cursor.clone()));
        }
        if page.folders {
            params.push(("delimiter", "/".to_owned()));
        }
        params.sort_by(|a, b| a.0.cmp(b.0));
        let mut url = self.bucket_url.bucket();
        for (i, (name, value)) in params.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            encode_query(value, &mut url);
        }
        let request = Request::get(url).body(()).map_err(|_| SigningFailed)?;
        self.sign(request, Payload::Empty, now)
    }

    /// A request on one object with a query, such as a multipart call's `uploadId`, written in
    /// SigV4's canonical form (parameters sorted by name, values encoded), so that what is
    /// signed is exactly what is sent. A parameter without a value is sent as `name=`.
    pub(crate) fn object_query(
        &self,
        method: Method,
        key: &str,
        query: &[(&str, String)],
        headers: impl IntoIterator<Item = (http::HeaderName, HeaderValue)>,
        payload: Payload,
        now: SystemTime,
    ) -> Result<Request<()>, SigningFailed> {
        let mut query = query.to_vec();
        query.sort_by(|a, b| a.0.cmp(b.0));
        let mut url = self.bucket_url.object(key);
        for (i, (name, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            encode_query(value, &mut url);
        }
        let mut builder = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(()).map_err(|_| SigningFailed)?;
        self.sign(request, payload, now)
    }

    /// A request on one object with the given headers.
    pub(crate) fn object(
        &self,
        method: Method,
        key: &str,
        headers: impl IntoIterator<Item = (http::HeaderName, HeaderValue)>,
        payload: Payload,
        now: SystemTime,
    ) -> Result<Request<()>, SigningFailed> {
        let mut builder = Request::builder()
            .method(method)
            .uri(self.bucket_url.object(key));
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(()).map_err(|_| SigningFailed)?;
        self.sign(request, payload, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::endpoint::Addressing;
    use std::time::{Duration, UNIX_EPOCH};

    fn signer() -> Signer {
        let url = BucketUrl::new(
            &"http://127.0.0.1:9001".parse().unwrap(),
            &"demo-reports".parse().unwrap(),
            Addressing::Path,
            String::new(),
        );
        Signer::new(
            url,
            "us-east-1".into(),
            Credentials::new("AKID".into(), "secret".into(), None),
        )
    }

    #[test]
    fn signs_with_time_passed_in_and_keeps_the_path_verbatim() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let req = signer()
            .object(Method::GET, "a/../b//c d", [], Payload::Empty, now)
            .unwrap();
        assert_eq!(req.uri().path(), "/demo-reports/a/../b//c%20d");
        assert_eq!(req.headers()["x-amz-date"], "20231114T221320Z");
        let auth = req.headers()["authorization"].to_str().unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID/20231114/us-east-1/s3/aws4_request")
        );
        assert!(auth.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date"));
    }

    #[test]
    fn list_query_is_canonical() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let page = ListRequest {
            prefix: "a b/+é".into(),
            cursor: Some("x/y=".into()),
            limit: 10,
            folders: true,
        };
        let req = signer().list(&page, now).unwrap();
        assert_eq!(
            req.uri().to_string(),
            "http://127.0.0.1:9001/demo-reports/?continuation-token=x%2Fy%3D&delimiter=%2F&list-type=2&max-keys=10&prefix=a%20b%2F%2B%C3%A9"
        );
    }

    #[test]
    fn signature_depends_on_the_key() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let s = signer();
        let a = s.object(Method::GET, "a", [], Payload::Empty, now).unwrap();
        let b = s.object(Method::GET, "b", [], Payload::Empty, now).unwrap();
        assert_ne!(a.headers()["authorization"], b.headers()["authorization"]);
    }
}

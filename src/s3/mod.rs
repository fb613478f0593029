//! Amazon S3: addressing the bucket, signing requests, and reading the answers.

mod credentials;
mod encryption;
mod endpoint;
mod key;
mod list;
mod multipart;
mod sign;
mod upstream;

pub use credentials::Credentials;
pub use encryption::Encryption;
pub use endpoint::{Addressing, Bucket, Endpoint, InvalidBucket, InvalidEndpoint};
pub use key::{InvalidKey, MAX_KEY_BYTES, ObjectKey, encode_path};
pub use list::{
    ListRequest, ListedObject, Listing, MAX_LIST_KEYS, MAX_LIST_REPLY_BYTES, parse as parse_listing,
};
pub use multipart::{
    ListedPart, MAX_MULTIPART_REPLY_BYTES, PartList, parse_completed, parse_created, parse_parts,
};
pub use upstream::{SAFE_HEADERS, UpstreamError, error_code};

pub(crate) use endpoint::BucketUrl;
pub(crate) use sign::{Payload, Signer};

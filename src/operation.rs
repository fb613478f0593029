//! The operations the gatekeeper can carry out on the bucket.

use std::fmt;
use std::str::FromStr;

/// One S3 operation, as named in grants, the API and the audit log.
///
/// ```
/// use s3_gatekeeper::Operation;
///
/// let op: Operation = "get".parse().unwrap();
/// assert_eq!(op, Operation::Get);
/// assert_eq!(op.to_string(), "get");
/// assert!("GET".parse::<Operation>().is_err(), "names are lower case, exactly");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `GetObject`: read an object's bytes.
    Get,
    /// `HeadObject`: read an object's metadata.
    Head,
    /// `PutObject`: write an object.
    Put,
    /// `ListObjectsV2`: list keys under a prefix.
    List,
    /// `DeleteObject`: remove an object.
    Delete,
}

impl Operation {
    /// Every operation, in a fixed order.
    pub const ALL: [Self; 5] = [Self::Get, Self::Head, Self::Put, Self::List, Self::Delete];

    /// The name used in grants, configuration and the audit log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Head => "head",
            Self::Put => "put",
            Self::List => "list",
            Self::Delete => "delete",
        }
    }

    /// Whether the operation changes the bucket. Writes need a single-use grant id (`jti`).
    pub const fn is_write(self) -> bool {
        matches!(self, Self::Put | Self::Delete)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of `get`, `head`, `put`, `list`, `delete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOperation;

impl fmt::Display for UnknownOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not one of get, head, put, list, delete")
    }
}

impl std::error::Error for UnknownOperation {}

impl FromStr for Operation {
    type Err = UnknownOperation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or(UnknownOperation)
    }
}

//! Operations that need more than one signature: M of N distinct trusted keys.

use crate::Operation;
use crate::grant::Scope;

/// A rule that requests for some operations on some keys need `signatures` grants, each from a
/// different key, such as the vendor's application key and a customer approver's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quorum {
    /// The operations the rule covers.
    pub operations: Vec<Operation>,
    /// The key prefix the rule covers (empty: every key). A `list` is covered when its prefix
    /// lies under this one.
    pub prefix: String,
    /// How many distinct keys must sign.
    pub signatures: usize,
    /// The keys (PASERK ids) that count towards the quorum; `None`: every trusted key.
    pub keys: Option<Vec<String>>,
}

impl Quorum {
    pub(crate) fn covers(&self, op: Operation, target: &Scope) -> bool {
        let path = match target {
            Scope::Key(key) => key.as_str(),
            Scope::Prefix(prefix) => prefix,
        };
        self.operations.contains(&op) && path.starts_with(&self.prefix)
    }

    pub(crate) fn counts(&self, key_id: &str) -> bool {
        self.keys
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k == key_id))
    }
}

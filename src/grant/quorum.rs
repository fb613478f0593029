//! Operations that need more than one signature: M of N distinct trusted keys.

use crate::Operation;
use crate::grant::Scope;

/// A rule that requests for some operations on some keys need `signatures` grants, each from a
/// different key of `keys`, such as the vendor's application key and a customer approver's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quorum {
    /// The operations the rule covers.
    pub operations: Vec<Operation>,
    /// The key prefix the rule covers (empty: every key). A key is covered when it starts with
    /// this prefix; a `list` is covered when its prefix and this one overlap, either starting
    /// with the other, since such a listing can return keys under this prefix.
    pub prefix: String,
    /// How many distinct keys of `keys` must sign.
    pub signatures: usize,
    /// The keys (PASERK ids) that count towards the quorum, in the order the audit log names
    /// their signers.
    pub keys: Vec<String>,
    /// Whether every grant of a request the rule covers must name the same `sub`.
    pub same_sub: bool,
}

impl Quorum {
    pub(crate) fn covers(&self, op: Operation, target: &Scope) -> bool {
        let within = match target {
            Scope::Key(key) => key.as_str().starts_with(&self.prefix),
            // `""`, `f` and `finance` all list `finance/…`.
            Scope::Prefix(prefix) => {
                prefix.starts_with(&self.prefix) || self.prefix.starts_with(prefix.as_str())
            }
        };
        self.operations.contains(&op) && within
    }

    pub(crate) fn counts(&self, key_id: &str) -> bool {
        self.keys.iter().any(|k| k == key_id)
    }

    /// Where a signer with `key_id` comes in the rule's order, if the rule names it.
    pub(crate) fn rank(&self, key_id: &str) -> Option<usize> {
        self.keys.iter().position(|k| k == key_id)
    }
}

//! `GRANT_IN_QUERY` and `GRANT_IN_QUERY_MAX_LIFETIME_SECONDS`: whether grants may come in the URL,
//! for links, and how long such a grant may live.

use crate::config::{ConfigError, Problem, values};

const SWITCH: &str = "GRANT_IN_QUERY";
const LIFETIME: &str = "GRANT_IN_QUERY_MAX_LIFETIME_SECONDS";

/// A link's grant lives at most 5 minutes unless the customer says otherwise: a URL is copied
/// into histories, logs and screenshots, where a header is not.
pub const DEFAULT_LIFETIME: u32 = 5 * 60;

/// The longest a grant in the URL may live, in seconds, or `None` when the customer does not
/// accept grants in the URL (the default). It may not be longer than a header grant's
/// `max_lifetime`; unset, it is [`DEFAULT_LIFETIME`] or that, whichever is shorter.
pub(super) fn parse(
    switch: Option<&str>,
    lifetime: Option<String>,
    max_lifetime: u32,
) -> Result<Option<u32>, ConfigError> {
    let on = match switch {
        None | Some("off") => false,
        Some("on") => true,
        Some(_) => return Err(ConfigError::new(SWITCH, Problem::OneOf(&["on", "off"]))),
    };
    if !on {
        // A lifetime for links that are off is a typo or a misunderstanding, not a no-op.
        return match lifetime {
            Some(_) => Err(ConfigError::new(
                LIFETIME,
                Problem::OnlyWith("GRANT_IN_QUERY = on"),
            )),
            None => Ok(None),
        };
    }
    let default = DEFAULT_LIFETIME.min(max_lifetime);
    values::small_number(lifetime, LIFETIME, default, 1, max_lifetime).map(Some)
}

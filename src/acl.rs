//! The customer's access control list: which networks and countries may use the gatekeeper.
//!
//! The ACL is checked first, before any signature work, so a refused caller costs almost nothing.
//! Deny always wins over allow. Entries are validated when the configuration loads; an entry
//! with host bits set (`10.0.0.1/8`) is refused rather than silently widened or narrowed, since
//! either reading may not be what the customer meant.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use crate::Operation;

/// An ISO 3166-1 alpha-2 country code as Cloudflare reports it (`US`, `GB`; `T1` for Tor).
///
/// ```
/// use s3_gatekeeper::acl::Country;
///
/// assert_eq!("NZ".parse::<Country>().unwrap().as_str(), "NZ");
/// assert!("nz".parse::<Country>().is_err(), "codes are upper case");
/// assert!("NZL".parse::<Country>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

/// Not two upper-case ASCII letters or digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCountry;

impl fmt::Display for InvalidCountry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an ISO 3166-1 alpha-2 code such as US")
    }
}

impl std::error::Error for InvalidCountry {}

impl Country {
    /// Cloudflare's code for requests that arrive through Tor.
    pub const TOR: Self = Self(*b"T1");

    /// Cloudflare's code for a caller it cannot place in any country.
    pub const UNKNOWN: Self = Self(*b"XX");

    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored, so this cannot fail; the fallback keeps the method total.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for Country {
    type Err = InvalidCountry;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            &[a, b]
                if [a, b]
                    .iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) =>
            {
                Ok(Self([a, b]))
            }
            _ => Err(InvalidCountry),
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the edge knows of the caller, read only from `CF-Connecting-IP` and `request.cf`.
///
/// Headers such as `X-Forwarded-For` or `X-Real-IP` are set by the client and are never read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    /// The connecting IP address, if Cloudflare reported a valid one.
    pub ip: Option<IpAddr>,
    /// The country Cloudflare places the IP in, if known.
    pub country: Option<Country>,
}

impl Caller {
    /// The IP every rule sees, the ACL's and the grant's alike: an IPv4 address that arrives as
    /// IPv4-mapped IPv6 (`::ffff:192.0.2.7`) is that IPv4 address.
    pub fn canonical_ip(&self) -> Option<IpAddr> {
        self.ip.map(canonical_ip)
    }
}

/// `ip`, with an IPv4-mapped IPv6 address read as the IPv4 address it carries.
pub(crate) fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// `net`, with a block of IPv4-mapped IPv6 addresses (`::ffff:192.0.2.0/120`) read as the IPv4
/// block it maps (`192.0.2.0/24`), since callers in it are checked as IPv4.
pub(crate) fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .addr()
            .to_ipv4_mapped()
            .and_then(|v4| ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).ok())
            .map_or(net, IpNet::V4),
        _ => net,
    }
}

/// What to do with a caller whose country is unknown, or who arrives through Tor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Verdict {
    /// Let the other rules decide.
    Allow,
    /// Refuse.
    #[default]
    Deny,
}

/// The countries the default ACL allows: the United States, Canada, the United Kingdom,
/// Australia, New Zealand, Ireland and the Netherlands.
pub const DEFAULT_COUNTRIES: [&str; 7] = ["US", "CA", "GB", "AU", "NZ", "IE", "NL"];

/// Network and country rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    pub(crate) ip_allow: Vec<IpNet>,
    pub(crate) ip_deny: Vec<IpNet>,
    pub(crate) country_allow: Vec<Country>,
    pub(crate) country_deny: Vec<Country>,
    pub(crate) unknown_country: Verdict,
    pub(crate) tor: Verdict,
    /// Operations exempt from the IP allow list (never from the deny list).
    pub(crate) ip_allow_exempt: Vec<Operation>,
}

impl Default for Acl {
    /// Every IP address, the [`DEFAULT_COUNTRIES`], and no unknown country or Tor.
    fn default() -> Self {
        Self {
            ip_allow: vec![
                IpNet::V4(ipnet::Ipv4Net::default()),
                IpNet::V6(ipnet::Ipv6Net::default()),
            ],
            ip_deny: Vec::new(),
            country_allow: DEFAULT_COUNTRIES
                .iter()
                .filter_map(|c| c.parse().ok())
                .collect(),
            country_deny: Vec::new(),
            unknown_country: Verdict::Deny,
            tor: Verdict::Deny,
            ip_allow_exempt: Vec::new(),
        }
    }
}

/// Why the ACL refused a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclDenial {
    /// No valid `CF-Connecting-IP`.
    IpUnknown,
    /// The IP is in a deny list.
    IpDenied,
    /// The IP is in no allow list.
    IpNotAllowed,
    /// The edge could not place the IP in a country (no country, or `XX`), and unknown
    /// countries are refused.
    CountryUnknown,
    /// The request came through Tor, which is refused.
    Tor,
    /// The country is in the deny list.
    CountryDenied,
    /// The country is not in the allow list.
    CountryNotAllowed,
}

impl AclDenial {
    /// Every kind, for checks that every code is documented.
    pub(crate) const ALL: [Self; 7] = [
        Self::IpUnknown,
        Self::IpDenied,
        Self::IpNotAllowed,
        Self::CountryUnknown,
        Self::Tor,
        Self::CountryDenied,
        Self::CountryNotAllowed,
    ];
}

impl AclDenial {
    /// The stable code in replies and the audit log.
    pub fn code(self) -> &'static str {
        match self {
            Self::IpUnknown => "ip_unknown",
            Self::IpDenied => "ip_denied",
            Self::IpNotAllowed => "ip_not_allowed",
            Self::CountryUnknown => "country_unknown",
            Self::Tor => "country_tor",
            Self::CountryDenied => "country_denied",
            Self::CountryNotAllowed => "country_not_allowed",
        }
    }
}

impl fmt::Display for AclDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for AclDenial {}

impl Acl {
    /// Checks the caller's network, then its country, for `operation` (`None` when the request
    /// names no operation the API has; it then meets every rule).
    pub fn check(&self, caller: &Caller, operation: Option<Operation>) -> Result<(), AclDenial> {
        let ip = caller.canonical_ip().ok_or(AclDenial::IpUnknown)?;
        if self.ip_deny.iter().any(|net| net.contains(&ip)) {
            return Err(AclDenial::IpDenied);
        }
        let exempt = operation.is_some_and(|op| self.ip_allow_exempt.contains(&op));
        if !exempt && !self.ip_allow.iter().any(|net| net.contains(&ip)) {
            return Err(AclDenial::IpNotAllowed);
        }
        // `XX` is how Cloudflare says it could not place the caller: unknown, as no country is.
        match caller.country.filter(|c| *c != Country::UNKNOWN) {
            None => match self.unknown_country {
                Verdict::Allow => Ok(()),
                Verdict::Deny => Err(AclDenial::CountryUnknown),
            },
            Some(Country::TOR) if self.tor == Verdict::Deny => Err(AclDenial::Tor),
            Some(Country::TOR) => Ok(()),
            Some(country) if self.country_deny.contains(&country) => Err(AclDenial::CountryDenied),
            Some(country) if self.country_allow.contains(&country) => Ok(()),
            Some(_) => Err(AclDenial::CountryNotAllowed),
        }
    }
}

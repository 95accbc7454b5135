//! Which network addresses a crawler may connect to.
//!
//! A lead list is untrusted input: a "website" can name `localhost`, a private address or the
//! cloud metadata service. Names are resolved here ([`SafeResolver`]) and forbidden addresses
//! are dropped before any connection; IP-literal URLs are checked by [`check_ip`]; and the
//! address a response actually came from is checked again, so a DNS answer cannot swap a private
//! address in after the check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why an address is refused, or `None` when it is a public unicast address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_reason(v4);
            }
            let seg = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                Some("unique local (private)")
            } else if (seg[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if seg[0] == 0x64 && seg[1] == 0xff9b {
                // NAT64: the embedded IPv4 decides.
                let v4 = Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                );
                v4_reason(v4)
            } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
                Some("documentation")
            } else if v6 == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
                Some("cloud metadata")
            } else {
                None
            }
        }
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        // 169.254.169.254 (cloud metadata) is in here.
        Some(if o == [169, 254, 169, 254] {
            "cloud metadata"
        } else {
            "link-local"
        })
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("carrier-grade NAT")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || ip.is_multicast() || o[0] >= 240 {
        Some("broadcast, multicast or reserved")
    } else if (o[0] == 192 && o[1] == 0 && o[2] == 2)
        || (o[0] == 198 && o[1] == 51 && o[2] == 100)
        || (o[0] == 203 && o[1] == 0 && o[2] == 113)
    {
        Some("documentation")
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        Some("benchmarking")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("IETF protocol assignments")
    } else {
        None
    }
}

/// `Err(reason)` when `ip` may not be fetched under this policy.
pub fn check_ip(ip: IpAddr, allow_private: bool) -> Result<(), &'static str> {
    match forbidden_reason(ip) {
        Some(r) if !allow_private => Err(r),
        _ => Ok(()),
    }
}

/// DNS resolution that drops forbidden addresses (all of them allowed when configured).
#[derive(Debug, Clone)]
pub struct SafeResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for SafeResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let total = addrs.len();
            let mut first_reason = None;
            let ok: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| match check_ip(a.ip(), allow) {
                    Ok(()) => true,
                    Err(r) => {
                        first_reason.get_or_insert(r);
                        false
                    }
                })
                .collect();
            if ok.is_empty() {
                let msg = match first_reason {
                    Some(r) if total > 0 => {
                        format!("{host} resolves only to forbidden addresses ({r})")
                    }
                    _ => format!("{host} has no address"),
                };
                return Err(
                    Box::new(ForbiddenAddress(msg)) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The name did not resolve: not worth retrying within a crawl.
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup failed: {0}")]
pub struct DnsFailure(pub String);

/// Error raised inside the resolver; recognised when classifying fetch errors.
#[derive(Debug, thiserror::Error)]
#[error("forbidden address: {0}")]
pub struct ForbiddenAddress(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        let f = |s: &str| forbidden_reason(s.parse().unwrap());
        assert_eq!(f("127.0.0.1"), Some("loopback"));
        assert_eq!(f("127.0.20.7"), Some("loopback"));
        assert_eq!(f("10.1.2.3"), Some("private"));
        assert_eq!(f("172.16.0.1"), Some("private"));
        assert_eq!(f("192.168.1.1"), Some("private"));
        assert_eq!(f("169.254.169.254"), Some("cloud metadata"));
        assert_eq!(f("100.64.0.1"), Some("carrier-grade NAT"));
        assert_eq!(f("0.0.0.0"), Some("unspecified"));
        assert_eq!(f("::1"), Some("loopback"));
        assert_eq!(f("fe80::1"), Some("link-local"));
        assert_eq!(f("fd12::1"), Some("unique local (private)"));
        assert_eq!(f("::ffff:10.0.0.1"), Some("private"));
        assert_eq!(f("64:ff9b::a00:1"), Some("private"));
        assert_eq!(f("fd00:ec2::254"), Some("unique local (private)"));
        assert_eq!(f("93.184.216.34"), None);
        assert_eq!(f("2606:4700::1111"), None);
        assert!(check_ip("127.0.0.1".parse().unwrap(), true).is_ok());
    }
}

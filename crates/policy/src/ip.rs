//! CIDR ranges for `IpAddress`/`NotIpAddress` (IPv4 and IPv6).

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `203.0.113.0/24`, `2001:db8::/32`, or a bare address (a single host).
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(u128::from(u32::from(net)) << 96, u128::from(u32::from(ip)) << 96, self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(u128::from(net), u128::from(ip), self.prefix),
            // An IPv4 address written in IPv6's mapped form is still that IPv4 address.
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn same_prefix(a: u128, b: u128, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - u32::from(prefix));
    a & mask == b & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(net: &str, ip: &str) -> bool {
        Cidr::parse(net).is_some_and(|n| ip.parse().is_ok_and(|ip| n.contains(ip)))
    }

    #[test]
    fn ranges() {
        assert!(c("203.0.113.0/24", "203.0.113.77"));
        assert!(!c("203.0.113.0/24", "203.0.114.1"));
        assert!(c("0.0.0.0/0", "8.8.8.8"));
        assert!(c("10.0.0.1", "10.0.0.1"));
        assert!(!c("10.0.0.1", "10.0.0.2"));
        assert!(c("2001:db8::/32", "2001:db8:1::5"));
        assert!(!c("2001:db8::/32", "2001:db9::5"));
        assert!(!c("2001:db8::/32", "10.0.0.1"));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
    }
}

//! Who the client is when a proxy stands in between: `Forwarded` (RFC 7239),
//! `X-Forwarded-For` and `X-Forwarded-Proto`, believed only from proxies we trust.
//!
//! Behind a reverse proxy every connection comes from the proxy, so the TCP peer's address
//! says nothing about the client. The proxy writes what it saw into a header instead, and
//! each proxy on the way appends the address it received the request from:
//!
//! ```text
//! client 203.0.113.7 ──► proxy A 10.0.0.2 ──► proxy B 10.0.0.3 ──► groundup
//!   X-Forwarded-For: 203.0.113.7, 10.0.0.2          (TCP peer: 10.0.0.3)
//!   Forwarded: for=203.0.113.7, for=10.0.0.2
//! ```
//!
//! Anyone can send these headers, so they mean nothing unless the peer is a proxy we were
//! told to trust ([`TrustedProxies`], from `--trusted-proxy CIDR`). Then the list is read
//! from the right, skipping addresses that are themselves trusted proxies: the first one
//! that is not is the client. Addresses to its left were written by the client itself (or
//! by proxies we do not know) and could say anything; a client can put
//! `X-Forwarded-For: 1.2.3.4` in its own request, but our proxy appends the real address
//! after it, and that is the one we take.
//!
//! The rules, in order:
//! 1. The peer is not a trusted proxy: the client is the peer, over plain `http`, whatever
//!    the headers say.
//! 2. `Forwarded` is present: its `for=` parameters are the list (and `proto=` of the chosen
//!    element the scheme). It is the standard, so it wins over the `X-` headers.
//! 3. Else `X-Forwarded-For` is the list and the rightmost `X-Forwarded-Proto` value the
//!    scheme (the one our own proxy wrote).
//! 4. Neither: the client is the peer, and the scheme `http`.
//! 5. Walking right to left, every address is a trusted proxy: the leftmost is the client.
//!
//! A header that cannot be read (a node that is not an address, `for=unknown`, a scheme
//! that is neither `http` nor `https`) leaves the client as the peer, with the reason
//! returned for a debug log line: a proxy's odd header must not turn into an error page.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::Headers;

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a `--trusted-proxy` value is not an address block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrError(String);

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an address or address/prefix: {}", self.0)
    }
}

impl std::error::Error for CidrError {}

impl FromStr for Cidr {
    type Err = CidrError;

    /// `ADDRESS` (a block of one) or `ADDRESS/PREFIX`, with the prefix at most 32 bits for
    /// IPv4 and 128 for IPv6. Bits past the prefix must be zero (`10.0.0.1/8` is refused,
    /// since it reads like a mistake).
    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let error = || CidrError(text.to_owned());
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.trim().parse().map_err(|_| error())?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) if prefix.bytes().all(|b| b.is_ascii_digit()) && !prefix.is_empty() => {
                prefix.parse::<u8>().map_err(|_| error())?
            }
            Some(_) => return Err(error()),
            None => bits,
        };
        if prefix > bits {
            return Err(error());
        }
        let cidr = Cidr { network, prefix };
        if masked(network, prefix) != network {
            return Err(error());
        }
        Ok(cidr)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    /// Whether `address` is in this block. An IPv4 address written as IPv6
    /// (`::ffff:10.0.0.1`, as a dual-stack socket reports it) counts as the IPv4 address.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        address.is_ipv4() == self.network.is_ipv4() && masked(address, self.prefix) == self.network
    }
}

/// `::ffff:a.b.c.d` as `a.b.c.d`; any other address as it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// `address` with the bits past `prefix` cleared.
fn masked(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// The scheme the client used to reach the first proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain `http`.
    Http,
    /// `https`: TLS ended at a proxy.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn parse(text: &str) -> Option<Scheme> {
        if text.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else if text.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else {
            None
        }
    }
}

/// Who sent a request, as far as we can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The client's address: the TCP peer, or the address a trusted proxy forwarded.
    pub address: IpAddr,
    /// The scheme it used.
    pub scheme: Scheme,
}

impl Client {
    /// A client connected to us directly, over plain TCP.
    pub fn direct(peer: IpAddr) -> Client {
        Client {
            address: canonical(peer),
            scheme: Scheme::Http,
        }
    }
}

/// Why forwarding headers from a trusted proxy were not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardedError {
    /// A `Forwarded` element or `X-Forwarded-For` entry that is not an address: its text.
    NotAnAddress(String),
    /// A `Forwarded` field off RFC 7239's grammar.
    Malformed,
    /// A scheme other than `http` or `https`.
    UnknownScheme(String),
}

impl fmt::Display for ForwardedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardedError::NotAnAddress(node) => write!(f, "not an address: {node:?}"),
            ForwardedError::Malformed => f.write_str("Forwarded is off RFC 7239's grammar"),
            ForwardedError::UnknownScheme(scheme) => write!(f, "unknown scheme: {scheme:?}"),
        }
    }
}

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Trust these blocks. An empty list trusts nobody: every client is its TCP peer.
    pub fn new(blocks: Vec<Cidr>) -> TrustedProxies {
        TrustedProxies(blocks)
    }

    /// Whether `address` is one of the trusted proxies.
    pub fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|block| block.contains(address))
    }

    /// The blocks, for the start-up log.
    pub fn blocks(&self) -> &[Cidr] {
        &self.0
    }

    /// Who sent a request that arrived from `peer` with `headers` (see the module docs).
    ///
    /// # Errors
    ///
    /// When the peer is trusted but its forwarding headers cannot be read: the peer as the
    /// client, and why, for a debug log line.
    pub fn client(
        &self,
        peer: IpAddr,
        headers: &Headers,
    ) -> Result<Client, (Client, ForwardedError)> {
        let direct = Client::direct(peer);
        if !self.trusts(peer) {
            return Ok(direct);
        }
        let hops = if headers.get("forwarded").is_some() {
            forwarded_hops(headers)
        } else if headers.get("x-forwarded-for").is_some() {
            x_forwarded_hops(headers)
        } else {
            return Ok(direct);
        };
        let hops = hops.map_err(|error| (direct, error))?;
        // Right to left, past our own proxies; if every hop is one, the leftmost.
        let chosen = hops
            .iter()
            .rev()
            .find(|hop| !self.trusts(hop.address))
            .or_else(|| hops.first());
        match chosen {
            Some(hop) => Ok(Client {
                address: canonical(hop.address),
                scheme: hop.scheme,
            }),
            None => Ok(direct),
        }
    }
}

/// One proxy hop: the address it received the request from, and over which scheme.
#[derive(Debug, Clone, Copy)]
struct Hop {
    address: IpAddr,
    scheme: Scheme,
}

/// The hops in every `Forwarded` field, in order (RFC 7239 §4):
///
/// ```text
/// Forwarded   = 1#forwarded-element
/// forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
/// forwarded-pair = token "=" value
/// value       = token / quoted-string
/// ```
///
/// An element without `for=` says nothing about the client and is skipped; one whose
/// `for=` is not an address (`unknown`, an obfuscated `_name`) makes the field unusable,
/// since the hops to its left cannot be placed.
fn forwarded_hops(headers: &Headers) -> Result<Vec<Hop>, ForwardedError> {
    let mut hops = Vec::new();
    for field in headers.get_all("forwarded") {
        let field = std::str::from_utf8(field).map_err(|_| ForwardedError::Malformed)?;
        for element in split_outside_quotes(field, ',') {
            let mut address = None;
            let mut scheme = Scheme::Http;
            for pair in split_outside_quotes(element, ';') {
                let pair = pair.trim();
                if pair.is_empty() {
                    continue;
                }
                let (name, value) = pair.split_once('=').ok_or(ForwardedError::Malformed)?;
                let value = unquote(value.trim()).ok_or(ForwardedError::Malformed)?;
                if name.trim().eq_ignore_ascii_case("for") {
                    address = Some(node_address(&value)?);
                } else if name.trim().eq_ignore_ascii_case("proto") {
                    scheme = Scheme::parse(&value)
                        .ok_or_else(|| ForwardedError::UnknownScheme(value.clone()))?;
                }
            }
            if let Some(address) = address {
                hops.push(Hop { address, scheme });
            }
        }
    }
    Ok(hops)
}

/// The hops in `X-Forwarded-For` (a comma-separated list of addresses, over as many fields
/// as there are), each with the scheme from the rightmost `X-Forwarded-Proto`.
fn x_forwarded_hops(headers: &Headers) -> Result<Vec<Hop>, ForwardedError> {
    let scheme = match headers
        .get_all("x-forwarded-proto")
        .filter_map(|field| std::str::from_utf8(field).ok())
        .flat_map(|field| field.split(','))
        .map(str::trim)
        .last()
    {
        Some(text) => {
            Scheme::parse(text).ok_or_else(|| ForwardedError::UnknownScheme(text.to_owned()))?
        }
        None => Scheme::Http,
    };
    let mut hops = Vec::new();
    for field in headers.get_all("x-forwarded-for") {
        let field = std::str::from_utf8(field).map_err(|_| ForwardedError::Malformed)?;
        for node in field
            .split(',')
            .map(str::trim)
            .filter(|node| !node.is_empty())
        {
            hops.push(Hop {
                address: node_address(node)?,
                scheme,
            });
        }
    }
    Ok(hops)
}

/// The address in a node: `192.0.2.43`, `192.0.2.43:47011`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn node_address(node: &str) -> Result<IpAddr, ForwardedError> {
    let not_an_address = || ForwardedError::NotAnAddress(node.to_owned());
    if let Some(rest) = node.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(not_an_address)?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return Err(not_an_address());
        }
        return inside
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| not_an_address());
    }
    if let Ok(address) = node.parse::<IpAddr>() {
        return Ok(address);
    }
    match node.rsplit_once(':') {
        Some((v4, port)) if is_port(port) => v4
            .parse::<Ipv4Addr>()
            .map(IpAddr::V4)
            .map_err(|_| not_an_address()),
        _ => Err(not_an_address()),
    }
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Splits on `separator` where it is not inside a quoted-string.
fn split_outside_quotes(text: &str, separator: char) -> impl Iterator<Item = &str> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            _ if c == separator && !quoted => {
                pieces.push(&text[start..at]);
                start = at + c.len_utf8();
            }
            _ => {}
        }
    }
    pieces.push(&text[start..]);
    pieces.into_iter()
}

/// A token as it is, a quoted-string without its quotes and escapes; `None` for an
/// unterminated quote.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else {
        return (!value.contains('"')).then(|| value.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(fields: &[(&str, &str)]) -> Headers {
        let mut headers = Headers::default();
        for (name, value) in fields {
            headers.push(name, value.as_bytes());
        }
        headers
    }

    fn trusting(blocks: &[&str]) -> TrustedProxies {
        TrustedProxies::new(blocks.iter().map(|b| b.parse().unwrap()).collect())
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn client_of(proxies: &TrustedProxies, peer: &str, fields: &[(&str, &str)]) -> Client {
        proxies.client(ip(peer), &headers(fields)).unwrap()
    }

    #[test]
    fn cidr_blocks_parse_and_contain() {
        let block: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(block.contains(ip("10.1.255.3")));
        assert!(!block.contains(ip("10.2.0.1")));
        assert!(
            block.contains(ip("::ffff:10.1.0.9")),
            "IPv4 as IPv6 counts as IPv4"
        );
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("10.1.0.1")));
        let everything: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(ip("203.0.113.9")));
    }

    #[test]
    fn cidr_mistakes_are_refused() {
        for bad in [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "nope",
            "",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let proxies = trusting(&["10.0.0.0/8"]);
        let fields = [
            ("X-Forwarded-For", "1.2.3.4"),
            ("X-Forwarded-Proto", "https"),
        ];
        let client = client_of(&proxies, "203.0.113.7", &fields);
        assert_eq!(client, Client::direct(ip("203.0.113.7")));
        assert_eq!(client.scheme, Scheme::Http);
    }

    #[test]
    fn the_rightmost_untrusted_address_is_the_client() {
        let proxies = trusting(&["10.0.0.0/8"]);
        // The client wrote 1.2.3.4 itself; proxy 10.0.0.2 appended the address it saw.
        let fields = [("X-Forwarded-For", "1.2.3.4, 203.0.113.7, 10.0.0.2")];
        assert_eq!(
            client_of(&proxies, "10.0.0.3", &fields).address,
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_chain_of_trusted_proxies_gives_its_leftmost() {
        let proxies = trusting(&["10.0.0.0/8"]);
        let fields = [("X-Forwarded-For", "10.0.0.9, 10.0.0.2")];
        assert_eq!(
            client_of(&proxies, "10.0.0.3", &fields).address,
            ip("10.0.0.9")
        );
    }

    #[test]
    fn x_forwarded_lists_may_span_fields_and_carry_ports() {
        let proxies = trusting(&["127.0.0.1"]);
        let fields = [
            ("X-Forwarded-For", "198.51.100.1:5555"),
            ("X-Forwarded-For", "[2001:db8::7]:4711"),
            ("X-Forwarded-Proto", "http, HTTPS"),
        ];
        let client = client_of(&proxies, "127.0.0.1", &fields);
        assert_eq!(client.address, ip("2001:db8::7"));
        assert_eq!(client.scheme, Scheme::Https, "the rightmost scheme");
    }

    #[test]
    fn forwarded_wins_and_carries_its_own_scheme() {
        let proxies = trusting(&["127.0.0.1"]);
        let fields = [
            ("X-Forwarded-For", "192.0.2.99"),
            (
                "Forwarded",
                r#"for=192.0.2.60;proto=https;by=203.0.113.43, for="[2001:db8:cafe::17]:4711""#,
            ),
        ];
        let client = client_of(&proxies, "127.0.0.1", &fields);
        assert_eq!(client.address, ip("2001:db8:cafe::17"));
        assert_eq!(
            client.scheme,
            Scheme::Http,
            "the chosen element said no proto"
        );
        let fields = [("Forwarded", "for=192.0.2.60;proto=https")];
        assert_eq!(
            client_of(&proxies, "127.0.0.1", &fields).scheme,
            Scheme::Https
        );
    }

    #[test]
    fn forwarded_quotes_hold_separators() {
        let proxies = trusting(&["127.0.0.1"]);
        let fields = [("Forwarded", r#"for="192.0.2.43:47011";host="a,b;c""#)];
        assert_eq!(
            client_of(&proxies, "127.0.0.1", &fields).address,
            ip("192.0.2.43")
        );
    }

    #[test]
    fn unreadable_headers_leave_the_peer_and_say_why() {
        let proxies = trusting(&["127.0.0.1"]);
        for (name, value) in [
            ("X-Forwarded-For", "203.0.113.7, not-an-address"),
            ("X-Forwarded-For", "203.0.113.7:99999999"),
            ("Forwarded", "for=unknown"),
            ("Forwarded", "for=_hidden"),
            ("Forwarded", "for"),
            ("Forwarded", r#"for="192.0.2.1"#),
            ("Forwarded", "for=192.0.2.1;proto=gopher"),
        ] {
            let (client, _why) = proxies
                .client(ip("127.0.0.1"), &headers(&[(name, value)]))
                .unwrap_err();
            assert_eq!(client, Client::direct(ip("127.0.0.1")), "{name}: {value}");
        }
    }

    #[test]
    fn a_trusted_peer_without_headers_is_the_client() {
        let proxies = trusting(&["127.0.0.1"]);
        assert_eq!(
            client_of(&proxies, "127.0.0.1", &[]),
            Client::direct(ip("127.0.0.1"))
        );
    }

    #[test]
    fn nobody_is_trusted_by_default() {
        let proxies = TrustedProxies::default();
        let fields = [("X-Forwarded-For", "1.2.3.4")];
        assert_eq!(
            client_of(&proxies, "127.0.0.1", &fields).address,
            ip("127.0.0.1")
        );
    }
}

//! inet, cidr (`inet_net_ntop`), macaddr and macaddr8.

use std::fmt::Write;

use super::Malformed;

/// `PGSQL_AF_INET` / `PGSQL_AF_INET6` on Linux.
const PGSQL_AF_INET: u8 = 2;
const PGSQL_AF_INET6: u8 = 3;

pub fn inet_out(v: &[u8], is_cidr: bool, out: &mut String) -> Result<(), Malformed> {
    let (&family, rest) = v
        .split_first()
        .ok_or_else(|| Malformed::new("empty value"))?;
    let (&bits, addr) = rest
        .split_first()
        .ok_or_else(|| Malformed::new("no netmask length"))?;
    let start = out.len();
    match (family, addr.len()) {
        (PGSQL_AF_INET, 4) => {
            if bits > 32 {
                return Err(Malformed(format!("IPv4 netmask length {bits}")));
            }
            let _ = write!(out, "{}.{}.{}.{}", addr[0], addr[1], addr[2], addr[3]);
            if bits != 32 {
                let _ = write!(out, "/{bits}");
            }
        }
        (PGSQL_AF_INET6, 16) => {
            if bits > 128 {
                return Err(Malformed(format!("IPv6 netmask length {bits}")));
            }
            ipv6(addr, out);
            if bits != 128 {
                let _ = write!(out, "/{bits}");
            }
        }
        _ => {
            return Err(Malformed(format!(
                "address family {family} with {} address bytes",
                addr.len()
            )))
        }
    }
    if is_cidr && !out[start..].contains('/') {
        let _ = write!(out, "/{bits}");
    }
    Ok(())
}

/// `inet_net_ntop_ipv6`: the longest run (first if tied) of two or more zero words becomes
/// `::`; IPv4-compatible and IPv4-mapped addresses end in dotted quad.
fn ipv6(src: &[u8], out: &mut String) {
    let words: Vec<u16> = src
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let (mut best_base, mut best_len) = (None::<usize>, 0usize);
    let mut cur: Option<(usize, usize)> = None;
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            cur = Some(match cur {
                None => (i, 1),
                Some((b, l)) => (b, l + 1),
            });
        } else if let Some((b, l)) = cur.take() {
            if best_base.is_none() || l > best_len {
                best_base = Some(b);
                best_len = l;
            }
        }
    }
    if let Some((b, l)) = cur {
        if best_base.is_none() || l > best_len {
            best_base = Some(b);
            best_len = l;
        }
    }
    if best_len < 2 {
        best_base = None;
    }
    for (i, &w) in words.iter().enumerate() {
        if let Some(b) = best_base {
            if i >= b && i < b + best_len {
                if i == b {
                    out.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6
            && best_base == Some(0)
            && (best_len == 6
                || (best_len == 7 && words[7] != 0x0001)
                || (best_len == 5 && words[5] == 0xffff))
        {
            let _ = write!(out, "{}.{}.{}.{}", src[12], src[13], src[14], src[15]);
            return;
        }
        let _ = write!(out, "{w:x}");
    }
    if let Some(b) = best_base {
        if b + best_len == 8 {
            out.push(':');
        }
    }
}

pub fn macaddr_out(v: &[u8], len: usize, out: &mut String) -> Result<(), Malformed> {
    if v.len() != len {
        return Err(Malformed(format!(
            "expected {len} bytes, found {}",
            v.len()
        )));
    }
    for (i, b) in v.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02x}");
    }
    Ok(())
}

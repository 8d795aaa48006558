//! xml: stored as the text that was input; `xml_out` rewrites its XML declaration
//! (`parse_xml_decl` + `print_xml_decl`, for output in the server encoding, UTF-8).
//!
//! A declaration is printed only when it says a version other than 1.0 or has a standalone
//! property; it is then rewritten as `<?xml version="…" standalone="…"?>` (no encoding). When
//! none is printed, one newline right after the stored declaration (or at the start of a value
//! without one) is dropped. A declaration that does not parse leaves the value unchanged.

use super::{utf8, Malformed};

const DEFAULT_VERSION: &[u8] = b"1.0";

pub fn xml_out(v: &[u8], out: &mut String) -> Result<(), Malformed> {
    let text = utf8(v)?;
    let Some(decl) = parse_xml_decl(v) else {
        out.push_str(text);
        return Ok(());
    };
    let mut len = decl.len;
    let print = decl.version.is_some_and(|v| v != DEFAULT_VERSION) || decl.standalone.is_some();
    if print {
        out.push_str("<?xml version=\"");
        // the declaration is ASCII, checked by parse_xml_decl
        out.push_str(
            std::str::from_utf8(decl.version.unwrap_or(DEFAULT_VERSION)).unwrap_or_default(),
        );
        out.push('"');
        match decl.standalone {
            Some(true) => out.push_str(" standalone=\"yes\""),
            Some(false) => out.push_str(" standalone=\"no\""),
            None => {}
        }
        out.push_str("?>");
    } else if v.get(len) == Some(&b'\n') {
        len += 1;
    }
    out.push_str(&text[len..]);
    Ok(())
}

struct XmlDecl<'a> {
    /// Bytes the declaration takes (0 without one).
    len: usize,
    version: Option<&'a [u8]>,
    standalone: Option<bool>,
}

/// `xmlIsBlank_ch`.
fn blank(b: Option<&u8>) -> bool {
    matches!(b, Some(b' ' | b'\t' | b'\n' | b'\r'))
}

/// `parse_xml_decl`: `None` where PostgreSQL reports an error (and prints the value as is).
fn parse_xml_decl(s: &[u8]) -> Option<XmlDecl<'_>> {
    let mut decl = XmlDecl {
        len: 0,
        version: None,
        standalone: None,
    };
    if !s.starts_with(b"<?xml") {
        return Some(decl);
    }
    // `<?xml-stylesheet …?>` and the like are processing instructions, not a declaration. A
    // non-ASCII character there either is a name character (no declaration) or fails the
    // space check below (an error); both print the value unchanged.
    if let Some(&c) = s.get(5) {
        if c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':') {
            return Some(decl);
        }
    }
    let mut p = 5;
    let skip = |p: &mut usize| {
        while blank(s.get(*p)) {
            *p += 1;
        }
    };
    let quoted = |p: &mut usize| -> Option<&[u8]> {
        let q = *s.get(*p).filter(|&&c| c == b'\'' || c == b'"')?;
        let end = *p + 1 + s[*p + 1..].iter().position(|&c| c == q)?;
        let value = &s[*p + 1..end];
        *p = end + 1;
        Some(value)
    };

    // version
    if !blank(s.get(p)) {
        return None;
    }
    skip(&mut p);
    if !s[p..].starts_with(b"version") {
        return None;
    }
    p += 7;
    skip(&mut p);
    if s.get(p) != Some(&b'=') {
        return None;
    }
    p += 1;
    skip(&mut p);
    decl.version = Some(quoted(&mut p)?);

    // encoding (not printed: output is in the server encoding)
    let save = p;
    skip(&mut p);
    if s[p..].starts_with(b"encoding") {
        if !blank(s.get(save)) {
            return None;
        }
        p += 8;
        skip(&mut p);
        if s.get(p) != Some(&b'=') {
            return None;
        }
        p += 1;
        skip(&mut p);
        quoted(&mut p)?;
    } else {
        p = save;
    }

    // standalone
    let save = p;
    skip(&mut p);
    if s[p..].starts_with(b"standalone") {
        if !blank(s.get(save)) {
            return None;
        }
        p += 10;
        skip(&mut p);
        if s.get(p) != Some(&b'=') {
            return None;
        }
        p += 1;
        skip(&mut p);
        let rest = &s[p..];
        if rest.starts_with(b"'yes'") || rest.starts_with(b"\"yes\"") {
            decl.standalone = Some(true);
            p += 5;
        } else if rest.starts_with(b"'no'") || rest.starts_with(b"\"no\"") {
            decl.standalone = Some(false);
            p += 4;
        } else {
            return None;
        }
    } else {
        p = save;
    }

    skip(&mut p);
    if !s[p..].starts_with(b"?>") {
        return None;
    }
    p += 2;
    if !s[..p].is_ascii() {
        return None;
    }
    decl.len = p;
    Some(decl)
}

#[cfg(test)]
mod tests {
    use super::xml_out;

    fn out(s: &str) -> String {
        let mut o = String::new();
        xml_out(s.as_bytes(), &mut o).unwrap();
        o
    }

    #[test]
    fn declarations() {
        assert_eq!(out("<a/>"), "<a/>");
        assert_eq!(out("\n<a/>"), "<a/>");
        assert_eq!(out("<?xml version=\"1.0\"?>\n<a/>"), "<a/>");
        assert_eq!(out("<?xml version='1.0' encoding='LATIN1'?><a/>"), "<a/>");
        assert_eq!(
            out("<?xml version = '1.1'  standalone = 'no' ?>\n<a/>"),
            "<?xml version=\"1.1\" standalone=\"no\"?>\n<a/>"
        );
        assert_eq!(
            out("<?xml-stylesheet href=\"a\"?><a/>"),
            "<?xml-stylesheet href=\"a\"?><a/>"
        );
        assert_eq!(out("<?xml version=\"1.0\"?"), "<?xml version=\"1.0\"?");
        assert_eq!(
            out("<?xml version=\"1.0\" standalone=\"maybe\"?>"),
            "<?xml version=\"1.0\" standalone=\"maybe\"?>"
        );
        assert_eq!(
            out("<?xml version=\"1.0\"encoding=\"UTF8\"?>\n<a/>"),
            "<?xml version=\"1.0\"encoding=\"UTF8\"?>\n<a/>"
        );
        assert_eq!(
            out("<?xml version=\"1.é\"?>\n<a/>"),
            "<?xml version=\"1.é\"?>\n<a/>"
        );
    }
}

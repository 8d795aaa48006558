//! `quote_identifier` / `quote_qualified_identifier`: identifiers are quoted unless they are
//! lower-case, start with a letter or underscore, and are not a keyword other than an
//! unreserved one.

/// Keywords of every category but UNRESERVED (`kwlist.h`), with the first major version that
/// has them. Quoting must not depend on which server wrote the WAL beyond these.
const NON_UNRESERVED: &[(&str, u32)] = &[
    ("all", 0),
    ("analyse", 0),
    ("analyze", 0),
    ("and", 0),
    ("any", 0),
    ("array", 0),
    ("as", 0),
    ("asc", 0),
    ("asymmetric", 0),
    ("authorization", 0),
    ("between", 0),
    ("bigint", 0),
    ("binary", 0),
    ("bit", 0),
    ("boolean", 0),
    ("both", 0),
    ("case", 0),
    ("cast", 0),
    ("char", 0),
    ("character", 0),
    ("check", 0),
    ("coalesce", 0),
    ("collate", 0),
    ("collation", 0),
    ("column", 0),
    ("concurrently", 0),
    ("constraint", 0),
    ("create", 0),
    ("cross", 0),
    ("current_catalog", 0),
    ("current_date", 0),
    ("current_role", 0),
    ("current_schema", 0),
    ("current_time", 0),
    ("current_timestamp", 0),
    ("current_user", 0),
    ("dec", 0),
    ("decimal", 0),
    ("default", 0),
    ("deferrable", 0),
    ("desc", 0),
    ("distinct", 0),
    ("do", 0),
    ("else", 0),
    ("end", 0),
    ("except", 0),
    ("exists", 0),
    ("extract", 0),
    ("false", 0),
    ("fetch", 0),
    ("float", 0),
    ("for", 0),
    ("foreign", 0),
    ("freeze", 0),
    ("from", 0),
    ("full", 0),
    ("grant", 0),
    ("greatest", 0),
    ("group", 0),
    ("grouping", 0),
    ("having", 0),
    ("ilike", 0),
    ("in", 0),
    ("initially", 0),
    ("inner", 0),
    ("inout", 0),
    ("int", 0),
    ("integer", 0),
    ("intersect", 0),
    ("interval", 0),
    ("into", 0),
    ("is", 0),
    ("isnull", 0),
    ("join", 0),
    ("json", 16),
    ("json_array", 16),
    ("json_arrayagg", 16),
    ("json_exists", 17),
    ("json_object", 16),
    ("json_objectagg", 16),
    ("json_query", 17),
    ("json_scalar", 16),
    ("json_serialize", 16),
    ("json_table", 17),
    ("json_value", 17),
    ("lateral", 0),
    ("leading", 0),
    ("least", 0),
    ("left", 0),
    ("like", 0),
    ("limit", 0),
    ("localtime", 0),
    ("localtimestamp", 0),
    ("merge_action", 17),
    ("national", 0),
    ("natural", 0),
    ("nchar", 0),
    ("none", 0),
    ("normalize", 0),
    ("not", 0),
    ("notnull", 0),
    ("null", 0),
    ("nullif", 0),
    ("numeric", 0),
    ("offset", 0),
    ("on", 0),
    ("only", 0),
    ("or", 0),
    ("order", 0),
    ("out", 0),
    ("outer", 0),
    ("overlaps", 0),
    ("overlay", 0),
    ("placing", 0),
    ("position", 0),
    ("precision", 0),
    ("primary", 0),
    ("real", 0),
    ("references", 0),
    ("returning", 0),
    ("right", 0),
    ("row", 0),
    ("select", 0),
    ("session_user", 0),
    ("setof", 0),
    ("similar", 0),
    ("smallint", 0),
    ("some", 0),
    ("substring", 0),
    ("symmetric", 0),
    ("system_user", 16),
    ("table", 0),
    ("tablesample", 0),
    ("then", 0),
    ("time", 0),
    ("timestamp", 0),
    ("to", 0),
    ("trailing", 0),
    ("treat", 0),
    ("trim", 0),
    ("true", 0),
    ("union", 0),
    ("unique", 0),
    ("user", 0),
    ("using", 0),
    ("values", 0),
    ("varchar", 0),
    ("variadic", 0),
    ("verbose", 0),
    ("when", 0),
    ("where", 0),
    ("window", 0),
    ("with", 0),
    ("xmlattributes", 0),
    ("xmlconcat", 0),
    ("xmlelement", 0),
    ("xmlexists", 0),
    ("xmlforest", 0),
    ("xmlnamespaces", 0),
    ("xmlparse", 0),
    ("xmlpi", 0),
    ("xmlroot", 0),
    ("xmlserialize", 0),
    ("xmltable", 0),
];

/// Appends `ident`, double-quoted (with `"` doubled) when PostgreSQL would quote it.
pub fn push_quoted_identifier(out: &mut String, ident: &str, server_major: u32) {
    let bytes = ident.as_bytes();
    let plain = !bytes.is_empty()
        && (bytes[0].is_ascii_lowercase() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let keyword = NON_UNRESERVED
        .iter()
        .any(|&(k, since)| k == ident && server_major >= since);
    if plain && !keyword {
        out.push_str(ident);
        return;
    }
    out.push('"');
    for c in ident.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

/// `schema.name`, each part quoted as needed.
pub fn push_qualified_identifier(out: &mut String, schema: &str, name: &str, server_major: u32) {
    push_quoted_identifier(out, schema, server_major);
    out.push('.');
    push_quoted_identifier(out, name, server_major);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str, v: u32) -> String {
        let mut o = String::new();
        push_quoted_identifier(&mut o, s, v);
        o
    }

    #[test]
    fn quoting_rules() {
        assert_eq!(q("abc_1", 15), "abc_1");
        assert_eq!(q("Abc", 15), "\"Abc\"");
        assert_eq!(q("1abc", 15), "\"1abc\"");
        assert_eq!(q("user", 15), "\"user\"");
        assert_eq!(q("name", 15), "name");
        assert_eq!(q("json", 15), "json");
        assert_eq!(q("json", 16), "\"json\"");
        assert_eq!(q("a\"b", 15), "\"a\"\"b\"");
        assert_eq!(q("", 15), "\"\"");
    }
}

//! tsquery, xml and the OID alias types against a real PostgreSQL 15: rows are read raw from
//! heap pages with pageinspect, printed, and compared with what `COPY … TO STDOUT` prints.

mod support;

use std::collections::HashMap;

use pglcr::catalog::{Catalog, Relation};
use pglcr::tuple::types::{output, OutputContext, TypeError};
use pglcr::tuple::{deform, toast_chunks_to_value, Datum, HeapTuple, Varlena};
use support::pages::{copy_rows, load_catalog, raw_tuples, toast_chunks};
use support::Cluster;

/// (column type, SQL expressions for the values); each becomes a table `t_<n>` with one
/// column, one row per value plus a NULL row, and a table `a_<n>` of arrays of them.
fn cases() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            "tsquery",
            vec![
                "'a'",
                "'a & b'",
                "'a | b'",
                "'!a'",
                "'!!a'",
                "'a <-> b'",
                "'a <2> b'",
                "'a <0> b'",
                "'a <16383> b'",
                "'a:A'",
                "'a:D'",
                "'a:ABCD'",
                "'a:DB'",
                "'a:*'",
                "'a:*BC'",
                "'(a | b) & c'",
                "'a | b & c'",
                "'a & (b | c) & !d'",
                "'!(a & b)'",
                "'!(a | b) | !(c <-> d)'",
                "'a & b & c & d'",
                "'a | (b | c)'",
                "'a & (b & (c & d))'",
                "'a <-> (b <-> c)'",
                "'(a <-> b) <-> c'",
                "'a <-> (b <3> c) <-> d'",
                "'(a & b) <-> c'",
                "'a <-> (b | c)'",
                "'a <-> !b'",
                "'!(a <-> b)'",
                "'(a | b) <-> (c & d)'",
                "'((a | b) & (c | d)) | ((e & f) <2> !g)'",
                "$$'it''s' & 'back\\\\slash' & 'a b' & '''' & '\\\\'$$",
                "$$'x:y' | 'a&b' | '(p)' | '!'$$",
                "'ünï & 😀:*A'",
                "''",
                "to_tsquery('english', 'The & quick & !foxes | jumping:*AB')",
                "to_tsquery('english', 'the & a')",
                "phraseto_tsquery('english', 'the quick brown fox jumps over the lazy dog')",
                "plainto_tsquery('english', 'fat rats & cats')",
                "websearch_to_tsquery('english', '\"quick fox\" or -dog \"sad cat\"')",
                "phraseto_tsquery('simple', (SELECT string_agg('w' || i, ' ') FROM generate_series(1, 250) i))",
                "(SELECT string_agg('t' || i, ' & ')::tsquery FROM generate_series(1, 200) i)",
                "(SELECT string_agg('(x' || i || ' | y' || i || ':*B)', ' <-> ')::tsquery FROM generate_series(1, 50) i)",
                "tsquery_phrase('a & b', 'c | d', 5)",
                "numnode('a & b')::text::tsquery",
                "'a & b'::tsquery && 'c'::tsquery",
                "!! 'a <-> b'::tsquery",
            ],
        ),
        (
            "xml",
            vec![
                "'<a/>'",
                "''",
                "'text only'",
                "'  <a/>'",
                "E'\\n<a/>'",
                "E'\\n\\n<a/>'",
                "E'\\r\\n<a/>'",
                "'<a>1</a><b>2</b>'",
                "'<a x=\"1\">t&amp;</a>'",
                "'<a attr=\"é\">ü😀</a>'",
                "'<?xml version=\"1.0\"?><a/>'",
                "E'<?xml version=\"1.0\"?>\\n<a/>'",
                "E'<?xml version=\"1.0\"?>\\n\\n<a/>'",
                "E'<?xml version=\"1.0\"?>\\r\\n<a/>'",
                "E'<?xml version=\"1.0\"?> \\n<a/>'",
                "'<?xml version=''1.0''?><a/>'",
                "'<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>'",
                "E'<?xml version=\"1.0\" encoding=\"utf-8\"?>\\n<a/>'",
                "'<?xml version=\"1.0\" encoding=\"LATIN1\"?><a/>'",
                "'<?xml version=\"1.0\" encoding=\"ISO-8859-1\" standalone=\"no\"?><a/>'",
                "'<?xml version=\"1.0\" standalone=\"yes\"?><a/>'",
                "E'<?xml version=''1.0'' standalone=''no''?>\\n<a/>'",
                "E'<?xml version=\"1.1\"?>\\n<a/>'",
                "'<?xml version=\"1.1\" encoding=\"UTF-8\" standalone=\"yes\"?><a/>'",
                "E'<?xml  version = \"1.0\"\\n encoding = ''UTF-8''\\t standalone = \"yes\"  ?>\\n<a/>'",
                "E'<?xml version=\"1.0\"?>\\n'",
                "'<?xml version=\"1.0\"?>'",
                "'<?xml version=\"1.0\" standalone=\"yes\"?>'",
                "'<?xml-stylesheet type=\"text/xsl\" href=\"s.xsl\"?><a/>'",
                "E'<?xml version=\"1.0\"?>\\n<?xml-stylesheet href=\"s.xsl\"?>\\n<a/>'",
                "'<!-- c --><a/>'",
                "'<!DOCTYPE a><a/>'",
                "E'<?xml version=\"1.0\"?>\\n<!DOCTYPE a [<!ENTITY e \"v\">]>\\n<a>&e;</a>'",
                "'<![CDATA[<x>]]>'",
                "xmlparse(document E'<?xml version=\"1.0\" standalone=\"yes\"?>\\n<doc/>')",
                "xmlelement(name foo, xmlattributes('x' AS bar), 'baz', xmlelement(name q))",
                "xmlroot(xml '<a/>', version '1.1', standalone yes)",
                "xmlroot(xml '<a/>', version '1.0', standalone no)",
                "xmlroot(xml '<a/>', version no value, standalone no value)",
                "xmlroot(xml E'<?xml version=\"1.1\"?>\\n<a/>', version '1.0')",
                "xmlconcat('<?xml version=\"1.1\"?><a/>', '<?xml version=\"1.1\" standalone=\"no\"?><b/>')",
                "xmlcomment('hi')",
                "xmlpi(name php, 'echo 1;')",
                "xmlforest(1 AS n, 'x' AS s)",
                "xmlagg(xmlelement(name i, 1)) FROM generate_series(1, 3)",
                "('<r>' || repeat('<i>x</i>', 5000) || '</r>')::xml",
                "(SELECT ('<r>' || string_agg('<i n=\"' || md5(i::text) || '\"/>', '') || '</r>')::xml FROM generate_series(1, 400) i)",
            ],
        ),
        (
            "regnamespace",
            vec![
                "'pg_catalog'",
                "'public'",
                "'pg_toast'",
                "'information_schema'",
                "'s2'",
                "'\"Mixed NS\"'",
                "'\"select\"'",
                "'\"ünï\"'",
                "0",
            ],
        ),
    ]
}

const SCHEMA: &str = "
CREATE EXTENSION pageinspect;
CREATE SCHEMA s2;
CREATE SCHEMA \"Mixed NS\";
CREATE SCHEMA \"select\";
CREATE SCHEMA \"ünï\";
";

fn expected_rows(cluster: &Cluster, table: &str) -> HashMap<String, Vec<Option<String>>> {
    copy_rows(cluster, table, "")
}

fn relation<'c>(catalog: &'c Catalog, name: &str) -> &'c Relation {
    catalog
        .file
        .relations
        .iter()
        .find(|r| r.namespace == "public" && r.name == name)
        .unwrap_or_else(|| panic!("relation public.{name} not in the catalog"))
}

/// Prints every row of `table` and compares each value with PostgreSQL's text; returns the
/// number of values compared.
fn check_table(
    cluster: &Cluster,
    catalog: &Catalog,
    table: &str,
    mismatches: &mut Vec<String>,
) -> usize {
    let ctx = OutputContext::from_catalog(catalog).expect("settings");
    let rel = relation(catalog, table);
    let columns = rel.columns.as_deref().expect("columns");
    let chunks = rel
        .toast_relid
        .map(|t| toast_chunks(cluster, catalog, t))
        .unwrap_or_default();
    let expected = expected_rows(cluster, table);
    let tuples = raw_tuples(cluster, table);
    assert_eq!(expected.len(), tuples.len(), "{table}: row count");
    let mut compared = 0;
    for (ctid, bytes) in &tuples {
        let tuple = HeapTuple::from_bytes(bytes).expect("tuple header");
        let datums = deform(&tuple, columns).unwrap_or_else(|e| panic!("{table} {ctid}: {e}"));
        for (i, (col, datum)) in columns.iter().zip(&datums).enumerate() {
            let got = match *datum {
                Datum::Null => None,
                Datum::Fixed(b) | Datum::CString(b) => Some(output(catalog, col.type_oid, b, &ctx)),
                Datum::Varlena(Varlena::External(p)) => {
                    let list = chunks.get(&p.value_id).expect("chunks of the value");
                    let value =
                        toast_chunks_to_value(&p, list.iter().map(|(s, d)| (*s, d.as_slice())))
                            .expect("reassemble");
                    Some(output(catalog, col.type_oid, &value, &ctx))
                }
                Datum::Varlena(v) => {
                    let value = v.detoast_inline().expect("decompress");
                    Some(output(catalog, col.type_oid, &value, &ctx))
                }
                other => panic!("{table} {ctid}: unexpected datum {other:?}"),
            };
            let got = got.map(|r| r.unwrap_or_else(|e| format!("<error: {e}>")));
            let want = &expected[ctid][i];
            compared += 1;
            if &got != want {
                let cut = |v: &Option<String>| {
                    let s = format!("{v:?}");
                    match s.char_indices().nth(300) {
                        Some((i, _)) => format!("{}…", &s[..i]),
                        None => s,
                    }
                };
                mismatches.push(format!(
                    "{table} {ctid}: got {}, PostgreSQL printed {}",
                    cut(&got),
                    cut(want)
                ));
            }
        }
    }
    compared
}

#[test]
fn tsquery_xml_and_regnamespace_match_postgresql() {
    let cluster = Cluster::start(&[], &[("TimeZone", "UTC")]);
    cluster.psql_script(SCHEMA);
    let cases = cases();
    let mut script = String::from("SET client_min_messages = warning;\n");
    for (i, (ty, values)) in cases.iter().enumerate() {
        script.push_str(&format!("CREATE TABLE t_{i} (v {ty});\n"));
        for v in values {
            if v.contains(" FROM ") && !v.starts_with('(') {
                script.push_str(&format!("INSERT INTO t_{i} SELECT {v};\n"));
            } else {
                script.push_str(&format!("INSERT INTO t_{i} VALUES ({v});\n"));
            }
        }
        script.push_str(&format!(
            "INSERT INTO t_{i} VALUES (NULL);\n\
             CREATE TABLE a_{i} AS SELECT array_agg(v ORDER BY ctid) AS v FROM t_{i};\n\
             INSERT INTO a_{i} SELECT array_agg(v ORDER BY ctid DESC) FROM t_{i} WHERE v IS NOT NULL;\n"
        ));
    }
    cluster.psql_script(&script);
    let catalog = load_catalog(&cluster);
    assert_eq!(catalog.setting("server_encoding"), Some("UTF8"));
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for (i, (ty, values)) in cases.iter().enumerate() {
        let n = check_table(&cluster, &catalog, &format!("t_{i}"), &mut mismatches);
        assert_eq!(n, values.len() + 1, "{ty}: every value was stored");
        compared += n;
        compared += check_table(&cluster, &catalog, &format!("a_{i}"), &mut mismatches);
    }
    eprintln!("{compared} values compared");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn catalog_lookups_it_cannot_do_are_unsupported_and_corrupt_values_are_errors() {
    let cluster = Cluster::start(&[], &[("TimeZone", "UTC")]);
    let catalog = load_catalog(&cluster);
    let ctx = OutputContext::from_catalog(&catalog).expect("settings");
    // the dictionary has no pg_proc, pg_operator, pg_authid, pg_ts_config, pg_ts_dict or
    // pg_collation: the OID alias types over them are not printed
    for (oid, output_fn) in [
        (24, "regprocout"),
        (2202, "regprocedureout"),
        (2203, "regoperout"),
        (2204, "regoperatorout"),
        (4096, "regroleout"),
        (3734, "regconfigout"),
        (3769, "regdictionaryout"),
        (4191, "regcollationout"),
    ] {
        match output(&catalog, oid, &1u32.to_le_bytes(), &ctx) {
            Err(TypeError::Unsupported { output_fn: f, .. }) => assert_eq!(f, output_fn),
            other => panic!("{output_fn}: expected Unsupported, got {other:?}"),
        }
    }
    // regnamespace: an oid not in the catalog is an error, not a number
    assert!(output(&catalog, 4089, &999_999u32.to_le_bytes(), &ctx).is_err());

    let tsquery = 3615;
    let item = |bytes: [u8; 12]| bytes.to_vec();
    let corrupt: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff, 0xff, 0xff, 0xff],
        vec![1, 0, 0, 0],
        // an operand whose text runs past the end
        [
            vec![1, 0, 0, 0],
            item([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
            b"ab".to_vec(),
        ]
        .concat(),
        // an operator without operands
        [vec![1, 0, 0, 0], item([2, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])].concat(),
        // an operator whose left operand points back at itself
        [
            vec![2, 0, 0, 0],
            item([2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            item([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
            b"a\0".to_vec(),
        ]
        .concat(),
        // an unknown operator and an unknown item type
        [
            vec![3, 0, 0, 0],
            item([2, 9, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]),
            item([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
            item([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
            b"a\0".to_vec(),
        ]
        .concat(),
        [vec![1, 0, 0, 0], item([7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])].concat(),
        // two items, only the first reachable
        [
            vec![2, 0, 0, 0],
            item([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
            item([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
            b"a\0".to_vec(),
        ]
        .concat(),
        // operand text that is not UTF-8
        [
            vec![1, 0, 0, 0],
            item([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
            vec![0xff, 0],
        ]
        .concat(),
    ];
    for v in &corrupt {
        assert!(
            matches!(
                output(&catalog, tsquery, v, &ctx),
                Err(TypeError::Malformed { .. })
            ),
            "{v:?}"
        );
    }
    let ok = [
        vec![1, 0, 0, 0],
        item([1, 8, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0]),
        b"a\0".to_vec(),
    ]
    .concat();
    assert_eq!(output(&catalog, tsquery, &ok, &ctx).unwrap(), "'a':*A");
    assert!(output(&catalog, 142, &[b'<', 0xff], &ctx).is_err());
}

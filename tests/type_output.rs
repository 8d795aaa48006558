//! Tuple deforming and type output against a real PostgreSQL 15: rows are read raw from
//! heap pages with pageinspect, decoded, printed, and compared with the text PostgreSQL's
//! own output functions give for the same rows (`COPY … TO STDOUT`).

mod support;

use std::collections::HashMap;

use pglcr::catalog::{Catalog, Column, Relation};
use pglcr::tuple::types::{output, OutputContext, TypeError};
use pglcr::tuple::{
    deform, toast_chunks_to_value, CompressionMethod, Datum, HeapTuple, ToastPointer, Varlena,
};
use support::pages::{copy_rows, load_catalog, raw_tuples, toast_chunks};
use support::Cluster;

/// (column type, SQL expressions for the values); each becomes a table `t_<n>` with one
/// column, one row per value plus a NULL row, and an array table of all of them.
fn cases() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("int2", vec!["0", "1", "-1", "32767", "-32768"]),
        ("int4", vec!["0", "2147483647", "-2147483648", "42"]),
        ("int8", vec!["9223372036854775807", "-9223372036854775808", "0", "1234567890123"]),
        (
            "numeric",
            vec![
                "'NaN'", "'Infinity'", "'-Infinity'", "0", "0.0", "1", "-1", "0.000001",
                "123456789.123456789", "1e100", "-1e-100", "9999.9999", "10000", "0.1",
                "100000000", "1.5e-20", "'12345678901234567890.12345678901234567890'",
                "-0.00", "1e-6000", "9e130000",
            ],
        ),
        ("numeric(10,3)", vec!["1.5", "-2.25", "0", "1234567.891"]),
        (
            "float4",
            vec![
                "0", "'-0'", "'NaN'", "'Infinity'", "'-Infinity'", "1.5", "0.1", "3.4028235e38",
                "1.17549435e-38", "1.4e-45", "1e6", "123456", "1e-5", "0.0001", "1.234567",
                "100000", "1000000", "-7.25e-3", "16777216", "3.0e10",
            ],
        ),
        (
            "float8",
            vec![
                "0", "'-0'", "'NaN'", "'Infinity'", "'-Infinity'", "0.1", "1e-300",
                "1.7976931348623157e308", "2.2250738585072014e-308", "5e-324", "1e15", "1e14",
                "123456789012345", "1234567890123456", "1e-4", "1e-5", "3.141592653589793",
                "-2.5e-7", "1e100", "0.30000000000000004", "1e22", "1e23", "-123.456",
            ],
        ),
        ("bool", vec!["true", "false"]),
        ("\"char\"", vec!["'a'", "'\"'", "chr(200)::\"char\"", "''"]),
        (
            "text",
            vec![
                "''", "'hello'", "E'with \"quotes\" and \\\\backslash'", "E'tab\\there\\nnewline'",
                "'unicode ünï 😀'", "'NULL'", "'null'", "' spaced '", "'a,b'", "'{x}'",
                "'(p)'", "'[b]'", "repeat('x', 200)", "repeat('abc', 5000)",
                "(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 1000) i)",
                "(SELECT string_agg(i::text || repeat('z', 20), ',') FROM generate_series(1, 20000) i)",
                "(SELECT string_agg(chr(33 + (i * 7919 % 90)), '') FROM generate_series(1, 6000) i)",
            ],
        ),
        ("varchar(20)", vec!["'abc'", "''", "'x y'"]),
        ("char(5)", vec!["'ab'", "''", "'abcde'"]),
        ("name", vec!["'pg_class'", "'some name'", "''"]),
        ("bytea", vec!["'\\x'", "'\\xdeadbeef'", "decode(repeat('00ff', 100), 'hex')"]),
        (
            "date",
            vec![
                "'2000-01-01'", "'1999-12-31'", "'infinity'", "'-infinity'", "'0001-01-01 BC'",
                "'4713-01-01 BC'", "'5874897-12-31'", "'2024-02-29'", "'1582-10-10'",
                "'0001-01-01'", "'10000-01-01'",
            ],
        ),
        ("time", vec!["'00:00'", "'23:59:59.999999'", "'24:00:00'", "'12:34:56.5'", "'00:00:00.000001'"]),
        ("time(2)", vec!["'12:34:56.789'"]),
        (
            "timetz",
            vec![
                "'00:00+00'", "'12:34:56.789-05'", "'23:59:59+05:30'", "'01:02:03+14'",
                "'10:00:00-03:25:30'", "'24:00:00-15:59'",
            ],
        ),
        (
            "timestamp",
            vec![
                "'2000-01-01 00:00:00'", "'1999-12-31 23:59:59.999999'", "'infinity'", "'-infinity'",
                "'0044-03-15 12:00 BC'", "'294276-12-31 23:59:59.999999'", "'4713-11-24 00:00 BC'",
                "'1970-01-01 00:00:00.000001'", "'2024-06-01 12:30:45.123'", "'0001-01-01 00:00'",
                "'1900-02-28 23:00'",
            ],
        ),
        (
            "timestamptz",
            vec![
                "'2024-03-10 06:59:59+00'", "'2024-03-10 07:00:00+00'", "'2024-11-03 05:30:00+00'",
                "'2024-11-03 06:30:00+00'", "'1883-11-18 12:00:00+00'", "'1883-11-18 17:00:00+00'",
                "'1800-01-01 00:00+00'", "'1900-01-01 00:00+00'", "'2100-07-01 12:00+00'",
                "'12000-07-01 12:00+00'", "'12000-01-01 12:00+00'", "'294276-12-31 23:59:59.999999+00'",
                "'4713-11-24 00:00:00+00 BC'", "'infinity'", "'-infinity'", "'1999-12-31 23:59:59.5+00'",
                "'1969-12-31 23:59:59.999999+00'", "'1945-08-14 23:00+00'", "'1942-09-01 12:00+00'",
                "'1850-01-01 00:00+00'", "'2037-07-01 00:00+00'", "'2050-07-01 00:00+00'",
                "'0500-06-01 00:00+00 BC'",
            ],
        ),
        ("timestamptz(0)", vec!["'2024-05-05 05:05:05.5+00'"]),
        (
            "interval",
            vec![
                "'0'", "'1 year 2 months 3 days 04:05:06.789'", "'-1 day'", "'-1 day +02:00'",
                "'1 mon -1 day'", "'-00:00:01'", "'178000000 years'", "'-178000000 years'",
                "'1 day 23:59:59.999999'", "'-1 year -2 mons +3 days -04:05:06'", "'100 hours'",
                "'0.000001 sec'", "'2147483647 days'", "'1 mon 1 day 1 hour'", "'1 year'",
                "'-1 mon'", "'1 day -1 sec'", "'2562047788:00:54.775807'",
                "'-2562047788:00:54.775807'",
            ],
        ),
        ("uuid", vec!["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"]),
        ("json", vec!["'{\"a\": 1}'", "'[1,2,  3]'", "'\"str\"'", "' {\"x\" : \"\\u00e9\"} '"]),
        (
            "jsonb",
            vec![
                "'{}'", "'[]'", "'null'", "'true'", "'false'", "'1'", "'-1.5e10'",
                "'\"\\u00e9\\n\\t\\\"\\\\\\u0001 \\u001f\"'",
                "'{\"b\": [1, 2.50, {\"c\": null}], \"a\": \"x\", \"aa\": true, \"\": false}'",
                "'[[[]]]'", "'1e-20'", "'123456789012345678901234567890'", "'\"\"'",
                "(SELECT jsonb_object_agg('k' || i, i * 1.5) FROM generate_series(1, 40) i)",
                "(SELECT jsonb_agg(CASE WHEN i % 3 = 0 THEN to_jsonb(i) WHEN i % 3 = 1 THEN to_jsonb('s' || i) ELSE jsonb_build_object('n', i, 'l', jsonb_build_array(i, 'x', NULL)) END) FROM generate_series(1, 100) i)",
                "(SELECT jsonb_agg(md5(i::text)) FROM generate_series(1, 400) i)",
                "'{\"emoji\": \"😀\", \"quote\": \"a\\\"b\"}'",
            ],
        ),
        (
            "inet",
            vec![
                "'192.168.1.1'", "'192.168.1.0/24'", "'10.0.0.1/8'", "'::1'", "'::'", "'2001:db8::1'",
                "'2001:db8:0:0:1:0:0:1'", "'::ffff:1.2.3.4'", "'::1.2.3.4'", "'fe80::1/64'",
                "'1:2:3:4:5:6:7:8'", "'2001:db8::/32'", "'0.0.0.0/0'", "'1::'", "'1:0:0:2:0:0:0:3'",
                "'0:0:0:0:0:0:0:2'", "'::ffff:0:0'", "'1:0:0:0:0:0:0:0'",
            ],
        ),
        (
            "cidr",
            vec![
                "'192.168.0.0/16'", "'10.0.0.0/8'", "'2001:db8::/32'", "'1.2.3.4/32'", "'::/0'",
                "'::ffff:1.2.3.0/120'", "'2001:db8::1/128'",
            ],
        ),
        ("macaddr", vec!["'08:00:2b:01:02:03'", "'ff:ff:ff:ff:ff:ff'"]),
        ("macaddr8", vec!["'08:00:2b:01:02:03:04:05'"]),
        (
            "money",
            vec![
                "0", "1234.56", "-1234.56", "0.01", "-0.01", "'92233720368547758.07'",
                "'-92233720368547758.08'", "1000000", "999.5",
            ],
        ),
        ("oid", vec!["0", "4294967295", "12345"]),
        ("regclass", vec!["'pg_class'", "'pg_catalog.pg_type'", "'s2.other'", "'s2.\"Mixed Case\"'", "'t_0'", "0"]),
        ("regtype", vec!["'int4'", "'character varying'", "'timestamp with time zone'", "'int4[]'", "'mood'", "'comp'", "'textrange'"]),
        ("xid", vec!["'0'", "'4294967295'", "'1234'"]),
        ("xid8", vec!["'18446744073709551615'", "'7'"]),
        ("cid", vec!["'0'", "'4294967295'"]),
        ("tid", vec!["'(0,1)'", "'(4294967295,65535)'"]),
        ("pg_lsn", vec!["'0/0'", "'16/B374D848'", "'FFFFFFFF/FFFFFFFF'"]),
        ("bit(8)", vec!["B'10101010'", "B'00000000'"]),
        ("bit varying", vec!["B''", "B'1'", "B'101010101010101010101'", "B'11111111'"]),
        (
            "tsvector",
            vec![
                "'a fat cat sat on a mat'", "$$'it''s' 'back\\\\slash'$$", "'a:1A,2B,3C,4 b:5'", "''",
                "to_tsvector('english', 'The quick brown foxes jumped over the lazy dogs quickly')",
            ],
        ),
        ("point", vec!["'(0,0)'", "'(1.5,-2.25)'", "'(1e100,1e-100)'", "'(-0,NaN)'"]),
        ("box", vec!["'(1,1),(0,0)'", "'((3,4),(1,2))'"]),
        ("lseg", vec!["'[(0,0),(1,1)]'"]),
        ("line", vec!["'{1,2,3}'"]),
        ("path", vec!["'((0,0),(1,1),(2,0))'", "'[(0,0),(1,1)]'"]),
        ("polygon", vec!["'((0,0),(1,0),(1,1))'"]),
        ("circle", vec!["'<(1,2),3>'"]),
        ("int4range", vec!["'empty'", "'[1,5)'", "'(,10)'", "'[3,)'", "'(,)'", "'[1,1]'"]),
        ("int8range", vec!["'[1,5)'", "'[-9223372036854775808,0)'"]),
        ("numrange", vec!["'[1.5,2.5]'", "'(,0)'"]),
        (
            "tstzrange",
            vec![
                "'[\"2020-01-01 00:00+00\",\"2021-01-01 00:00+00\")'",
                "'(,\"2020-06-01 12:00+00\"]'", "'empty'", "'[-infinity,infinity]'",
            ],
        ),
        ("daterange", vec!["'[2000-01-01,2000-02-01)'", "'[2000-01-01,)'"]),
        ("textrange", vec!["'[\"a b\",\"c,d\")'", "'[\"\",z]'", "'(\"x\\\\\\\"y\",)'"]),
        (
            "int4multirange",
            vec![
                "'{}'", "'{[1,3),[5,7)}'", "'{[1,2),[3,4),[5,6),[7,8),[9,10),[11,12)}'", "'{(,5)}'",
            ],
        ),
        (
            "tstzmultirange",
            vec!["'{[\"2020-01-01 00:00+00\",\"2020-02-01 00:00+00\"),[\"2020-03-01 00:00+00\",)}'"],
        ),
        ("textmultirange", vec!["'{[\"a b\",c],[x,y]}'"]),
        ("mood", vec!["'sad'", "'ok'", "'very happy'"]),
        ("posint", vec!["1", "42"]),
        ("shorttext", vec!["'ab'", "''"]),
        (
            "comp",
            vec![
                "ROW(1, 'a b', 1.5, 0.1, '2020-01-01 00:00+00', '{1,2}', true)::comp",
                "ROW(NULL, '', NULL, NULL, NULL, NULL, NULL)::comp",
                "ROW(-1, E'x\"y\\\\z', 'NaN', '-Infinity', 'infinity', '{}', false)::comp",
                "ROW(2, repeat('long', 1000), 1e50, 1e-300, '1999-01-01 00:00+00', '{3,NULL}', NULL)::comp",
                "ROW(3, '(p,q)', 0, 0, NULL, '[0:1]={7,8}', true)::comp",
            ],
        ),
        ("comp2", vec!["ROW(1, 2, 'x')::comp2", "ROW(NULL, 5, NULL)::comp2"]),
        ("nested", vec!["ROW(ROW(1, 'a', 2, 3, NULL, NULL, NULL)::comp, ARRAY[ROW(4, 'b c', NULL, NULL, NULL, NULL, NULL)::comp])::nested"]),
        (
            "int4[]",
            vec![
                "'{1,2,3}'", "'{{1,2},{3,4}}'", "'[0:2]={1,2,3}'", "'{}'", "'{NULL,1}'",
                "'[-2:-1][3:4]={{1,2},{3,4}}'", "'{{{1},{2}},{{3},{4}}}'",
                "(SELECT array_agg(i) FROM generate_series(1, 5000) i)",
            ],
        ),
        (
            "text[]",
            vec![
                "'{\"a b\",\"\",NULL,\"NULL\",\"x\\\"y\",\"{}\",\"a,b\",nul}'", "'{{a,b},{c,d}}'",
                "ARRAY[E'tab\\there', 'back\\\\slash', 'ünï']",
            ],
        ),
        ("float8[]", vec!["'{1.5,NaN,Infinity,-0,1e-300}'"]),
        ("int8[]", vec!["'{1,NULL,3}'", "'{{1,2},{NULL,NULL}}'"]),
        ("numeric[]", vec!["'{1.50,NaN,-1e-10}'"]),
        ("box[]", vec!["'{(1,1),(0,0);(2,2),(1,1)}'"]),
        ("jsonb[]", vec!["ARRAY['{\"a\": [1, 2]}'::jsonb, 'null', '\"s\"']"]),
        ("char(3)[]", vec!["'{a,bc,NULL}'"]),
        ("timestamptz[]", vec!["'{\"2020-01-01 00:00+00\",infinity}'"]),
        ("comp[]", vec!["ARRAY[ROW(1, 'x', NULL, NULL, NULL, NULL, NULL)::comp, NULL]"]),
        ("int4range[]", vec!["'{\"[1,2)\",empty}'"]),
        ("mood[]", vec!["'{sad,happy}'"]),
        ("bool[]", vec!["'{t,f,NULL}'"]),
        ("interval[]", vec!["'{\"1 day\",\"-00:00:01\"}'"]),
    ]
}

const SCHEMA: &str = "
CREATE EXTENSION pageinspect;
CREATE SCHEMA s2;
CREATE TABLE s2.other (x int);
CREATE TABLE s2.\"Mixed Case\" (x int);
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'very happy');
ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE DOMAIN shorttext AS varchar(10);
CREATE TYPE textrange AS RANGE (subtype = text);
CREATE TYPE comp AS (i int, t text, n numeric, f float8, ts timestamptz, a int[], b bool);
CREATE TYPE comp2 AS (a int, gone text, b int8, c text);
ALTER TYPE comp2 DROP ATTRIBUTE gone;
CREATE TYPE nested AS (c comp, cs comp[]);
";

/// PostgreSQL's text for every row of `table` under `time_zone` and `extra_float_digits`.
fn expected_rows(
    cluster: &Cluster,
    table: &str,
    time_zone: &str,
    extra_float_digits: i32,
) -> HashMap<String, Vec<Option<String>>> {
    copy_rows(
        cluster,
        table,
        &format!("SET TimeZone = '{time_zone}';\nSET extra_float_digits = {extra_float_digits};\n"),
    )
}

fn relation<'c>(catalog: &'c Catalog, namespace: &str, name: &str) -> &'c Relation {
    catalog
        .file
        .relations
        .iter()
        .find(|r| r.namespace == namespace && r.name == name)
        .unwrap_or_else(|| panic!("relation {namespace}.{name} not in the catalog"))
}

/// `attmissingval` is a one-element array literal: its element's text.
fn missing_value(col: &Column) -> Option<String> {
    let lit = col.attmissingval.as_deref()?;
    let inner = lit.strip_prefix('{')?.strip_suffix('}')?;
    if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        let mut out = String::new();
        let mut chars = q.chars();
        while let Some(c) = chars.next() {
            out.push(if c == '\\' { chars.next()? } else { c });
        }
        Some(out)
    } else {
        Some(inner.to_string())
    }
}

#[derive(Default)]
struct Stats {
    values: usize,
    mismatches: Vec<String>,
    kinds: HashMap<&'static str, usize>,
}

/// Decodes every row of `table` and compares each column's text with PostgreSQL's.
fn check_table(
    cluster: &Cluster,
    catalog: &Catalog,
    table: &str,
    zones: &[&str],
    stats: &mut Stats,
) {
    check_table_with(cluster, catalog, table, zones, 1, stats)
}

/// As [`check_table`], with `extra_float_digits` set in both sessions.
fn check_table_with(
    cluster: &Cluster,
    catalog: &Catalog,
    table: &str,
    zones: &[&str],
    extra_float_digits: i32,
    stats: &mut Stats,
) {
    let rel = relation(catalog, "public", table);
    let columns = rel.columns.as_deref().expect("columns");
    let chunks = rel
        .toast_relid
        .map(|t| toast_chunks(cluster, catalog, t))
        .unwrap_or_default();
    let tuples = raw_tuples(cluster, table);
    for zone in zones {
        let mut ctx = OutputContext::new(zone).expect("time zone");
        ctx.extra_float_digits = extra_float_digits;
        let expected = expected_rows(cluster, table, zone, extra_float_digits);
        assert_eq!(expected.len(), tuples.len(), "{table}: row count");
        for (ctid, bytes) in &tuples {
            let tuple = HeapTuple::from_bytes(bytes).expect("tuple header");
            let datums =
                deform(&tuple, columns).unwrap_or_else(|e| panic!("{table} {ctid}: deform: {e}"));
            let want = &expected[ctid];
            let mut got = Vec::new();
            for (col, datum) in columns.iter().zip(&datums) {
                let text = match *datum {
                    Datum::Dropped => continue,
                    Datum::Null => None,
                    Datum::Missing => missing_value(col).map(Ok),
                    Datum::Fixed(b) | Datum::CString(b) => {
                        *stats.kinds.entry("fixed").or_default() += 1;
                        Some(output(catalog, col.type_oid, b, &ctx))
                    }
                    Datum::Varlena(v) => {
                        let value = match v {
                            Varlena::Plain(b) => {
                                *stats.kinds.entry("plain varlena").or_default() += 1;
                                b.to_vec()
                            }
                            Varlena::Compressed { method, .. } => {
                                *stats
                                    .kinds
                                    .entry(match method {
                                        CompressionMethod::Pglz => "inline pglz",
                                        CompressionMethod::Lz4 => "inline lz4",
                                    })
                                    .or_default() += 1;
                                v.detoast_inline().expect("decompress").into_owned()
                            }
                            Varlena::External(p) => {
                                *stats
                                    .kinds
                                    .entry(match p.compression {
                                        None => "external",
                                        Some(CompressionMethod::Pglz) => "external pglz",
                                        Some(CompressionMethod::Lz4) => "external lz4",
                                    })
                                    .or_default() += 1;
                                assert_eq!(Some(p.toast_relid), rel.toast_relid, "{table} {ctid}");
                                detoast(&p, &chunks)
                            }
                        };
                        Some(output(catalog, col.type_oid, &value, &ctx))
                    }
                };
                got.push(text.map(|r| r.unwrap_or_else(|e| format!("<error: {e}>"))));
            }
            assert_eq!(got.len(), want.len(), "{table} {ctid}: column count");
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                stats.values += 1;
                if g != w {
                    stats.mismatches.push(format!(
                        "{table} {ctid} column {} ({zone}): got {g:?}, PostgreSQL printed {w:?}",
                        i + 1
                    ));
                }
            }
        }
    }
}

fn detoast(p: &ToastPointer, chunks: &HashMap<u32, Vec<(i32, Vec<u8>)>>) -> Vec<u8> {
    let list = chunks.get(&p.value_id).expect("chunks of the value");
    toast_chunks_to_value(p, list.iter().map(|(s, d)| (*s, d.as_slice()))).expect("reassemble")
}

#[test]
fn every_builtin_type_matches_postgresql() {
    let cluster = Cluster::start(&[], &[("TimeZone", "UTC")]);
    cluster.psql_script(SCHEMA);
    let cases = cases();
    let mut script = String::new();
    for (i, (ty, values)) in cases.iter().enumerate() {
        script.push_str(&format!("CREATE TABLE t_{i} (v {ty});\n"));
        for v in values {
            script.push_str(&format!("INSERT INTO t_{i} VALUES ({v});\n"));
        }
        script.push_str(&format!("INSERT INTO t_{i} VALUES (NULL);\n"));
        if !ty.ends_with("[]") {
            script.push_str(&format!(
                "CREATE TABLE a_{i} AS SELECT array_agg(v ORDER BY ctid) AS v FROM t_{i};\n\
                 INSERT INTO a_{i} SELECT array_agg(v ORDER BY ctid DESC) FROM t_{i} WHERE v IS NOT NULL;\n"
            ));
        }
    }
    // many rows, mixed alignment and NULLs, over several pages; then added and dropped columns
    script.push_str(
        "CREATE TABLE wide (a int2, b int8, c text, d bool, e float8, f char(3), g int4,
                            h numeric, i timestamptz, j text, k bytea, l int2[]);
         INSERT INTO wide SELECT
            CASE WHEN n % 7 = 0 THEN NULL ELSE n % 32000 END, n::int8 * 1000003,
            CASE WHEN n % 5 = 0 THEN NULL ELSE repeat(chr(97 + n % 26), n % 40) END,
            CASE WHEN n % 11 = 0 THEN NULL ELSE n % 2 = 0 END,
            CASE WHEN n % 13 = 0 THEN NULL ELSE n / 7.0 END,
            chr(65 + n % 26), n, n::numeric / 3,
            CASE WHEN n % 3 = 0 THEN NULL ELSE '2000-01-01 00:00+00'::timestamptz + n * interval '1 day 1 sec' END,
            CASE WHEN n % 4 = 0 THEN NULL ELSE md5(n::text) END,
            CASE WHEN n % 6 = 0 THEN NULL ELSE decode(md5(n::text), 'hex') END,
            CASE WHEN n % 9 = 0 THEN NULL ELSE ARRAY[n % 100, NULL, 3]::int2[] END
         FROM generate_series(1, 3000) n;
         ALTER TABLE wide ADD COLUMN m int DEFAULT 7;
         ALTER TABLE wide ADD COLUMN n2 text DEFAULT 'a \"b\"';
         ALTER TABLE wide ADD COLUMN o numeric;
         ALTER TABLE wide DROP COLUMN c;
         ALTER TABLE wide DROP COLUMN h;
         INSERT INTO wide (a, b, d, e, m, n2, o) VALUES (1, 2, true, 0.5, NULL, NULL, 1.25);
         INSERT INTO wide (a) VALUES (9);
         SELECT setseed(0.25);
         CREATE TABLE floats AS SELECT
            (random() - 0.5) * 10 ^ (random() * 600 - 300) AS d,
            ((random() - 0.5) * 10 ^ (random() * 70 - 35))::float4 AS r,
            (n / 1000.0)::float8 AS dd, (n / 10.0)::float4 AS rr,
            point(random() * n, -random() / n) AS p
         FROM generate_series(1, 4000) n;
         INSERT INTO floats (d) VALUES (NULL);\n",
    );
    cluster.psql_script(&script);
    let catalog = load_catalog(&cluster);
    let mut stats = Stats::default();
    let zones = ["UTC", "America/New_York", "Asia/Kolkata"];
    for (i, (ty, _)) in cases.iter().enumerate() {
        let tz_sensitive = ty.contains("tz") || ty.starts_with("comp") || ty.starts_with("nested");
        let z: &[&str] = if tz_sensitive { &zones } else { &zones[..1] };
        check_table(&cluster, &catalog, &format!("t_{i}"), z, &mut stats);
        if !ty.ends_with("[]") {
            check_table(&cluster, &catalog, &format!("a_{i}"), z, &mut stats);
        }
    }
    check_table(&cluster, &catalog, "wide", &zones, &mut stats);
    for efd in [1, 3, 0, -4, -15] {
        check_table_with(&cluster, &catalog, "floats", &["UTC"], efd, &mut stats);
        for (i, (ty, _)) in cases.iter().enumerate() {
            if ["float4", "float8", "point", "box", "circle"].contains(ty) {
                check_table_with(
                    &cluster,
                    &catalog,
                    &format!("t_{i}"),
                    &["UTC"],
                    efd,
                    &mut stats,
                );
            }
        }
    }
    eprintln!(
        "{} values compared over {} types; datum kinds seen: {:?}",
        stats.values,
        cases.len(),
        stats.kinds
    );
    assert!(
        stats.mismatches.is_empty(),
        "{} mismatches:\n{}",
        stats.mismatches.len(),
        stats
            .mismatches
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    for kind in ["inline pglz", "external", "external pglz"] {
        assert!(
            stats.kinds.contains_key(kind),
            "no {kind} datum was exercised"
        );
    }
}

#[test]
fn toast_compression_methods_and_external_values() {
    let cluster = Cluster::start(&[], &[("TimeZone", "UTC")]);
    cluster.psql_script(
        "CREATE EXTENSION pageinspect;
         CREATE TABLE toasty (id int, p text, l text, b bytea);
         ALTER TABLE toasty ALTER COLUMN l SET COMPRESSION lz4;
         ALTER TABLE toasty ALTER COLUMN b SET STORAGE EXTERNAL;
         INSERT INTO toasty VALUES
           (1, repeat('abc', 3000), repeat('abc', 3000), decode(repeat('ab', 100), 'hex')),
           (2, (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 2000) i),
               (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 2000) i),
               (SELECT decode(string_agg(md5(i::text), ''), 'hex') FROM generate_series(1, 500) i)),
           (3, (SELECT string_agg(i::text || repeat('z', 20), ',') FROM generate_series(1, 20000) i),
               repeat('xyz', 100000), NULL),
           (4, (SELECT string_agg(chr(33 + (i * 7919 % 90)), '') FROM generate_series(1, 9000) i),
               NULL, NULL);\n",
    );
    let catalog = load_catalog(&cluster);
    let rel = relation(&catalog, "public", "toasty");
    let toast_relid = rel.toast_relid.expect("toast table");
    let mut stats = Stats::default();
    check_table(&cluster, &catalog, "toasty", &["UTC"], &mut stats);
    eprintln!(
        "{} values compared; datum kinds seen: {:?}",
        stats.values, stats.kinds
    );
    assert!(
        stats.mismatches.is_empty(),
        "{}",
        stats.mismatches.join("\n")
    );

    // the pointers themselves: ids, relation, sizes and methods as PostgreSQL reports them
    let columns = rel.columns.as_deref().unwrap();
    let tuples = raw_tuples(&cluster, "toasty");
    let mut methods = Vec::new();
    for (_, bytes) in &tuples {
        let t = HeapTuple::from_bytes(bytes).unwrap();
        for d in deform(&t, columns).unwrap() {
            match d {
                Datum::Varlena(Varlena::External(p)) => {
                    assert_eq!(p.toast_relid, toast_relid);
                    methods.push(("external", p.compression, p.value_id));
                }
                Datum::Varlena(Varlena::Compressed { method, .. }) => {
                    methods.push(("inline", Some(method), 0));
                }
                _ => {}
            }
        }
    }
    let has = |kind: &str, m: Option<CompressionMethod>| {
        methods.iter().any(|&(k, mm, _)| k == kind && mm == m)
    };
    assert!(has("inline", Some(CompressionMethod::Pglz)), "{methods:?}");
    assert!(has("inline", Some(CompressionMethod::Lz4)), "{methods:?}");
    assert!(
        has("external", Some(CompressionMethod::Pglz)),
        "{methods:?}"
    );
    assert!(has("external", Some(CompressionMethod::Lz4)), "{methods:?}");
    assert!(has("external", None), "{methods:?}");
    // value ids are the chunk ids PostgreSQL's pg_column_compression / toast table show
    let ids: Vec<u32> = cluster
        .psql(&format!(
            "SELECT DISTINCT chunk_id FROM pg_toast.pg_toast_{} ORDER BY 1",
            rel.oid
        ))
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let mut ours: Vec<u32> = methods
        .iter()
        .filter(|m| m.0 == "external")
        .map(|m| m.2)
        .collect();
    ours.sort();
    assert_eq!(ours, ids);
    let reported = cluster.psql(
        "SELECT string_agg(coalesce(pg_column_compression(l), '-'), ',' ORDER BY id) FROM toasty",
    );
    assert_eq!(reported, "lz4,lz4,lz4,-");
}

#[test]
fn unsupported_and_settings_are_errors_not_guesses() {
    let cluster = Cluster::start(&[], &[("TimeZone", "UTC")]);
    let catalog = load_catalog(&cluster);
    let ctx = OutputContext::from_catalog(&catalog).expect("default settings are supported");
    // pg_snapshot (oid 5038) has no output implementation here
    match output(&catalog, 5038, &[0; 24], &ctx) {
        Err(TypeError::Unsupported { output_fn, .. }) => assert_eq!(output_fn, "pg_snapshot_out"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    let mut settings = catalog.file.settings.clone();
    settings.insert("DateStyle".into(), "SQL, DMY".into());
    assert!(matches!(
        OutputContext::from_settings(&settings),
        Err(TypeError::Setting { .. })
    ));
    let mut settings = catalog.file.settings.clone();
    settings.insert("lc_monetary".into(), "de_DE.UTF-8".into());
    let ctx = OutputContext::from_settings(&settings).unwrap();
    assert!(matches!(
        output(&catalog, 790, &100i64.to_le_bytes(), &ctx),
        Err(TypeError::Setting { .. })
    ));
    // corrupt values are errors, never panics
    assert!(output(&catalog, 1700, &[0x00], &ctx).is_err());
    assert!(output(&catalog, 3802, &[0xff, 0xff, 0xff, 0x2f], &ctx).is_err());
    assert!(output(
        &catalog,
        1007,
        &[1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 255, 255, 255, 127, 1, 0, 0, 0],
        &ctx
    )
    .is_err());
    assert!(output(&catalog, 869, &[2, 40, 1, 2, 3, 4], &ctx).is_err());
}

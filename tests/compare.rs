//! `pglcr compare` with two real servers: equal tables, tables that differ in rows, columns or
//! existence, and the differing keys named.

mod support;

use support::{pglcr, Cluster};

const SCHEMA: &str = "
CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2), seen timestamptz,
    data bytea, ratio float8);
CREATE TABLE pairs (a int, b text, v int, PRIMARY KEY (a, b));
CREATE TABLE log (at int, msg text);
";

const DATA: &str = "
INSERT INTO items SELECT i, 'item ' || i, i * 1.25, timestamptz '2026-01-01 00:00+00' + i * interval '1 h',
    decode(md5(i::text), 'hex'), i / 3.0 FROM generate_series(1, 500) i;
INSERT INTO pairs SELECT i % 10, 'k' || i, i FROM generate_series(1, 100) i;
INSERT INTO log SELECT i, 'm' || i FROM generate_series(1, 50) i;
";

fn conninfo(c: &Cluster) -> String {
    format!(
        "host={} port={} user=postgres dbname=postgres",
        c.socket_dir().display(),
        c.port
    )
}

fn compare(a: &Cluster, b: &Cluster, extra: &[&str]) -> (i32, String) {
    let out = pglcr()
        .args(["compare", "-d", &conninfo(a), "-d", &conninfo(b)])
        .args(extra)
        .output()
        .expect("run pglcr compare");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn json(a: &Cluster, b: &Cluster) -> (i32, serde_json::Value) {
    let (code, text) = compare(a, b, &["--format", "json"]);
    (
        code,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

fn table<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[test]
fn equal_and_differing_tables_with_their_keys() {
    // Different settings on the two servers, and rows inserted in another order, must not
    // matter.
    let a = Cluster::start(&[], &[("timezone", "'Europe/Paris'")]);
    let b = Cluster::start(&[], &[("timezone", "'America/New_York'")]);
    a.psql_script(SCHEMA);
    b.psql_script(SCHEMA);
    a.psql_script(DATA);
    b.psql_script(&DATA.replace("generate_series(1, 500) i", "generate_series(500, 1, -1) i"));

    let (code, out) = compare(&a, &b, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 tables compared: all equal"), "{out}");
    let (_, report) = json(&a, &b);
    assert_eq!(report["equal"], true);
    for t in ["public.items", "public.pairs", "public.log"] {
        assert_eq!(table(&report, t)["status"], "equal", "{report}");
        assert_eq!(
            table(&report, t)["rows_a"],
            a.psql(&format!("SELECT count(*) FROM {t}"))
                .parse::<i64>()
                .unwrap()
        );
    }

    // One row missing in B, one extra in B, one changed value; a composite key too; a table
    // without key; a table only in A.
    b.psql("DELETE FROM items WHERE id = 7");
    b.psql("INSERT INTO items (id, name) VALUES (9001, 'extra')");
    b.psql("UPDATE items SET price = price + 0.01 WHERE id = 250");
    b.psql("UPDATE pairs SET v = -1 WHERE a = 3 AND b = 'k13'");
    b.psql("DELETE FROM log WHERE at = 5");
    a.psql("CREATE TABLE only_a (id int PRIMARY KEY)");

    let (code, report) = json(&a, &b);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["equal"], false);
    let items = table(&report, "public.items");
    assert_eq!(items["status"], "different");
    assert_eq!(items["key"], serde_json::json!(["id"]));
    assert_eq!(
        (&items["only_in_a"], &items["only_in_b"], &items["changed"]),
        (
            &serde_json::json!(1),
            &serde_json::json!(1),
            &serde_json::json!(1)
        )
    );
    let sample: Vec<(String, String)> = items["sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_string(),
                d["key"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Keys in the order of their text ("C" collation): "250" < "7" < "9001".
    assert_eq!(
        sample,
        [
            ("changed".to_string(), "250".to_string()),
            ("only_in_a".to_string(), "7".to_string()),
            ("only_in_b".to_string(), "9001".to_string())
        ]
    );
    let pairs = table(&report, "public.pairs");
    assert_eq!(pairs["status"], "different");
    assert_eq!(pairs["sample"][0]["key"], serde_json::json!(["3", "k13"]));
    assert_eq!(pairs["changed"], 1);
    let log = table(&report, "public.log");
    assert_eq!(log["status"], "different");
    assert_eq!(
        (&log["rows_a"], &log["rows_b"]),
        (&serde_json::json!(50), &serde_json::json!(49))
    );
    assert!(log["note"].as_str().unwrap().contains("no primary key"));
    assert_eq!(table(&report, "public.only_a")["status"], "missing_in_b");

    let (code, out) = compare(&a, &b, &["--tables", "items", "--sample", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("DIFFERENT: 1 only in A, 1 only in B, 1 changed"),
        "{out}"
    );
    assert!(out.contains("changed    id=250"), "{out}");
    assert!(!out.contains("id=7"), "--sample 1 shows one key: {out}");
    assert!(out.contains("1 tables compared: 1 differ"), "{out}");

    // Equal again once B is repaired.
    b.psql("INSERT INTO items SELECT * FROM (VALUES (7, 'item 7', 8.75, timestamptz '2026-01-01 07:00+00', decode(md5('7'), 'hex'), 7 / 3.0)) v");
    b.psql("DELETE FROM items WHERE id = 9001");
    b.psql("UPDATE items SET price = price - 0.01 WHERE id = 250");
    let (code, out) = compare(&a, &b, &["--tables", "public.items"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn columns_that_differ_and_errors() {
    let a = Cluster::start(&[], &[]);
    let b = Cluster::start(&[], &[]);
    a.psql("CREATE TABLE t (id int PRIMARY KEY, x int)");
    b.psql("CREATE TABLE t (id int PRIMARY KEY, y int)");
    let (code, out) = compare(&a, &b, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("DIFFERENT: columns differ"), "{out}");

    // Same columns in another order are compared by name.
    b.psql("DROP TABLE t; CREATE TABLE t (x int, id int PRIMARY KEY)");
    a.psql("INSERT INTO t VALUES (1, 10), (2, 20)");
    b.psql("INSERT INTO t VALUES (20, 2), (10, 1)");
    let (code, out) = compare(&a, &b, &[]);
    assert_eq!(code, 0, "{out}");

    let (code, out) = compare(&a, &b, &["--tables", "nosuch"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("\"nosuch\" exists in neither database"),
        "{out}"
    );
    let out = pglcr()
        .args(["compare", "-d", &conninfo(&a)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exactly two databases"));
    let out = pglcr()
        .args([
            "compare",
            "-d",
            &conninfo(&a),
            "-d",
            "host=/nonexistent port=1 dbname=x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("could not connect"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

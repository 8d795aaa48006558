//! `pglcr catalog export` against a real PostgreSQL 15: the file equals what psql makes of
//! sql/catalog-export.sql, connection options behave as libpq's, and the result loads.

mod catalog_man;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pglcr::catalog::{Catalog, CatalogFile};
use serde_json::Value;
use support::Cluster;

const SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TYPE pair AS (a int, b text);
CREATE TYPE floatrange AS RANGE (subtype = float8);
CREATE TABLE t_pk (id int PRIMARY KEY, m mood, p posint, c pair, r floatrange,
                   v varchar(20), n numeric(10,2), body text);
CREATE TABLE t_full (a int, gone text, b text);
ALTER TABLE t_full DROP COLUMN gone;
ALTER TABLE t_full REPLICA IDENTITY FULL;
CREATE TABLE t_nothing (a int);
ALTER TABLE t_nothing REPLICA IDENTITY NOTHING;
CREATE TABLE t_index (a int NOT NULL, b int NOT NULL, c text, CONSTRAINT t_index_ba UNIQUE (b, a));
ALTER TABLE t_index REPLICA IDENTITY USING INDEX t_index_ba;
CREATE TABLE t_unique (a int UNIQUE, b text);
CREATE TABLE parted (id int, k text, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE parted_a PARTITION OF parted FOR VALUES IN ('a');
CREATE TABLE parted_b PARTITION OF parted FOR VALUES IN ('b');
CREATE UNLOGGED TABLE t_unlogged (a int);
CREATE VIEW v_pk AS SELECT id, m FROM t_pk;
INSERT INTO t_pk (id, body) SELECT g, repeat('x', 5000) FROM generate_series(1, 3) g;
-- new relfilenodes: a user table (and its TOAST table) and a mapped catalog
VACUUM FULL t_pk;
VACUUM FULL pg_class;
-- a column added to a table with rows, with a default: attmissingval
ALTER TABLE t_pk ADD COLUMN added int DEFAULT 42;
";

/// The PG* variables libpq reads: cleared so the tests see only what they set.
const PG_VARS: [&str; 14] = [
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGAPPNAME",
    "PGOPTIONS",
    "PGCONNECT_TIMEOUT",
    "PGSSLMODE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGSYSCONFDIR",
];

/// `pglcr catalog export ARGS` in a clean environment whose HOME has no password file.
fn export_cmd(home: &Path, args: &[&str]) -> Command {
    let mut c = support::pglcr();
    for v in PG_VARS {
        c.env_remove(v);
    }
    c.env("HOME", home).args(["catalog", "export"]).args(args);
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"))
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn without_lsn(mut v: Value) -> Value {
    v.as_object_mut()
        .expect("a JSON object")
        .remove("taken_at_lsn")
        .expect("taken_at_lsn");
    v
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text:.200}"))
}

fn conninfo(cluster: &Cluster) -> String {
    format!(
        "host={} port={} user=postgres dbname=postgres",
        cluster.socket_dir().display(),
        cluster.port
    )
}

fn start_with_schema() -> Cluster {
    let cluster = Cluster::start(&[], &[("wal_level", "logical")]);
    cluster.psql_script(SCHEMA);
    cluster
}

fn psql_export(cluster: &Cluster) -> Value {
    parse(&cluster.psql_script(pglcr::catalog::export::EXPORT_SQL))
}

fn relation<'a>(file: &'a CatalogFile, name: &str) -> &'a pglcr::catalog::Relation {
    file.relations
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("relation {name} not exported"))
}

#[test]
fn export_equals_psql_and_loads() {
    let cluster = start_with_schema();
    let home = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let path = out_dir.path().join("catalog.json");
    let ci = conninfo(&cluster);
    let out = run_ok(&mut export_cmd(
        home.path(),
        &["-d", &ci, "-o", path.to_str().unwrap()],
    ));
    assert!(out.stdout.is_empty(), "nothing on stdout with -o");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("}\n"), "one JSON document and a newline");
    let names: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("catalog.json")]);

    // (a) the same document psql produces from the same script
    let ours = parse(&text);
    assert_eq!(
        without_lsn(ours.clone()),
        without_lsn(psql_export(&cluster))
    );

    // the Rust model keeps every key the query produces, and the man page documents them
    let file: CatalogFile = serde_json::from_value(ours.clone()).unwrap();
    assert_eq!(serde_json::to_value(&file).unwrap(), ours);
    let mut missing = catalog_man::undocumented(&ours);
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "undocumented in pglcr-catalog.5: {missing:?}"
    );

    // (d) relations are found by their file numbers
    let catalog = Catalog::load(&path).unwrap();
    let q = |sql: &str| cluster.psql(sql);
    let db_spc: u32 = q("SELECT dattablespace FROM pg_database WHERE datname = current_database()")
        .parse()
        .unwrap();
    let global: u32 = q("SELECT oid FROM pg_tablespace WHERE spcname = 'pg_global'")
        .parse()
        .unwrap();
    let by_node = |spc: u32, rel: &str| {
        let node: u32 = q(&format!("SELECT pg_relation_filenode('{rel}')"))
            .parse()
            .unwrap();
        let oid: u32 = q(&format!("SELECT '{rel}'::regclass::oid"))
            .parse()
            .unwrap();
        let r = catalog
            .relation_by_filenode(spc, node)
            .unwrap_or_else(|| panic!("{rel}: no relation with file number {spc}/{node}"));
        assert_eq!(r.oid, oid, "{rel}");
        (r.clone(), node, oid)
    };
    let (pg_class, node, oid) = by_node(db_spc, "pg_class");
    assert_eq!(
        (pg_class.name.as_str(), pg_class.mapped),
        ("pg_class", true)
    );
    assert_ne!(node, oid, "VACUUM FULL gave pg_class a new file number");
    let (pg_database, _, _) = by_node(global, "pg_database");
    assert!(pg_database.shared && pg_database.mapped);
    let (t_pk, node, oid) = by_node(db_spc, "t_pk");
    assert_ne!(node, oid, "VACUUM FULL gave t_pk a new file number");
    let toast = q("SELECT reltoastrelid::regclass FROM pg_class WHERE relname = 't_pk'");
    let (toast_rel, toast_node, toast_oid) = by_node(db_spc, &toast);
    assert_eq!(toast_rel.kind, "t");
    assert_eq!(t_pk.toast_relid, Some(toast_oid));
    assert_eq!(t_pk.toast_relfilenode, Some(toast_node));
    assert_eq!(
        toast_rel
            .columns
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["chunk_id", "chunk_seq", "chunk_data"]
    );
    assert_eq!(catalog.relation(t_pk.oid).unwrap().name, "t_pk");

    // what the schema declared
    let f = &catalog.file;
    assert_eq!(t_pk.replica_identity, "d");
    assert_eq!(t_pk.primary_key, Some(vec![1]));
    assert_eq!(t_pk.identity_columns, Some(vec![1]));
    let cols = t_pk.columns.as_ref().unwrap();
    let col = |n: &str| cols.iter().find(|c| c.name == n).unwrap();
    assert_eq!(col("v").type_name.as_deref(), Some("character varying(20)"));
    assert_eq!(col("n").type_name.as_deref(), Some("numeric(10,2)"));
    assert!(col("added").atthasmissing);
    assert_eq!(col("added").attmissingval.as_deref(), Some("{42}"));
    let full = relation(f, "t_full");
    assert_eq!(
        (full.replica_identity.as_str(), &full.identity_columns),
        ("f", &None)
    );
    assert!(full.columns.as_ref().unwrap()[1].attisdropped);
    assert_eq!(full.columns.as_ref().unwrap()[1].type_name, None);
    let nothing = relation(f, "t_nothing");
    assert_eq!(
        (nothing.replica_identity.as_str(), &nothing.identity_columns),
        ("n", &None)
    );
    let index = relation(f, "t_index");
    assert_eq!(index.replica_identity, "i");
    assert_eq!(index.identity_columns, Some(vec![2, 1]));
    assert_eq!(index.primary_key, None);
    assert_eq!(
        index.replica_identity_index,
        Some(relation(f, "t_index_ba").oid)
    );
    let unique = relation(f, "t_unique");
    assert_eq!(
        (unique.replica_identity.as_str(), &unique.identity_columns),
        ("d", &None)
    );
    let parted = relation(f, "parted");
    assert_eq!((parted.kind.as_str(), parted.relfilenode), ("p", None));
    assert_eq!(relation(f, "parted_a").partition_parent, Some(parted.oid));
    assert_eq!(relation(f, "parted_b").partition_parent, Some(parted.oid));
    assert_eq!(relation(f, "t_pk").partition_parent, None);
    assert_eq!(relation(f, "t_unlogged").persistence, "u");
    assert_eq!(relation(f, "v_pk").kind, "v");
    assert_eq!(relation(f, "pair").kind, "c");

    let ty = |n: &str| f.types.iter().find(|t| t.name == n).unwrap();
    let labels: Vec<_> = ty("mood")
        .enum_labels
        .as_ref()
        .unwrap()
        .iter()
        .map(|l| l.label.as_str())
        .collect();
    assert_eq!(labels, ["sad", "ok", "happy"]);
    assert_eq!(
        (ty("posint").typtype.as_str(), ty("posint").typbasetype),
        ("d", Some(23))
    );
    assert_eq!(ty("pair").typrelid, Some(relation(f, "pair").oid));
    assert_eq!(ty("floatrange").range_subtype, Some(701));
    assert_eq!(
        ty("floatmultirange").multirange_of,
        Some(ty("floatrange").oid)
    );
    assert!(
        f.types.iter().all(|t| t.name != "t_pk"),
        "row types of tables are described by their columns"
    );
    assert_eq!(catalog.setting("wal_level"), Some("logical"));
    assert_eq!(catalog.database_oid(), f.database.oid);
}

#[test]
fn environment_uri_and_psql_options() {
    let cluster = start_with_schema();
    let home = tempfile::tempdir().unwrap();
    let dir = cluster.socket_dir().to_str().unwrap().to_string();
    let port = cluster.port.to_string();
    let want = without_lsn(psql_export(&cluster));
    let check = |cmd: &mut Command, what: &str| {
        let out = run_ok(cmd);
        let got = parse(&String::from_utf8(out.stdout).unwrap());
        assert_eq!(without_lsn(got), want, "{what}");
    };

    // (b) PGHOST, PGPORT, PGUSER; the database defaults to the user name; stdout
    check(
        export_cmd(home.path(), &[])
            .env("PGHOST", &dir)
            .env("PGPORT", &port)
            .env("PGUSER", "postgres"),
        "environment",
    );
    check(
        export_cmd(home.path(), &["-o", "-"])
            .env("PGHOST", &dir)
            .env("PGPORT", &port)
            .env("PGUSER", "postgres")
            .env("PGDATABASE", "postgres")
            .env("PGSSLMODE", "prefer"),
        "environment, -o -",
    );
    // a URI with the socket directory percent-encoded
    let uri = format!(
        "postgresql://postgres@{}:{port}/postgres",
        dir.replace('/', "%2F")
    );
    check(&mut export_cmd(home.path(), &["-d", &uri]), "URI");
    let uri =
        format!("postgresql:///postgres?host={dir}&port={port}&user=postgres&sslmode=disable");
    check(
        &mut export_cmd(home.path(), &["-d", &uri]),
        "URI with parameters",
    );
    // psql-style options
    check(
        &mut export_cmd(
            home.path(),
            &["-h", &dir, "-p", &port, "-U", "postgres", "-d", "postgres"],
        ),
        "-h -p -U -d",
    );
    // the connection string wins over the environment
    check(
        export_cmd(home.path(), &["-d", &conninfo(&cluster)])
            .env("PGHOST", "/nonexistent")
            .env("PGPORT", "1")
            .env("PGUSER", "nobody"),
        "connection string over environment",
    );

    // TLS modes are refused before connecting
    let out =
        run(export_cmd(home.path(), &["-d", &conninfo(&cluster)]).env("PGSSLMODE", "require"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("requires TLS"));
}

#[test]
fn wrong_port_names_host_and_port() {
    let cluster = Cluster::start(&[], &[]);
    let home = tempfile::tempdir().unwrap();
    let dir = cluster.socket_dir().to_str().unwrap().to_string();
    let wrong = (cluster.port - 1).to_string();
    let out = run(&mut export_cmd(
        home.path(),
        &["-h", &dir, "-p", &wrong, "-U", "postgres"],
    ));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("pglcr: error: could not connect")
            && err.contains(&format!("host \"{dir}\" port {wrong}")),
        "{err}"
    );
    // a missing database: the server's message
    let out = run(&mut export_cmd(
        home.path(),
        &[
            "-h",
            &dir,
            "-p",
            &cluster.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "nosuchdb",
        ],
    ));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("database \"nosuchdb\" does not exist"),
        "{err}"
    );
    // a file that cannot be written: exit 1, nothing left behind
    let out = run(&mut export_cmd(
        home.path(),
        &[
            "-d",
            &conninfo(&cluster),
            "-o",
            home.path().join("missing/catalog.json").to_str().unwrap(),
        ],
    ));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not write"));
}

/// Writes a password file readable by its owner only.
fn write_passfile(path: &Path, text: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.to_path_buf()
}

#[test]
fn password_file() {
    use std::os::unix::fs::PermissionsExt;
    const PASSWORD: &str = "s3cret:with\\colon";
    // initdb reads the superuser's password from a file the server's owner can read
    let mut pwfile = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut pwfile, format!("{PASSWORD}\n").as_bytes()).unwrap();
    std::fs::set_permissions(pwfile.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let pwfile_arg = format!("--pwfile={}", pwfile.path().display());
    let cluster = Cluster::start(&["--auth-local=scram-sha-256", &pwfile_arg], &[]);
    let home = tempfile::tempdir().unwrap();
    let dir = cluster.socket_dir().to_str().unwrap().to_string();
    let port = cluster.port.to_string();
    let args = ["-h", &dir, "-p", &port, "-U", "postgres", "-d", "postgres"];
    let escaped = PASSWORD.replace('\\', "\\\\").replace(':', "\\:");
    let passfile = write_passfile(
        &home.path().join("pgpass"),
        &format!(
            "# comment\nother:*:*:*:wrong\n{}:{port}:postgres:postgres:{escaped}\n",
            dir.replace(':', "\\:")
        ),
        0o600,
    );

    // with PGPASSFILE
    let out = run_ok(export_cmd(home.path(), &args).env("PGPASSFILE", &passfile));
    let file: CatalogFile = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(file.database.name, "postgres");
    // with ~/.pgpass
    std::fs::copy(&passfile, home.path().join(".pgpass")).unwrap();
    run_ok(&mut export_cmd(home.path(), &args));
    // and with the password in the environment instead
    std::fs::remove_file(home.path().join(".pgpass")).unwrap();
    run_ok(export_cmd(home.path(), &args).env("PGPASSWORD", PASSWORD));

    // without a password
    let out = run(&mut export_cmd(home.path(), &args));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("host \"{dir}\" port {port}"))
            && err.contains("password authentication for user \"postgres\"")
            && err.contains("no password was supplied"),
        "{err}"
    );

    // a password file others can read is ignored, with libpq's warning
    let open = write_passfile(
        &home.path().join("open"),
        &std::fs::read_to_string(&passfile).unwrap(),
        0o644,
    );
    let out = run(export_cmd(home.path(), &args).env("PGPASSFILE", &open));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("has group or world access"), "{err}");

    // a wrong password: the server's message, and where the password came from
    let bad = write_passfile(&home.path().join("bad"), "*:*:*:*:wrong\n", 0o600);
    let out = run(export_cmd(home.path(), &args).env("PGPASSFILE", &bad));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("password authentication failed for user \"postgres\"")
            && err.contains(&format!(
                "password retrieved from file \"{}\"",
                bad.display()
            )),
        "{err}"
    );
}

//! man/pglcr-catalog.5 must document every key of the catalog file: each key of the Rust model
//! (serialized from a sample with every optional field set) appears as `\fBkey\fR` in the
//! section describing its object.

mod catalog_man;

use pglcr::catalog::{CatalogFile, Column, Database, EnumLabel, Named, Relation, Type};

fn sample() -> CatalogFile {
    let column = Column {
        attnum: 1,
        name: "id".into(),
        type_oid: 23,
        type_name: Some("integer".into()),
        type_name_no_typmod: Some("integer".into()),
        typmod: -1,
        attlen: 4,
        attbyval: true,
        attalign: "i".into(),
        attstorage: "p".into(),
        attisdropped: false,
        attnotnull: true,
        attcompression: Some("p".into()),
        atthasmissing: true,
        attmissingval: Some("{1}".into()),
    };
    let relation = Relation {
        oid: 16385,
        relfilenode: Some(16385),
        tablespace: 1663,
        shared: false,
        mapped: false,
        namespace: "public".into(),
        name: "t".into(),
        kind: "r".into(),
        persistence: "p".into(),
        replica_identity: "i".into(),
        replica_identity_index: Some(16390),
        primary_key: Some(vec![1]),
        identity_columns: Some(vec![1]),
        toast_relid: Some(16388),
        toast_relfilenode: Some(16388),
        partition_parent: Some(16380),
        columns: Some(vec![column]),
        namespace_oid: Some(2200),
        rewrite_of: Some(16384),
    };
    let ty = Type {
        oid: 16400,
        name: "mood".into(),
        namespace: "public".into(),
        formatted: "mood".into(),
        typlen: 4,
        typbyval: true,
        typalign: "i".into(),
        typtype: "e".into(),
        typcategory: "E".into(),
        typdelim: ",".into(),
        typelem: Some(1),
        typarray: Some(16399),
        typbasetype: Some(1),
        typtypmod: -1,
        typrelid: Some(1),
        typoutput: "enum_out".into(),
        typoutput_oid: Some(3533),
        enum_labels: Some(vec![EnumLabel {
            oid: 16401,
            label: "sad".into(),
        }]),
        range_subtype: Some(1),
        multirange_of: Some(1),
    };
    // the settings sql/catalog-export.sql exports
    let settings = [
        "TimeZone",
        "DateStyle",
        "IntervalStyle",
        "lc_monetary",
        "lc_numeric",
        "extra_float_digits",
        "bytea_output",
        "server_encoding",
        "wal_level",
        "wal_segment_size",
    ];
    let named = Named {
        oid: 1663,
        name: "pg_default".into(),
    };
    CatalogFile {
        format: "pglcr-catalog".into(),
        format_version: 1,
        taken_at_lsn: "0/1000000".into(),
        server_version: "15".into(),
        server_version_num: 150000,
        system_identifier: "1".into(),
        timeline: 1,
        checkpoint_redo_lsn: Some("0/F00000".into()),
        database: Database {
            oid: 5,
            name: "postgres".into(),
            encoding: "UTF8".into(),
            tablespace: 1663,
        },
        settings: settings
            .iter()
            .map(|s| (s.to_string(), String::new()))
            .collect(),
        tablespaces: vec![named.clone()],
        namespaces: vec![named],
        relations: vec![relation],
        types: vec![ty],
    }
}

#[test]
fn every_field_of_the_model_is_documented() {
    let value = serde_json::to_value(sample()).unwrap();
    let mut missing = catalog_man::undocumented(&value);
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "keys missing from man/pglcr-catalog.5: {missing:?}"
    );
}

#[test]
fn the_documented_query_is_the_shipped_one() {
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/pglcr-catalog.5"),
    )
    .unwrap();
    assert!(page.contains("sql/catalog\\-export.sql"));
    assert!(pglcr::catalog::export::EXPORT_SQL
        .contains("psql -X -q -A -t -v ON_ERROR_STOP=1 -d DBNAME -f catalog-export.sql"));
    assert!(page.contains("psql \\-X \\-q \\-A \\-t \\-v ON_ERROR_STOP=1 \\-d DBNAME"));
}

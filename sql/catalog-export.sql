-- pglcr catalog dictionary (format version 1).
--
-- Produces one JSON document describing the current database: what `pglcr decode` needs to
-- turn WAL into rows. Run it with psql alone:
--
--   psql -X -q -A -t -v ON_ERROR_STOP=1 -d DBNAME -f catalog-export.sql -o catalog.json
--
-- `pglcr catalog export` runs this same query. Columns that exist only in some server
-- versions are read through to_jsonb(row) so one query serves PostgreSQL 13 to 18.
-- The format is documented in pglcr-catalog(5).
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT jsonb_pretty(jsonb_build_object(
  'format', 'pglcr-catalog',
  'format_version', 1,
  'taken_at_lsn', (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                        ELSE pg_current_wal_insert_lsn() END)::text,
  'server_version', current_setting('server_version'),
  'server_version_num', current_setting('server_version_num')::int,
  'system_identifier', (SELECT system_identifier::text FROM pg_control_system()),
  'timeline', (SELECT timeline_id FROM pg_control_checkpoint()),
  'checkpoint_redo_lsn', (SELECT redo_lsn::text FROM pg_control_checkpoint()),
  'database', (SELECT jsonb_build_object(
                 'oid', d.oid::bigint, 'name', d.datname,
                 'encoding', pg_encoding_to_char(d.encoding),
                 'tablespace', d.dattablespace::bigint)
               FROM pg_database d WHERE d.datname = current_database()),
  'settings', (SELECT jsonb_object_agg(name, setting) FROM pg_settings
               WHERE name IN ('TimeZone', 'DateStyle', 'IntervalStyle', 'lc_monetary',
                              'lc_numeric', 'extra_float_digits', 'bytea_output',
                              'server_encoding', 'wal_level', 'wal_segment_size')),
  'tablespaces', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'oid', t.oid::bigint, 'name', t.spcname) ORDER BY t.oid), '[]')
                  FROM pg_tablespace t),
  'namespaces', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'oid', n.oid::bigint, 'name', n.nspname) ORDER BY n.oid), '[]')
                 FROM pg_namespace n),
  'relations', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'oid', c.oid::bigint,
      'relfilenode', pg_relation_filenode(c.oid)::bigint,
      'tablespace', CASE WHEN c.reltablespace <> 0 THEN c.reltablespace
                         WHEN c.relisshared THEN (SELECT oid FROM pg_tablespace WHERE spcname = 'pg_global')
                         ELSE (SELECT dattablespace FROM pg_database WHERE datname = current_database())
                    END::bigint,
      'shared', c.relisshared,
      'mapped', c.relfilenode = 0 AND c.relkind IN ('r', 'i', 't', 'm', 'S'),
      'namespace', n.nspname,
      'namespace_oid', c.relnamespace::bigint,
      'name', c.relname,
      'kind', c.relkind::text,
      'persistence', c.relpersistence::text,
      'replica_identity', c.relreplident::text,
      'replica_identity_index', (SELECT i.indexrelid::bigint FROM pg_index i
                                 WHERE i.indrelid = c.oid AND i.indisreplident),
      'primary_key', (SELECT to_jsonb(i.indkey::int2[]) FROM pg_index i
                      WHERE i.indrelid = c.oid AND i.indisprimary),
      'identity_columns', (SELECT to_jsonb(i.indkey::int2[]) FROM pg_index i
                           WHERE i.indrelid = c.oid AND
                                 (CASE c.relreplident WHEN 'i' THEN i.indisreplident
                                                      WHEN 'd' THEN i.indisprimary
                                                      ELSE false END)),
      'toast_relid', nullif(c.reltoastrelid, 0)::bigint,
      'toast_relfilenode', CASE WHEN c.reltoastrelid <> 0
                                THEN pg_relation_filenode(c.reltoastrelid)::bigint END,
      'partition_parent', (SELECT h.inhparent::bigint FROM pg_inherits h
                           WHERE h.inhrelid = c.oid AND c.relispartition),
      'columns', CASE WHEN c.relkind IN ('r', 'p', 't', 'm', 'c', 'f', 'v') THEN
                   (SELECT coalesce(jsonb_agg(jsonb_build_object(
                      'attnum', a.attnum,
                      'name', a.attname,
                      'type_oid', a.atttypid::bigint,
                      'type_name', CASE WHEN a.attisdropped THEN NULL
                                        ELSE format_type(a.atttypid, a.atttypmod) END,
                      'type_name_no_typmod', CASE WHEN a.attisdropped THEN NULL
                                                  ELSE format_type(a.atttypid, NULL) END,
                      'typmod', a.atttypmod,
                      'attlen', a.attlen,
                      'attbyval', a.attbyval,
                      'attalign', a.attalign::text,
                      'attstorage', a.attstorage::text,
                      'attisdropped', a.attisdropped,
                      'attnotnull', a.attnotnull,
                      'attcompression', nullif(to_jsonb(a) ->> 'attcompression', ''),
                      'atthasmissing', a.atthasmissing,
                      'attmissingval', CASE WHEN a.atthasmissing THEN a.attmissingval::text END
                    ) ORDER BY a.attnum), '[]')
                    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0)
                 END
    ) ORDER BY c.oid), '[]')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace),
  'types', (SELECT coalesce(jsonb_agg(jsonb_build_object(
      'oid', t.oid::bigint,
      'name', t.typname,
      'namespace', n.nspname,
      'formatted', format_type(t.oid, NULL),
      'typlen', t.typlen,
      'typbyval', t.typbyval,
      'typalign', t.typalign::text,
      'typtype', t.typtype::text,
      'typcategory', t.typcategory::text,
      'typdelim', t.typdelim::text,
      'typelem', nullif(t.typelem, 0)::bigint,
      'typarray', nullif(t.typarray, 0)::bigint,
      'typbasetype', nullif(t.typbasetype, 0)::bigint,
      'typtypmod', t.typtypmod,
      'typrelid', nullif(t.typrelid, 0)::bigint,
      'typoutput', t.typoutput::text,
      'typoutput_oid', t.typoutput::oid::bigint,
      'enum_labels', CASE WHEN t.typtype = 'e' THEN
                       (SELECT jsonb_agg(jsonb_build_object('oid', e.oid::bigint,
                                                            'label', e.enumlabel)
                                         ORDER BY e.enumsortorder)
                        FROM pg_enum e WHERE e.enumtypid = t.oid) END,
      'range_subtype', (SELECT r.rngsubtype::bigint FROM pg_range r WHERE r.rngtypid = t.oid),
      'multirange_of', (SELECT r.rngtypid::bigint FROM pg_range r
                        WHERE (to_jsonb(r) ->> 'rngmultitypid')::oid = t.oid)
    ) ORDER BY t.oid), '[]')
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    -- Row types of ordinary relations are described by their relation's columns.
    WHERE t.typtype <> 'c' OR t.typrelid IN (SELECT oid FROM pg_class WHERE relkind = 'c'))
));
COMMIT;

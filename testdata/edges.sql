-- Helper functions for the pg15-edges case (testdata/generate).
-- They place WAL records at exact positions by sizing a non-transactional
-- logical message.  Positions are handled as "byte positions" (the WAL stream
-- without page headers, like XLogRecPtrToBytePos in xlog.c), which makes
-- "the next record starts at X" a simple subtraction.
--
-- Size of a non-transactional message record with prefix 'e' and a payload
-- of N >= 230 bytes:
--   24 (XLogRecord) + 5 (XLR_BLOCK_ID_DATA_LONG header) + 24 (xl_logical_message)
--   + 2 (prefix "e\0") + N                     = 55 + N
-- Records start MAXALIGNed (8); page headers are 24 bytes, 40 on a segment's
-- first page; 8 kB pages.

CREATE FUNCTION wal_segsize() RETURNS bigint LANGUAGE sql IMMUTABLE AS
$$ SELECT pg_size_bytes(current_setting('wal_segment_size')) $$;

CREATE FUNCTION wal_usable_per_seg() RETURNS bigint LANGUAGE sql AS
$$ SELECT (wal_segsize() / 8192) * (8192 - 24) - 16 $$;

-- XLogRecPtrToBytePos
CREATE FUNCTION wal_bytepos(p pg_lsn) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  ptr bigint := (p - '0/0'::pg_lsn)::bigint;
  fullsegs bigint := ptr / wal_segsize();
  off bigint := ptr % wal_segsize();
  fullpages bigint := off / 8192;
  inpage bigint := off % 8192;
  r bigint;
BEGIN
  IF fullpages = 0 THEN
    r := fullsegs * wal_usable_per_seg() + (inpage - 40);
  ELSE
    r := fullsegs * wal_usable_per_seg() + (8192 - 40) + (fullpages - 1) * (8192 - 24) + (inpage - 24);
  END IF;
  RETURN r;
END $$;

-- XLogBytePosToRecPtr (a position at a page start maps past the page header)
CREATE FUNCTION wal_recptr(bp bigint) RETURNS pg_lsn LANGUAGE plpgsql AS $$
DECLARE
  fullsegs bigint := bp / wal_usable_per_seg();
  left_ bigint := bp % wal_usable_per_seg();
  off bigint;
  fullpages bigint;
BEGIN
  IF left_ < 8192 - 40 THEN
    off := left_ + 40;
  ELSE
    left_ := left_ - (8192 - 40);
    fullpages := left_ / (8192 - 24);
    left_ := left_ % (8192 - 24);
    off := (fullpages + 1) * 8192 + left_ + 24;
  END IF;
  RETURN '0/0'::pg_lsn + (fullsegs * wal_segsize() + off);
END $$;

-- byte position of a page boundary E (the first usable byte after its header)
CREATE FUNCTION wal_boundary_bp(e pg_lsn) RETURNS bigint LANGUAGE sql AS $$
  SELECT wal_bytepos(e + CASE WHEN ((e - '0/0'::pg_lsn)::bigint % wal_segsize()) = 0 THEN 40 ELSE 24 END)
$$;

-- next page boundary (seg = false: not a segment boundary) or segment boundary
-- (seg = true) that is at least min_gap usable bytes after the insert position
CREATE FUNCTION wal_next_boundary(seg bool, min_gap bigint) RETURNS pg_lsn LANGUAGE plpgsql AS $$
DECLARE
  cur pg_lsn := pg_current_wal_insert_lsn();
  b bigint := wal_bytepos(cur);
  unit bigint := CASE WHEN seg THEN wal_segsize() ELSE 8192 END;
  e bigint := ((cur - '0/0'::pg_lsn)::bigint / unit + 1) * unit;
BEGIN
  LOOP
    IF (seg OR e % wal_segsize() <> 0) AND wal_boundary_bp('0/0'::pg_lsn + e) - b >= min_gap THEN
      RETURN '0/0'::pg_lsn + e;
    END IF;
    e := e + unit;
  END LOOP;
END $$;

-- Emit one message so that the next record starts at byte position target.
-- Returns the LSN of the message.
CREATE FUNCTION wal_pad_to(target bigint) RETURNS pg_lsn LANGUAGE plpgsql AS $$
DECLARE
  b bigint := wal_bytepos(pg_current_wal_insert_lsn());
  l bigint := target - b;
BEGIN
  IF l < 288 OR l % 8 <> 0 THEN
    RAISE EXCEPTION 'cannot pad % bytes', l;
  END IF;
  PERFORM pg_logical_emit_message(false, 'e', repeat('x', (l - 55)::int));
  RETURN wal_recptr(b);
END $$;

-- Coarse filling with full-page images: the pad message above prints its whole
-- payload in pg_waldump's output, so large distances are covered by updating
-- one row on each page of t_fill after a CHECKPOINT (one FPI of ~8 kB per
-- page, short output lines).  The pages hold a repeated text, so the saved
-- (zstd compressed) segments stay small.
CREATE TABLE t_fill (id int, n int, pad text);
ALTER TABLE t_fill ALTER COLUMN pad SET STORAGE PLAIN;
INSERT INTO t_fill SELECT g, 0, repeat('f', 1000) FROM generate_series(1, 2200) g;
-- Stop as soon as at most "slack" bytes are left before byte position target.
-- Pages are visited from start_page on (wrapping around); returns the page to
-- continue with next time.
CREATE FUNCTION wal_fill_until(target bigint, slack bigint, start_page bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  p bigint := start_page;
  npages bigint;
  steps int := 0;
BEGIN
  WHILE target - wal_bytepos(pg_current_wal_insert_lsn()) > slack LOOP
    npages := pg_relation_size('t_fill') / 8192;
    UPDATE t_fill SET n = n + 1
     WHERE ctid = (SELECT ctid FROM t_fill
                    WHERE ctid >= ('(' || p % npages || ',0)')::tid AND ctid < ('(' || p % npages + 1 || ',0)')::tid
                    ORDER BY ctid LIMIT 1);
    p := p + 1;
    steps := steps + 1;
    IF steps > 5000 THEN RAISE EXCEPTION 'fill does not progress'; END IF;
  END LOOP;
  RETURN p;
END $$;

-- Migration: 001_index_change
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Index: ix_code (different definition: dropped and created again)
--   ~ Index: ix_email (different definition: dropped and created again)
--   ~ Index: ix_name (different definition: dropped and created again)
--
-- Hazards:
--   table rewrite or lock: building index ix_code blocks writes to contacts
--   table rewrite or lock: building index ix_email blocks writes to contacts
--   may fail on existing data: unique index ix_email fails if contacts has duplicates
--   table rewrite or lock: building index ix_name blocks writes to contacts

-- UP
DROP INDEX public.ix_code;
DROP INDEX public.ix_email;
DROP INDEX public.ix_name;
CREATE INDEX ix_code ON public.contacts USING hash (code);
CREATE UNIQUE INDEX ix_email ON public.contacts USING btree (email);
CREATE INDEX ix_name ON public.contacts USING btree (first, last);

-- DOWN
DROP INDEX public.ix_code;
DROP INDEX public.ix_email;
DROP INDEX public.ix_name;
CREATE INDEX ix_code ON public.contacts USING btree (code);
CREATE INDEX ix_email ON public.contacts USING btree (email);
CREATE INDEX ix_name ON public.contacts USING btree (last, first);

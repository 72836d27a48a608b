-- Migration: 001_names_63_bytes
-- Description: nself db schema import b.dbml
--
-- Changes:
--   + Table: child_with_a_long_name_nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn
--   ~ Column: éééééééééééééééééééééééééééééééx.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc (now not null)
--   + Column: éééééééééééééééééééééééééééééééx.üüüüüüüüüüüüüüüüüüüüüüüüüüüüüüü
--   + Unique: éééééééééééééééééééééééééééééééx.éééééééééééééé_ccccccccccccccccccccccccccccc_key
--   + Check: éééééééééééééééééééééééééééééééx.éééééééééééééé_üüüüüüüüüüüüüü_check
--   + Index: éééééééééééééé_ccccccccccccccccccccccccccccc_idx
--
-- Hazards:
--   may fail on existing data: SET NOT NULL on éééééééééééééééééééééééééééééééx.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc fails if it holds NULLs (and scans the table)
--   may fail on existing data: éééééééééééééé_ccccccccccccccccccccccccccccc_key fails if éééééééééééééééééééééééééééééééx has duplicate (or, for a primary key, NULL) values in (ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc)
--   table rewrite or lock: building the index for éééééééééééééé_ccccccccccccccccccccccccccccc_key blocks writes to éééééééééééééééééééééééééééééééx
--   may fail on existing data: éééééééééééééé_üüüüüüüüüüüüüü_check fails if existing rows of éééééééééééééééééééééééééééééééx violate it
--   table rewrite or lock: checking éééééééééééééé_üüüüüüüüüüüüüü_check scans éééééééééééééééééééééééééééééééx under a lock
--   table rewrite or lock: building index éééééééééééééé_ccccccccccccccccccccccccccccc_idx blocks writes to éééééééééééééééééééééééééééééééx

-- UP
CREATE TABLE public.child_with_a_long_name_nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn (
  id integer NOT NULL,
  parent_id integer,
  CONSTRAINT child_with_a_long_name_nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn_pkey PRIMARY KEY (id)
);

ALTER TABLE public."éééééééééééééééééééééééééééééééx" ADD COLUMN "üüüüüüüüüüüüüüüüüüüüüüüüüüüüüüü" integer;
ALTER TABLE public."éééééééééééééééééééééééééééééééx" ALTER COLUMN ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc SET NOT NULL;
ALTER TABLE public."éééééééééééééééééééééééééééééééx" ADD CONSTRAINT "éééééééééééééé_ccccccccccccccccccccccccccccc_key" UNIQUE (ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc);
ALTER TABLE public."éééééééééééééééééééééééééééééééx" ADD CONSTRAINT "éééééééééééééé_üüüüüüüüüüüüüü_check" CHECK ("üüüüüüüüüüüüüüüüüüüüüüüüüüüüüüü" >= 0);
CREATE INDEX "éééééééééééééé_ccccccccccccccccccccccccccccc_idx" ON public."éééééééééééééééééééééééééééééééx" USING btree (ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc, id);
ALTER TABLE public.child_with_a_long_name_nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn ADD CONSTRAINT child_with_a_long_name_nnnnnnnnnnnnnnnnnnnnnnnnn_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES public."éééééééééééééééééééééééééééééééx" (id) DEFERRABLE;

-- DOWN
DROP INDEX public."éééééééééééééé_ccccccccccccccccccccccccccccc_idx";
ALTER TABLE public."éééééééééééééééééééééééééééééééx" DROP CONSTRAINT "éééééééééééééé_ccccccccccccccccccccccccccccc_key";
ALTER TABLE public."éééééééééééééééééééééééééééééééx" DROP CONSTRAINT "éééééééééééééé_üüüüüüüüüüüüüü_check";
DROP TABLE public.child_with_a_long_name_nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn;
ALTER TABLE public."éééééééééééééééééééééééééééééééx" DROP COLUMN "üüüüüüüüüüüüüüüüüüüüüüüüüüüüüüü";
ALTER TABLE public."éééééééééééééééééééééééééééééééx" ALTER COLUMN ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc DROP NOT NULL;

-- Migration: 001_primary_key_add
-- Description: nself db schema import b.dbml
--
-- Changes:
--   + Primary key: pairs.pairs_pkey
--
-- Hazards:
--   may fail on existing data: pairs_pkey fails if pairs has duplicate (or, for a primary key, NULL) values in (a)
--   table rewrite or lock: building the index for pairs_pkey blocks writes to pairs

-- UP
ALTER TABLE public.pairs ADD CONSTRAINT pairs_pkey PRIMARY KEY (a);

-- DOWN
ALTER TABLE public.pairs DROP CONSTRAINT pairs_pkey;

-- Migration: 001_primary_key_change
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Primary key: pairs.pairs_pkey (different definition: dropped and created again)
--
-- Hazards:
--   may fail on existing data: pairs_pkey fails if pairs has duplicate (or, for a primary key, NULL) values in (a, b)
--   table rewrite or lock: building the index for pairs_pkey blocks writes to pairs

-- UP
ALTER TABLE public.pairs DROP CONSTRAINT pairs_pkey;
ALTER TABLE public.pairs ADD CONSTRAINT pairs_pkey PRIMARY KEY (a, b);

-- DOWN
ALTER TABLE public.pairs DROP CONSTRAINT pairs_pkey;
ALTER TABLE public.pairs ADD CONSTRAINT pairs_pkey PRIMARY KEY (a);

-- Migration: 001_primary_key_drop
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: pairs.a (now nullable)
--   - Primary key: pairs.pairs_pkey

-- UP
ALTER TABLE public.pairs DROP CONSTRAINT pairs_pkey;
ALTER TABLE public.pairs ALTER COLUMN a DROP NOT NULL;

-- DOWN
ALTER TABLE public.pairs ALTER COLUMN a SET NOT NULL;
ALTER TABLE public.pairs ADD CONSTRAINT pairs_pkey PRIMARY KEY (a);

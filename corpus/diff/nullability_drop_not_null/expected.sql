-- Migration: 001_nullability_drop_not_null
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: items.name (now nullable)
--   ~ Column: items.price (now nullable)

-- UP
ALTER TABLE public.items ALTER COLUMN name DROP NOT NULL;
ALTER TABLE public.items ALTER COLUMN price DROP NOT NULL;

-- DOWN
ALTER TABLE public.items ALTER COLUMN name SET NOT NULL;
ALTER TABLE public.items ALTER COLUMN price SET NOT NULL;

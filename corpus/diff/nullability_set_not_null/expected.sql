-- Migration: 001_nullability_set_not_null
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: items.name (now not null)
--   ~ Column: items.price (now not null)
--
-- Hazards:
--   may fail on existing data: SET NOT NULL on items.name fails if it holds NULLs (and scans the table)
--   may fail on existing data: SET NOT NULL on items.price fails if it holds NULLs (and scans the table)

-- UP
ALTER TABLE public.items ALTER COLUMN name SET NOT NULL;
ALTER TABLE public.items ALTER COLUMN price SET NOT NULL;

-- DOWN
ALTER TABLE public.items ALTER COLUMN name DROP NOT NULL;
ALTER TABLE public.items ALTER COLUMN price DROP NOT NULL;

-- Migration: 001_type_text_to_integer
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: stock.qty (different type: text → integer)
--
-- Hazards:
--   table rewrite or lock: changing the type of stock.qty rewrites the table under an exclusive lock
--   may fail on existing data: values of stock.qty that do not convert to integer make the conversion fail

-- UP
ALTER TABLE public.stock ALTER COLUMN qty TYPE integer USING qty::integer;

-- DOWN
ALTER TABLE public.stock ALTER COLUMN qty TYPE text USING qty::text;

-- Migration: 001_enum_other_schema_reorder
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Enum: app.level (values added: extreme)
--   ~ Column: runs.level (default 'extreme'::app.level added)
--
-- Hazards:
--   table rewrite or lock: recreating type app.level rewrites every table with a column of that type

-- UP
ALTER TYPE app.level RENAME TO level__nself_old;
CREATE TYPE app.level AS ENUM ('high', 'mid', 'low', 'extreme');
ALTER TABLE public.runs ALTER COLUMN level TYPE app.level USING level::text::app.level;
ALTER TABLE public.runs ALTER COLUMN level SET DEFAULT 'extreme'::app.level;
ALTER TABLE app.jobs ALTER COLUMN level DROP DEFAULT;
ALTER TABLE app.jobs ALTER COLUMN level TYPE app.level USING level::text::app.level;
ALTER TABLE app.jobs ALTER COLUMN level SET DEFAULT 'mid'::app.level;
DROP TYPE app.level__nself_old;

-- DOWN
ALTER TYPE app.level RENAME TO level__nself_old;
CREATE TYPE app.level AS ENUM ('low', 'mid', 'high');
ALTER TABLE public.runs ALTER COLUMN level DROP DEFAULT;
ALTER TABLE public.runs ALTER COLUMN level TYPE app.level USING level::text::app.level;
ALTER TABLE app.jobs ALTER COLUMN level DROP DEFAULT;
ALTER TABLE app.jobs ALTER COLUMN level TYPE app.level USING level::text::app.level;
ALTER TABLE app.jobs ALTER COLUMN level SET DEFAULT 'mid'::app.level;
DROP TYPE app.level__nself_old;

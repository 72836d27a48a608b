-- Migration: 001_enum_values_reorder
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Enum: task_state (values reordered)
--
-- Hazards:
--   table rewrite or lock: recreating type task_state rewrites every table with a column of that type

-- UP
ALTER TYPE public.task_state RENAME TO task_state__nself_old;
CREATE TYPE public.task_state AS ENUM ('high', 'mid', 'low');
ALTER TABLE public.tasks ALTER COLUMN state DROP DEFAULT;
ALTER TABLE public.tasks ALTER COLUMN state TYPE public.task_state USING state::text::public.task_state;
ALTER TABLE public.tasks ALTER COLUMN state SET DEFAULT 'mid'::task_state;
DROP TYPE public.task_state__nself_old;

-- DOWN
ALTER TYPE public.task_state RENAME TO task_state__nself_old;
CREATE TYPE public.task_state AS ENUM ('low', 'mid', 'high');
ALTER TABLE public.tasks ALTER COLUMN state DROP DEFAULT;
ALTER TABLE public.tasks ALTER COLUMN state TYPE public.task_state USING state::text::public.task_state;
ALTER TABLE public.tasks ALTER COLUMN state SET DEFAULT 'mid'::task_state;
DROP TYPE public.task_state__nself_old;

-- Migration: 001_enum_value_remove
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Enum: task_state (values removed: doing)
--
-- Hazards:
--   table rewrite or lock: recreating type task_state rewrites every table with a column of that type
--   may fail on existing data: rows holding the removed value(s) doing make the conversion fail

-- UP
ALTER TYPE public.task_state RENAME TO task_state__nself_old;
CREATE TYPE public.task_state AS ENUM ('todo', 'done');
ALTER TABLE public.tasks ALTER COLUMN state TYPE public.task_state USING state::text::public.task_state;
DROP TYPE public.task_state__nself_old;

-- DOWN
ALTER TYPE public.task_state ADD VALUE 'doing' AFTER 'todo';

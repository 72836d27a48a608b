-- Migration: 001_enum_value_add_end
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Enum: task_state (values added: done)

-- UP
ALTER TYPE public.task_state ADD VALUE 'done' AFTER 'doing';

-- DOWN
ALTER TYPE public.task_state RENAME TO task_state__nself_old;
CREATE TYPE public.task_state AS ENUM ('todo', 'doing');
ALTER TABLE public.tasks ALTER COLUMN state TYPE public.task_state USING state::text::public.task_state;
DROP TYPE public.task_state__nself_old;

-- Migration: 001_enum_array_default
-- Description: nself db schema import b.dbml
--
-- Changes:
--   + Column: tasks.history

-- UP
ALTER TABLE public.tasks ADD COLUMN history public.task_state[] DEFAULT '{todo}'::task_state[];

-- DOWN
ALTER TABLE public.tasks DROP COLUMN history;

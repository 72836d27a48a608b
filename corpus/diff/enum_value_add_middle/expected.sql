-- Migration: 001_enum_value_add_middle_enum_values
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Enum: task_state (values added: doing)

-- UP
ALTER TYPE public.task_state ADD VALUE 'doing' AFTER 'todo';

-- DOWN
ALTER TYPE public.task_state RENAME TO task_state__nself_old;
CREATE TYPE public.task_state AS ENUM ('todo', 'done');
ALTER TABLE public.tasks ALTER COLUMN state DROP DEFAULT;
ALTER TABLE public.tasks ALTER COLUMN state TYPE public.task_state USING state::text::public.task_state;
ALTER TABLE public.tasks ALTER COLUMN state SET DEFAULT 'todo'::task_state;
DROP TYPE public.task_state__nself_old;

-- Migration: 002_enum_value_add_middle
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: tasks.state (different default: 'doing'::task_state)
--   + Column: tasks.phase

-- UP
ALTER TABLE public.tasks ADD COLUMN phase public.task_state NOT NULL DEFAULT 'doing'::task_state;
ALTER TABLE public.tasks ALTER COLUMN state SET DEFAULT 'doing'::task_state;

-- DOWN
ALTER TABLE public.tasks DROP COLUMN phase;
ALTER TABLE public.tasks ALTER COLUMN state SET DEFAULT 'todo'::task_state;

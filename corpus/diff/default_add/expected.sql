-- Migration: 001_default_add
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: settings.created_at (default now() added)
--   ~ Column: settings.label (default 'none'::character varying added)
--   ~ Column: settings.lvl (default 'low'::level added)
--   ~ Column: settings.n (default 5 added)
--   ~ Column: settings.flag (default true added)

-- UP
ALTER TABLE public.settings ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE public.settings ALTER COLUMN label SET DEFAULT 'none'::character varying;
ALTER TABLE public.settings ALTER COLUMN lvl SET DEFAULT 'low'::level;
ALTER TABLE public.settings ALTER COLUMN n SET DEFAULT 5;
ALTER TABLE public.settings ALTER COLUMN flag SET DEFAULT true;

-- DOWN
ALTER TABLE public.settings ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE public.settings ALTER COLUMN label DROP DEFAULT;
ALTER TABLE public.settings ALTER COLUMN lvl DROP DEFAULT;
ALTER TABLE public.settings ALTER COLUMN n DROP DEFAULT;
ALTER TABLE public.settings ALTER COLUMN flag DROP DEFAULT;

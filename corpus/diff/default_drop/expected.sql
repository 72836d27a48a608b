-- Migration: 001_default_drop
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: settings.created_at (default removed)
--   ~ Column: settings.label (default removed)
--   ~ Column: settings.lvl (default removed)
--   ~ Column: settings.n (default removed)
--   ~ Column: settings.flag (default removed)

-- UP
ALTER TABLE public.settings ALTER COLUMN created_at DROP DEFAULT;
ALTER TABLE public.settings ALTER COLUMN label DROP DEFAULT;
ALTER TABLE public.settings ALTER COLUMN lvl DROP DEFAULT;
ALTER TABLE public.settings ALTER COLUMN n DROP DEFAULT;
ALTER TABLE public.settings ALTER COLUMN flag DROP DEFAULT;

-- DOWN
ALTER TABLE public.settings ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE public.settings ALTER COLUMN label SET DEFAULT 'none'::character varying;
ALTER TABLE public.settings ALTER COLUMN lvl SET DEFAULT 'low'::level;
ALTER TABLE public.settings ALTER COLUMN n SET DEFAULT 5;
ALTER TABLE public.settings ALTER COLUMN flag SET DEFAULT true;

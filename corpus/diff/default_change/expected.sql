-- Migration: 001_default_change
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: settings.created_at (different default: CURRENT_TIMESTAMP)
--   ~ Column: settings.label (different default: 'it is other'::character varying)
--   ~ Column: settings.lvl (different default: 'high'::level)
--   ~ Column: settings.n (different default: '-7'::integer)
--   ~ Column: settings.flag (different default: false)

-- UP
ALTER TABLE public.settings ALTER COLUMN created_at SET DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE public.settings ALTER COLUMN label SET DEFAULT 'it is other'::character varying;
ALTER TABLE public.settings ALTER COLUMN lvl SET DEFAULT 'high'::level;
ALTER TABLE public.settings ALTER COLUMN n SET DEFAULT '-7'::integer;
ALTER TABLE public.settings ALTER COLUMN flag SET DEFAULT false;

-- DOWN
ALTER TABLE public.settings ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE public.settings ALTER COLUMN label SET DEFAULT 'none'::character varying;
ALTER TABLE public.settings ALTER COLUMN lvl SET DEFAULT 'low'::level;
ALTER TABLE public.settings ALTER COLUMN n SET DEFAULT 5;
ALTER TABLE public.settings ALTER COLUMN flag SET DEFAULT true;

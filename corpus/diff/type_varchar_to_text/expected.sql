-- Migration: 001_type_varchar_to_text
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: people.name (different type: character varying(50) → text)
--   ~ Column: people.code (different type: character varying(10) → text; different default: 'abc'::text)

-- UP
ALTER TABLE public.people ALTER COLUMN name TYPE text USING name::text;
ALTER TABLE public.people ALTER COLUMN code DROP DEFAULT;
ALTER TABLE public.people ALTER COLUMN code TYPE text USING code::text;
ALTER TABLE public.people ALTER COLUMN code SET DEFAULT 'abc'::text;

-- DOWN
ALTER TABLE public.people ALTER COLUMN name TYPE character varying(50) USING name::character varying(50);
ALTER TABLE public.people ALTER COLUMN code DROP DEFAULT;
ALTER TABLE public.people ALTER COLUMN code TYPE character varying(10) USING code::character varying(10);
ALTER TABLE public.people ALTER COLUMN code SET DEFAULT 'abc'::character varying;

-- Migration: 001_type_varchar_widen
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: people.name (different type: character varying(50) → character varying(200))
--   ~ Column: people.code (different type: character varying(5) → character varying(10))

-- UP
ALTER TABLE public.people ALTER COLUMN name TYPE character varying(200) USING name::character varying(200);
ALTER TABLE public.people ALTER COLUMN code DROP DEFAULT;
ALTER TABLE public.people ALTER COLUMN code TYPE character varying(10) USING code::character varying(10);
ALTER TABLE public.people ALTER COLUMN code SET DEFAULT 'ab'::character varying;

-- DOWN
ALTER TABLE public.people ALTER COLUMN name TYPE character varying(50) USING name::character varying(50);
ALTER TABLE public.people ALTER COLUMN code DROP DEFAULT;
ALTER TABLE public.people ALTER COLUMN code TYPE character varying(5) USING code::character varying(5);
ALTER TABLE public.people ALTER COLUMN code SET DEFAULT 'ab'::character varying;

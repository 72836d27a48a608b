-- Migration: 001_type_int_to_bigint
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: counters.id (different type: integer → bigint)
--   ~ Column: counters.n (different type: integer → bigint)
--   ~ Column: counters.m (different type: smallint → integer)
--
-- Hazards:
--   table rewrite or lock: changing the type of counters.id rewrites the table under an exclusive lock
--   table rewrite or lock: changing the type of counters.n rewrites the table under an exclusive lock
--   table rewrite or lock: changing the type of counters.m rewrites the table under an exclusive lock

-- UP
ALTER TABLE public.counters ALTER COLUMN id TYPE bigint USING id::bigint;
ALTER TABLE public.counters ALTER COLUMN n TYPE bigint USING n::bigint;
ALTER TABLE public.counters ALTER COLUMN m DROP DEFAULT;
ALTER TABLE public.counters ALTER COLUMN m TYPE integer USING m::integer;
ALTER TABLE public.counters ALTER COLUMN m SET DEFAULT 1;

-- DOWN
ALTER TABLE public.counters ALTER COLUMN id TYPE integer USING id::integer;
ALTER TABLE public.counters ALTER COLUMN n TYPE integer USING n::integer;
ALTER TABLE public.counters ALTER COLUMN m DROP DEFAULT;
ALTER TABLE public.counters ALTER COLUMN m TYPE smallint USING m::smallint;
ALTER TABLE public.counters ALTER COLUMN m SET DEFAULT 1;

-- Migration: 001_type_change_with_dependents
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: entries.ledger_id (different type: integer → bigint)
--   ~ Column: ledger.id (different type: integer → bigint)
--   ~ Column: ledger.amount (different type: integer → bigint)
--   ~ Column: ledger.code (different type: character varying(8) → character varying(20))
--
-- Hazards:
--   table rewrite or lock: changing the type of entries.ledger_id rewrites the table under an exclusive lock
--   table rewrite or lock: changing the type of ledger.id rewrites the table under an exclusive lock
--   table rewrite or lock: changing the type of ledger.amount rewrites the table under an exclusive lock

-- UP
ALTER TABLE public.entries DROP CONSTRAINT entries_ledger_id_fkey;
ALTER TABLE public.entries ALTER COLUMN ledger_id TYPE bigint USING ledger_id::bigint;
ALTER TABLE public.ledger ALTER COLUMN id TYPE bigint USING id::bigint;
ALTER TABLE public.ledger ALTER COLUMN amount DROP DEFAULT;
ALTER TABLE public.ledger ALTER COLUMN amount TYPE bigint USING amount::bigint;
ALTER TABLE public.ledger ALTER COLUMN amount SET DEFAULT 0;
ALTER TABLE public.ledger ALTER COLUMN code TYPE character varying(20) USING code::character varying(20);
ALTER TABLE public.entries ADD CONSTRAINT entries_ledger_id_fkey FOREIGN KEY (ledger_id) REFERENCES public.ledger (id) DEFERRABLE;

-- DOWN
ALTER TABLE public.entries DROP CONSTRAINT entries_ledger_id_fkey;
ALTER TABLE public.entries ALTER COLUMN ledger_id TYPE integer USING ledger_id::integer;
ALTER TABLE public.ledger ALTER COLUMN id TYPE integer USING id::integer;
ALTER TABLE public.ledger ALTER COLUMN amount DROP DEFAULT;
ALTER TABLE public.ledger ALTER COLUMN amount TYPE integer USING amount::integer;
ALTER TABLE public.ledger ALTER COLUMN amount SET DEFAULT 0;
ALTER TABLE public.ledger ALTER COLUMN code TYPE character varying(8) USING code::character varying(8);
ALTER TABLE public.entries ADD CONSTRAINT entries_ledger_id_fkey FOREIGN KEY (ledger_id) REFERENCES public.ledger (id) DEFERRABLE;

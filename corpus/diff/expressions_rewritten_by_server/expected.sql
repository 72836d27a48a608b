-- Migration: 001_expressions_rewritten_by_server
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: products.price (default 1.5 added)
--   ~ Column: products.seen (default now() - interval '5 days' added)
--   ~ Column: products.meta (default '{}'::jsonb added)
--   ~ Column: products.tags (default '{}'::text[] added)
--   + Check: products.products_kind_check
--   + Check: products.products_name_check
--   + Check: products.products_price_check
--   + Index: products_double_price
--   + Index: products_lower_name
--
-- Hazards:
--   may fail on existing data: products_kind_check fails if existing rows of products violate it
--   table rewrite or lock: checking products_kind_check scans products under a lock
--   may fail on existing data: products_name_check fails if existing rows of products violate it
--   table rewrite or lock: checking products_name_check scans products under a lock
--   may fail on existing data: products_price_check fails if existing rows of products violate it
--   table rewrite or lock: checking products_price_check scans products under a lock
--   table rewrite or lock: building index products_double_price blocks writes to products
--   table rewrite or lock: building index products_lower_name blocks writes to products

-- UP
ALTER TABLE public.products ALTER COLUMN price SET DEFAULT 1.5;
ALTER TABLE public.products ALTER COLUMN seen SET DEFAULT now() - interval '5 days';
ALTER TABLE public.products ALTER COLUMN meta SET DEFAULT '{}'::jsonb;
ALTER TABLE public.products ALTER COLUMN tags SET DEFAULT '{}'::text[];
ALTER TABLE public.products ADD CONSTRAINT products_kind_check CHECK (kind IN ('a', 'b'));
ALTER TABLE public.products ADD CONSTRAINT products_name_check CHECK (lower(name) <> '');
ALTER TABLE public.products ADD CONSTRAINT products_price_check CHECK (price BETWEEN 0.5 AND 100);
CREATE INDEX products_double_price ON public.products USING btree (((price * 2)), kind);
CREATE INDEX products_lower_name ON public.products USING btree ((lower(name::text)));

-- DOWN
DROP INDEX public.products_double_price;
DROP INDEX public.products_lower_name;
ALTER TABLE public.products DROP CONSTRAINT products_kind_check;
ALTER TABLE public.products DROP CONSTRAINT products_name_check;
ALTER TABLE public.products DROP CONSTRAINT products_price_check;
ALTER TABLE public.products ALTER COLUMN price DROP DEFAULT;
ALTER TABLE public.products ALTER COLUMN seen DROP DEFAULT;
ALTER TABLE public.products ALTER COLUMN meta DROP DEFAULT;
ALTER TABLE public.products ALTER COLUMN tags DROP DEFAULT;

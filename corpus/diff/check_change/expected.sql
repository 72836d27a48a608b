-- Migration: 001_check_change
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Check: prices.prices_price_check (different definition: dropped and created again)
--   ~ Check: prices.qty_max (different definition: dropped and created again)
--
-- Hazards:
--   may fail on existing data: prices_price_check fails if existing rows of prices violate it
--   table rewrite or lock: checking prices_price_check scans prices under a lock
--   may fail on existing data: qty_max fails if existing rows of prices violate it
--   table rewrite or lock: checking qty_max scans prices under a lock

-- UP
ALTER TABLE public.prices DROP CONSTRAINT prices_price_check;
ALTER TABLE public.prices DROP CONSTRAINT qty_max;
ALTER TABLE public.prices ADD CONSTRAINT prices_price_check CHECK (price >= 0);
ALTER TABLE public.prices ADD CONSTRAINT qty_max CHECK (qty < 5000 AND qty >= 0);

-- DOWN
ALTER TABLE public.prices DROP CONSTRAINT prices_price_check;
ALTER TABLE public.prices DROP CONSTRAINT qty_max;
ALTER TABLE public.prices ADD CONSTRAINT prices_price_check CHECK (price > 0);
ALTER TABLE public.prices ADD CONSTRAINT qty_max CHECK (qty < 1000);

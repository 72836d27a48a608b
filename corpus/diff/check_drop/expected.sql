-- Migration: 001_check_drop
-- Description: nself db schema import b.dbml
--
-- Changes:
--   - Check: prices.prices_price_check
--   - Check: prices.qty_max

-- UP
ALTER TABLE public.prices DROP CONSTRAINT prices_price_check;
ALTER TABLE public.prices DROP CONSTRAINT qty_max;

-- DOWN
ALTER TABLE public.prices ADD CONSTRAINT prices_price_check CHECK (price > 0);
ALTER TABLE public.prices ADD CONSTRAINT qty_max CHECK (qty < 1000);

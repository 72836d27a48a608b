-- Migration: 001_type_text_to_enum
-- Description: nself db schema import b.dbml
--
-- Changes:
--   + Enum: order_status
--   ~ Column: orders.status (different type: text → order_status; different default: 'active'::order_status)
--
-- Hazards:
--   table rewrite or lock: changing the type of orders.status rewrites the table under an exclusive lock
--   may fail on existing data: values of orders.status that are not valid order_status make the conversion fail

-- UP
CREATE TYPE public.order_status AS ENUM ('active', 'done', 'on hold');
ALTER TABLE public.orders ALTER COLUMN status DROP DEFAULT;
ALTER TABLE public.orders ALTER COLUMN status TYPE public.order_status USING status::text::public.order_status;
ALTER TABLE public.orders ALTER COLUMN status SET DEFAULT 'active'::order_status;

-- DOWN
ALTER TABLE public.orders ALTER COLUMN status DROP DEFAULT;
ALTER TABLE public.orders ALTER COLUMN status TYPE text USING status::text::text;
ALTER TABLE public.orders ALTER COLUMN status SET DEFAULT 'active'::text;
DROP TYPE public.order_status;

-- Migration: 001_adversarial_names_enum_values
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Enum: Mood; DROP TYPE x (values added: New; Value)

-- UP
ALTER TYPE public."Mood; DROP TYPE x" ADD VALUE 'New; Value' AFTER 'with space';

-- DOWN
ALTER TYPE public."Mood; DROP TYPE x" RENAME TO "Mood; DROP TYPE x__nself_old";
CREATE TYPE public."Mood; DROP TYPE x" AS ENUM ('Très bien', 'select', 'with space');
ALTER TABLE public."Order Items" ALTER COLUMN "from" DROP DEFAULT;
ALTER TABLE public."Order Items" ALTER COLUMN "from" TYPE public."Mood; DROP TYPE x" USING "from"::text::public."Mood; DROP TYPE x";
ALTER TABLE public."Order Items" ALTER COLUMN "from" SET DEFAULT 'select'::"Mood; DROP TYPE x";
DROP TYPE public."Mood; DROP TYPE x__nself_old";

-- Migration: 002_adversarial_names
-- Description: nself db schema import b.dbml
--
-- Changes:
--   + Enum: User
--   + Comment: column Order Items.Ünïcødé; Col
--   ~ Column: Order Items.from (different default: 'with space'::"Mood; DROP TYPE x")
--   ~ Column: Order Items.CamelCase (different type: integer → bigint; now not null)
--   + Column: Order Items.table
--   + Column: Order Items.Ref → Long
--   + Unique: Order Items.Order Items_Ünïcødé; Col_key
--   + Check: Order Items.Check Me; Now
--   + Check: Order Items.Order Items_CamelCase_check
--   + Foreign key: Order Items.Order Items_Ref → Long_fkey
--   + Index: Index; DROP
--   + Index: Order Items_Ünïcødé; Col_idx
--   + Column: ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt.Group
--   + Unique: ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt.ttttttttttttttttttttttttttttttttttttttttttttttttttttt_Group_key
--
-- Hazards:
--   table rewrite or lock: changing the type of Order Items.CamelCase rewrites the table under an exclusive lock
--   may fail on existing data: SET NOT NULL on Order Items.CamelCase fails if it holds NULLs (and scans the table)
--   may fail on existing data: Order Items_Ünïcødé; Col_key fails if Order Items has duplicate (or, for a primary key, NULL) values in (Ünïcødé; Col)
--   table rewrite or lock: building the index for Order Items_Ünïcødé; Col_key blocks writes to Order Items
--   may fail on existing data: Check Me; Now fails if existing rows of Order Items violate it
--   table rewrite or lock: checking Check Me; Now scans Order Items under a lock
--   may fail on existing data: Order Items_CamelCase_check fails if existing rows of Order Items violate it
--   table rewrite or lock: checking Order Items_CamelCase_check scans Order Items under a lock
--   may fail on existing data: Order Items_Ref → Long_fkey fails if rows of Order Items reference missing rows of ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt
--   table rewrite or lock: validating Order Items_Ref → Long_fkey scans Order Items and blocks writes to Order Items and ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt
--   table rewrite or lock: building index Index; DROP blocks writes to Order Items
--   table rewrite or lock: building index Order Items_Ünïcødé; Col_idx blocks writes to Order Items
--   may fail on existing data: ttttttttttttttttttttttttttttttttttttttttttttttttttttt_Group_key fails if ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt has duplicate (or, for a primary key, NULL) values in (Group)
--   table rewrite or lock: building the index for ttttttttttttttttttttttttttttttttttttttttttttttttttttt_Group_key blocks writes to ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt

-- UP
CREATE TYPE public."User" AS ENUM ('Group', 'order by');
ALTER TABLE public."Order Items" ADD COLUMN "table" public."User" DEFAULT 'order by'::"User";
ALTER TABLE public."Order Items" ADD COLUMN "Ref → Long" integer;
ALTER TABLE public.ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt ADD COLUMN "Group" text;
ALTER TABLE public."Order Items" ALTER COLUMN "from" SET DEFAULT 'with space'::"Mood; DROP TYPE x";
ALTER TABLE public."Order Items" ALTER COLUMN "CamelCase" TYPE bigint USING "CamelCase"::bigint;
ALTER TABLE public."Order Items" ALTER COLUMN "CamelCase" SET NOT NULL;
ALTER TABLE public."Order Items" ADD CONSTRAINT "Order Items_Ünïcødé; Col_key" UNIQUE ("Ünïcødé; Col");
ALTER TABLE public."Order Items" ADD CONSTRAINT "Check Me; Now" CHECK ("select" > 0);
ALTER TABLE public."Order Items" ADD CONSTRAINT "Order Items_CamelCase_check" CHECK ("CamelCase" > 0);
ALTER TABLE public.ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt ADD CONSTRAINT "ttttttttttttttttttttttttttttttttttttttttttttttttttttt_Group_key" UNIQUE ("Group");
CREATE INDEX "Index; DROP" ON public."Order Items" USING btree ("CamelCase", "select");
CREATE INDEX "Order Items_Ünïcødé; Col_idx" ON public."Order Items" USING hash ("Ünïcødé; Col");
ALTER TABLE public."Order Items" ADD CONSTRAINT "Order Items_Ref → Long_fkey" FOREIGN KEY ("Ref → Long") REFERENCES public.ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt (id) DEFERRABLE;
COMMENT ON COLUMN public."Order Items"."Ünïcødé; Col" IS 'ünï; note';

-- DOWN
ALTER TABLE public."Order Items" DROP CONSTRAINT "Order Items_Ref → Long_fkey";
DROP INDEX public."Index; DROP";
DROP INDEX public."Order Items_Ünïcødé; Col_idx";
ALTER TABLE public."Order Items" DROP CONSTRAINT "Order Items_Ünïcødé; Col_key";
ALTER TABLE public."Order Items" DROP CONSTRAINT "Check Me; Now";
ALTER TABLE public."Order Items" DROP CONSTRAINT "Order Items_CamelCase_check";
ALTER TABLE public.ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt DROP CONSTRAINT "ttttttttttttttttttttttttttttttttttttttttttttttttttttt_Group_key";
ALTER TABLE public."Order Items" DROP COLUMN "table";
ALTER TABLE public."Order Items" DROP COLUMN "Ref → Long";
ALTER TABLE public.ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt DROP COLUMN "Group";
ALTER TABLE public."Order Items" ALTER COLUMN "from" SET DEFAULT 'select'::"Mood; DROP TYPE x";
ALTER TABLE public."Order Items" ALTER COLUMN "CamelCase" TYPE integer USING "CamelCase"::integer;
ALTER TABLE public."Order Items" ALTER COLUMN "CamelCase" DROP NOT NULL;
COMMENT ON COLUMN public."Order Items"."Ünïcødé; Col" IS NULL;
DROP TYPE public."User";

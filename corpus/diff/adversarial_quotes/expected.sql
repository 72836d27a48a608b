-- Migration: 001_adversarial_quotes_enum_values
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Enum: it's (values added: o'clock "x")

-- UP
ALTER TYPE public."it's" ADD VALUE 'o''clock "x"' AFTER 'don''t';

-- DOWN
ALTER TYPE public."it's" RENAME TO "it's__nself_old";
CREATE TYPE public."it's" AS ENUM ('say "hi"', 'don''t');
ALTER TABLE public."a""b; DROP TABLE x" ALTER COLUMN "it's" DROP DEFAULT;
ALTER TABLE public."a""b; DROP TABLE x" ALTER COLUMN "it's" TYPE public."it's" USING "it's"::text::public."it's";
ALTER TABLE public."a""b; DROP TABLE x" ALTER COLUMN "it's" SET DEFAULT 'don''t'::"it's";
DROP TYPE public."it's__nself_old";

-- Migration: 002_adversarial_quotes
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: a"b; DROP TABLE x.it's (different default: 'say "hi"'::"it's")
--   + Comment: column a"b; DROP TABLE x.q"col
--   + Column: a"b; DROP TABLE x.new'col
--   + Unique: a"b; DROP TABLE x.a"b; DROP TABLE x_q"col_key
--   + Check: a"b; DROP TABLE x.check "it's"
--   + Index: ix "odd"; x
--
-- Hazards:
--   may fail on existing data: a"b; DROP TABLE x_q"col_key fails if a"b; DROP TABLE x has duplicate (or, for a primary key, NULL) values in (q"col)
--   table rewrite or lock: building the index for a"b; DROP TABLE x_q"col_key blocks writes to a"b; DROP TABLE x
--   may fail on existing data: check "it's" fails if existing rows of a"b; DROP TABLE x violate it
--   table rewrite or lock: checking check "it's" scans a"b; DROP TABLE x under a lock
--   table rewrite or lock: building index ix "odd"; x blocks writes to a"b; DROP TABLE x

-- UP
ALTER TABLE public."a""b; DROP TABLE x" ADD COLUMN "new'col" character varying(5) DEFAULT 'a''b'::character varying;
ALTER TABLE public."a""b; DROP TABLE x" ALTER COLUMN "it's" SET DEFAULT 'say "hi"'::"it's";
ALTER TABLE public."a""b; DROP TABLE x" ADD CONSTRAINT "a""b; DROP TABLE x_q""col_key" UNIQUE ("q""col");
ALTER TABLE public."a""b; DROP TABLE x" ADD CONSTRAINT "check ""it's""" CHECK ("select" <> 0);
CREATE INDEX "ix ""odd""; x" ON public."a""b; DROP TABLE x" USING btree ("q""col", "select");
COMMENT ON COLUMN public."a""b; DROP TABLE x"."q""col" IS 'it''s "noted"';

-- DOWN
DROP INDEX public."ix ""odd""; x";
ALTER TABLE public."a""b; DROP TABLE x" DROP CONSTRAINT "a""b; DROP TABLE x_q""col_key";
ALTER TABLE public."a""b; DROP TABLE x" DROP CONSTRAINT "check ""it's""";
ALTER TABLE public."a""b; DROP TABLE x" DROP COLUMN "new'col";
ALTER TABLE public."a""b; DROP TABLE x" ALTER COLUMN "it's" SET DEFAULT 'don''t'::"it's";
COMMENT ON COLUMN public."a""b; DROP TABLE x"."q""col" IS NULL;

CREATE TYPE "it's" AS ENUM ('say "hi"', 'don''t', 'o''clock "x"');
CREATE TABLE "a""b; DROP TABLE x" (
  "select" int PRIMARY KEY,
  "it's" "it's" DEFAULT 'say "hi"',
  "q""col" text UNIQUE,
  "new'col" varchar(5) DEFAULT 'a''b',
  CONSTRAINT "check ""it's""" CHECK ("select" <> 0)
);
CREATE INDEX "ix ""odd""; x" ON "a""b; DROP TABLE x" ("q""col", "select");
COMMENT ON COLUMN "a""b; DROP TABLE x"."q""col" IS 'it''s "noted"';

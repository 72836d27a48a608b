CREATE TYPE "it's" AS ENUM ('say "hi"', 'don''t');
CREATE TABLE "a""b; DROP TABLE x" (
  "select" int PRIMARY KEY,
  "it's" "it's" DEFAULT 'don''t',
  "q""col" text
);

INSERT INTO "a""b; DROP TABLE x" VALUES (1, 'say "hi"', 'x'), (2, DEFAULT, NULL);

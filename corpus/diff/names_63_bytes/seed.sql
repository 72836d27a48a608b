INSERT INTO "éééééééééééééééééééééééééééééééx" VALUES (1, 'x');

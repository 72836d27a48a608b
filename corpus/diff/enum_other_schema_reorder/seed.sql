INSERT INTO app.jobs VALUES (1, 'low'), (2, DEFAULT);
INSERT INTO runs VALUES (1, 'high'), (2, NULL);

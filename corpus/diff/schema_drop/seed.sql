INSERT INTO things VALUES (1);
INSERT INTO app.items (thing_id) VALUES (1);

INSERT INTO accounts VALUES (1, 'a@x', 'a'), (2, NULL, 'b');

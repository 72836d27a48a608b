INSERT INTO pairs VALUES (1, 'x', 'p'), (2, 'y', NULL);

INSERT INTO people VALUES (1, 'ann', 'xy'), (2, repeat('z', 50), NULL);

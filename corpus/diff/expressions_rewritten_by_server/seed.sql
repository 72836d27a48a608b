INSERT INTO products VALUES (1, 'A', 'a', 2, '2024-01-01', '{}', '{x}'), (2, NULL, NULL, NULL, NULL, NULL, NULL);

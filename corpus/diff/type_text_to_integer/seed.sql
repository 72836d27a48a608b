INSERT INTO stock VALUES (1, '42', 'a'), (2, '-7', NULL), (3, NULL, 'c');

INSERT INTO people VALUES (1, 'Ann', 'q'), (2, NULL, DEFAULT);

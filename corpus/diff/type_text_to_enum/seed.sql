INSERT INTO orders VALUES (1, 'active'), (2, 'done'), (3, 'on hold');

INSERT INTO tasks VALUES (1, 'todo'), (2, 'done');

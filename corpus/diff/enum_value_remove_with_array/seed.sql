INSERT INTO tasks VALUES (1, 'todo', '{todo,done}'), (2, 'done', '{}'), (3, NULL, NULL);

INSERT INTO users (name) VALUES ('ann'), ('bob');
INSERT INTO posts (user_id, title) VALUES (1, 'a'), (2, 'b'), (NULL, 'c');

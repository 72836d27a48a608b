INSERT INTO users (name) VALUES ('ann'), ('bob');
INSERT INTO posts (user_id, title) VALUES (NULL, 'a'), (NULL, 'b');

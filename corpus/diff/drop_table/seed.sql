INSERT INTO users (name) VALUES ('ann'), ('bob');
INSERT INTO posts (user_id, title) VALUES (1, 'hello'), (2, 'world');

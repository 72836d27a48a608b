INSERT INTO users (name) VALUES ('ann'), ('bob');
INSERT INTO posts (user_id) VALUES (1), (2);

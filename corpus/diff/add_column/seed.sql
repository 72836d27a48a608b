INSERT INTO users (name) VALUES ('ann'), (NULL);

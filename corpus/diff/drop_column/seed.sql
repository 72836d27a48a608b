INSERT INTO users (name, email, age, bio) VALUES ('ann', 'a@x', 3, 'hi'), (NULL, NULL, 4, NULL);

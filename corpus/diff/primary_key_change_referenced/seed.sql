INSERT INTO users VALUES (1, 'a'), (2, 'b');
INSERT INTO posts VALUES (1, 1), (2, NULL);

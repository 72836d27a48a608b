INSERT INTO authors (name, legacy, status) VALUES ('ann', 'x', 'old'), ('bob', NULL, DEFAULT);
INSERT INTO books (author_id, title, isbn) VALUES (1, 'a', '123'), (2, 'b', NULL);
INSERT INTO obsolete VALUES (1);

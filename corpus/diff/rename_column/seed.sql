INSERT INTO users (name, age) VALUES ('ann', 3), ('bob', NULL);

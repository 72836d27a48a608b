INSERT INTO accounts (label) VALUES ('one'), ('two');

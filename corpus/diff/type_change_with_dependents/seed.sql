INSERT INTO ledger VALUES (1, 5, 'a'), (2, 0, NULL);
INSERT INTO entries VALUES (1, 1), (2, NULL);

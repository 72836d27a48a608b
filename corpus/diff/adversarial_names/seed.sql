INSERT INTO "Order Items" ("Ünïcødé; Col", "from", "CamelCase") VALUES ('a', 'Très bien', 1), ('b', DEFAULT, 2);
INSERT INTO ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt VALUES (1);

INSERT INTO contacts VALUES (1, 'A@x', 'c1', 'ann', 'lee'), (2, 'b@x', 'c2', 'bob', 'lee');

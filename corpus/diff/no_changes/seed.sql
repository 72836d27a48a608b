INSERT INTO events (at) VALUES (now());

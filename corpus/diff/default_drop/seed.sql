INSERT INTO settings (id, created_at, label, lvl, n, flag) VALUES (1, '2024-01-01 00:00:00+00', 'x', 'high', 1, false);

INSERT INTO moods VALUES (1, 'happy'), (2, NULL);

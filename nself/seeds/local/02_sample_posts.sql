-- nself/seeds/local/02_sample_posts.sql
-- Sample posts and comments by the test users of 01_test_users.sql. Safe to run again.

INSERT INTO posts (id, user_id, title, slug, content, excerpt, status, published_at)
VALUES
  ('aaaaaaaa-0000-0000-0000-000000000001',
   '22222222-2222-2222-2222-222222222222',
   'Hello, world', 'hello-world',
   'The first post on the demo site.', 'The first post.',
   'published', '2026-01-20 10:30:00+00'),
  ('aaaaaaaa-0000-0000-0000-000000000002',
   '22222222-2222-2222-2222-222222222222',
   'Working with $$ and ''quotes''', 'dollars-and-quotes',
   'Seeds are split into statements the way psql does it; a ; inside a string is fine.',
   NULL, 'draft', NULL),
  ('aaaaaaaa-0000-0000-0000-000000000003',
   '33333333-3333-3333-3333-333333333333',
   'Testing notes', 'testing-notes',
   'Bob''s notes on testing.', NULL, 'published', '2026-01-21 14:15:00+00')
ON CONFLICT (slug) DO UPDATE SET
  title = EXCLUDED.title,
  content = EXCLUDED.content;

INSERT INTO comments (id, post_id, user_id, parent_id, body)
VALUES
  ('cccccccc-0000-0000-0000-000000000001',
   'aaaaaaaa-0000-0000-0000-000000000001',
   '33333333-3333-3333-3333-333333333333', NULL, 'Welcome!'),
  ('cccccccc-0000-0000-0000-000000000002',
   'aaaaaaaa-0000-0000-0000-000000000001',
   '22222222-2222-2222-2222-222222222222',
   'cccccccc-0000-0000-0000-000000000001', 'Thanks, Bob.')
ON CONFLICT (id) DO NOTHING;

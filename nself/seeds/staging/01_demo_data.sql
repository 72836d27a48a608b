-- nself/seeds/staging/01_demo_data.sql
-- Demo data for staging: one demo account and a published post. Safe to run again.

INSERT INTO users (id, email, password_hash, display_name, role, email_verified)
VALUES ('44444444-4444-4444-4444-444444444444',
        'demo@staging.example.com',
        '$2b$12$LQv3c1yqBWVHxkd0LHAkCOYz6TtxMQJqhN8/X4c5E5gF6H7I8J9K0',
        'Demo Account', 'user', true)
ON CONFLICT (email) DO NOTHING;

INSERT INTO posts (user_id, title, slug, content, status, published_at)
SELECT id, 'Welcome to the demo', 'welcome-to-the-demo',
       'This post exists on staging only.', 'published', now()
  FROM users WHERE email = 'demo@staging.example.com'
ON CONFLICT (slug) DO NOTHING;

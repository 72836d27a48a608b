-- Migration: 003_add_user_preferences
-- Created: 2026-01-24
-- Description: User preferences as JSONB, backfilled, with a format check
--
-- Migration with explicit transaction handling (the guide's example). nself runs every
-- migration in its own transaction; the BEGIN/COMMIT pair around a whole section is
-- recognised and replaced by that transaction, so the change and its tracking row commit
-- together.

-- UP
BEGIN;

-- Add new column
ALTER TABLE users ADD COLUMN preferences JSONB DEFAULT '{}';

-- Migrate existing data
UPDATE users SET preferences = jsonb_build_object(
  'theme', 'light',
  'notifications', true
) WHERE preferences = '{}';

-- Add constraint after data migration
ALTER TABLE users ADD CONSTRAINT check_preferences_format
  CHECK (preferences ? 'theme' AND preferences ? 'notifications');

-- New rows get preferences that pass the check ('{}' would not).
ALTER TABLE users ALTER COLUMN preferences
  SET DEFAULT '{"theme": "light", "notifications": true}';

COMMIT;

-- DOWN
BEGIN;
ALTER TABLE users DROP CONSTRAINT check_preferences_format;
ALTER TABLE users DROP COLUMN preferences;
COMMIT;

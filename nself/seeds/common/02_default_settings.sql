-- nself/seeds/common/02_default_settings.sql
-- Database-wide defaults: times in UTC for every new session. Safe to run again.

DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET timezone TO %L', current_database(), 'UTC');
END
$$;

-- nself/seeds/common/01_roles.sql
-- Database roles every environment needs: a read-only role for reporting tools.
-- Application roles (admin, moderator, user, guest) are the user_role enum of migration 001
-- and need no rows. Safe to run again.

DO $$
BEGIN
  CREATE ROLE app_readonly NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  -- Already there (roles belong to the whole server, not one database).
  NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO app_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO app_readonly;

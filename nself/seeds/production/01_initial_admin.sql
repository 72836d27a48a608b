-- nself/seeds/production/01_initial_admin.sql
-- Production bootstrap: the first administrator. The password hash '!' matches no password:
-- the account is usable only after a password reset, so no secret lives in this file.
-- Safe to run again (an existing account is left as it is).

INSERT INTO users (email, password_hash, display_name, role, email_verified)
VALUES ('admin@example.com', '!', 'Administrator', 'admin', true)
ON CONFLICT (email) DO NOTHING;

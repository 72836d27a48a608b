-- Migration: 001_rename_column
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: users.name (renamed to full_name)
--   ~ Unique: users.users_name_key (renamed to users_full_name_key)

-- UP
ALTER TABLE public.users RENAME COLUMN name TO full_name;
ALTER TABLE public.users RENAME CONSTRAINT users_name_key TO users_full_name_key;

-- DOWN
ALTER TABLE public.users RENAME COLUMN full_name TO name;
ALTER TABLE public.users RENAME CONSTRAINT users_full_name_key TO users_name_key;

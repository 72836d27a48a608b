-- Migration: 001_rename_table
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Table: users (renamed to people)
--   ~ Primary key: people.users_pkey (renamed to people_pkey)
--   ~ Unique: people.users_name_key (renamed to people_name_key)

-- UP
ALTER TABLE public.users RENAME TO people;
ALTER SEQUENCE IF EXISTS public.users_id_seq RENAME TO people_id_seq;
ALTER TABLE public.people RENAME CONSTRAINT users_pkey TO people_pkey;
ALTER TABLE public.people RENAME CONSTRAINT users_name_key TO people_name_key;

-- DOWN
ALTER TABLE public.people RENAME TO users;
ALTER SEQUENCE IF EXISTS public.people_id_seq RENAME TO users_id_seq;
ALTER TABLE public.users RENAME CONSTRAINT people_pkey TO users_pkey;
ALTER TABLE public.users RENAME CONSTRAINT people_name_key TO users_name_key;

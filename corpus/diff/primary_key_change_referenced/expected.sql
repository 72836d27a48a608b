-- Migration: 001_primary_key_change_referenced
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Primary key: users.users_pkey (different definition: dropped and created again)
--   + Unique: users.users_id_key
--
-- Hazards:
--   may fail on existing data: users_pkey fails if users has duplicate (or, for a primary key, NULL) values in (code)
--   table rewrite or lock: building the index for users_pkey blocks writes to users
--   may fail on existing data: users_id_key fails if users has duplicate (or, for a primary key, NULL) values in (id)
--   table rewrite or lock: building the index for users_id_key blocks writes to users

-- UP
ALTER TABLE public.posts DROP CONSTRAINT posts_user_id_fkey;
ALTER TABLE public.users DROP CONSTRAINT users_pkey;
ALTER TABLE public.users ADD CONSTRAINT users_pkey PRIMARY KEY (code);
ALTER TABLE public.users ADD CONSTRAINT users_id_key UNIQUE (id);
ALTER TABLE public.posts ADD CONSTRAINT posts_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id) DEFERRABLE;

-- DOWN
ALTER TABLE public.posts DROP CONSTRAINT posts_user_id_fkey;
ALTER TABLE public.users DROP CONSTRAINT users_pkey;
ALTER TABLE public.users DROP CONSTRAINT users_id_key;
ALTER TABLE public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE public.posts ADD CONSTRAINT posts_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id) DEFERRABLE;

-- Migration: 001_fk_drop
-- Description: nself db schema import b.dbml
--
-- Changes:
--   - Foreign key: posts.posts_user_id_fkey

-- UP
ALTER TABLE public.posts DROP CONSTRAINT posts_user_id_fkey;

-- DOWN
ALTER TABLE public.posts ADD CONSTRAINT posts_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id) DEFERRABLE;

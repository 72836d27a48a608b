-- Migration: 001_fk_actions_change
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Foreign key: posts.posts_user_id_fkey (different definition: dropped and created again)
--
-- Hazards:
--   may fail on existing data: posts_user_id_fkey fails if rows of posts reference missing rows of users
--   table rewrite or lock: validating posts_user_id_fkey scans posts and blocks writes to posts and users

-- UP
ALTER TABLE public.posts DROP CONSTRAINT posts_user_id_fkey;
ALTER TABLE public.posts ADD CONSTRAINT posts_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id) ON DELETE SET NULL ON UPDATE CASCADE DEFERRABLE;

-- DOWN
ALTER TABLE public.posts DROP CONSTRAINT posts_user_id_fkey;
ALTER TABLE public.posts ADD CONSTRAINT posts_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users (id) ON DELETE CASCADE DEFERRABLE;

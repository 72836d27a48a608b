-- Migration: 001_drop_column
-- Description: nself db schema import b.dbml
--
-- Changes:
--   - Column: users.email
--   - Column: users.age
--   - Column: users.bio
--
-- Hazards:
--   data loss: dropping column users.email deletes its values
--   data loss: dropping column users.age deletes its values
--   data loss: dropping column users.bio deletes its values

-- UP
ALTER TABLE public.users DROP COLUMN email;
ALTER TABLE public.users DROP COLUMN age;
ALTER TABLE public.users DROP COLUMN bio;

-- DOWN
ALTER TABLE public.users ADD COLUMN email character varying(255);
ALTER TABLE public.users ADD COLUMN age integer NOT NULL DEFAULT 0;
ALTER TABLE public.users ADD COLUMN bio text;
COMMENT ON COLUMN public.users.bio IS 'about the user';

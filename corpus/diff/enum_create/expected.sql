-- Migration: 001_enum_create
-- Description: nself db schema import b.dbml
--
-- Changes:
--   + Enum: mood
--   + Column: moods.mood

-- UP
CREATE TYPE public.mood AS ENUM ('happy', 'sad', 'so-so');
ALTER TABLE public.moods ADD COLUMN mood public.mood;

-- DOWN
ALTER TABLE public.moods DROP COLUMN mood;
DROP TYPE public.mood;

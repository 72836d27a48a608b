-- Migration: 001_enum_drop
-- Description: nself db schema import b.dbml
--
-- Changes:
--   - Column: moods.mood
--   - Enum: mood
--
-- Hazards:
--   data loss: dropping column moods.mood deletes its values
--   may fail on existing data: dropping type mood fails while anything still uses it

-- UP
ALTER TABLE public.moods DROP COLUMN mood;
DROP TYPE public.mood;

-- DOWN
CREATE TYPE public.mood AS ENUM ('happy', 'sad', 'so-so');
ALTER TABLE public.moods ADD COLUMN mood public.mood;

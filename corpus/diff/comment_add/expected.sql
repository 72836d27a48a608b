-- Migration: 001_comment_add
-- Description: nself db schema import b.dbml
--
-- Changes:
--   + Comment: column notes.body
--   + Comment: table notes

-- UP
COMMENT ON COLUMN public.notes.body IS 'the body; it''s long';
COMMENT ON TABLE public.notes IS 'Notes the users write';

-- DOWN
COMMENT ON COLUMN public.notes.body IS NULL;
COMMENT ON TABLE public.notes IS NULL;

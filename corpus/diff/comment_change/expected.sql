-- Migration: 001_comment_change
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Comment: column notes.body (different text)
--   ~ Comment: table notes (different text)

-- UP
COMMENT ON COLUMN public.notes.body IS 'Changed: two lines
and "quotes"';

COMMENT ON TABLE public.notes IS 'Notes, changed';

-- DOWN
COMMENT ON COLUMN public.notes.body IS 'the body; it''s long';
COMMENT ON TABLE public.notes IS 'Notes the users write';

-- Migration: 001_unique_drop
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: accounts.handle (now nullable)
--   - Unique: accounts.accounts_email_key
--   - Unique: accounts.accounts_handle_key

-- UP
ALTER TABLE public.accounts DROP CONSTRAINT accounts_email_key;
ALTER TABLE public.accounts DROP CONSTRAINT accounts_handle_key;
ALTER TABLE public.accounts ALTER COLUMN handle DROP NOT NULL;

-- DOWN
ALTER TABLE public.accounts ALTER COLUMN handle SET NOT NULL;
ALTER TABLE public.accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);
ALTER TABLE public.accounts ADD CONSTRAINT accounts_handle_key UNIQUE (handle);

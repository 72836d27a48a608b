-- Migration: 001_unique_add
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: accounts.handle (now not null)
--   + Unique: accounts.accounts_email_key
--   + Unique: accounts.accounts_handle_key
--
-- Hazards:
--   may fail on existing data: SET NOT NULL on accounts.handle fails if it holds NULLs (and scans the table)
--   may fail on existing data: accounts_email_key fails if accounts has duplicate (or, for a primary key, NULL) values in (email)
--   table rewrite or lock: building the index for accounts_email_key blocks writes to accounts
--   may fail on existing data: accounts_handle_key fails if accounts has duplicate (or, for a primary key, NULL) values in (handle)
--   table rewrite or lock: building the index for accounts_handle_key blocks writes to accounts

-- UP
ALTER TABLE public.accounts ALTER COLUMN handle SET NOT NULL;
ALTER TABLE public.accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);
ALTER TABLE public.accounts ADD CONSTRAINT accounts_handle_key UNIQUE (handle);

-- DOWN
ALTER TABLE public.accounts DROP CONSTRAINT accounts_email_key;
ALTER TABLE public.accounts DROP CONSTRAINT accounts_handle_key;
ALTER TABLE public.accounts ALTER COLUMN handle DROP NOT NULL;

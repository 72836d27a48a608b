-- Migration: 001_index_add
-- Description: nself db schema import b.dbml
--
-- Changes:
--   + Index: contacts_code_idx
--   + Index: contacts_email_idx
--   + Index: contacts_email_lower
--   + Index: contacts_last_first_idx
--
-- Hazards:
--   table rewrite or lock: building index contacts_code_idx blocks writes to contacts
--   table rewrite or lock: building index contacts_email_idx blocks writes to contacts
--   may fail on existing data: unique index contacts_email_idx fails if contacts has duplicates
--   table rewrite or lock: building index contacts_email_lower blocks writes to contacts
--   table rewrite or lock: building index contacts_last_first_idx blocks writes to contacts

-- UP
CREATE INDEX contacts_code_idx ON public.contacts USING hash (code);
CREATE UNIQUE INDEX contacts_email_idx ON public.contacts USING btree (email);
CREATE INDEX contacts_email_lower ON public.contacts USING btree ((lower(email)));
CREATE INDEX contacts_last_first_idx ON public.contacts USING btree (last, first);

-- DOWN
DROP INDEX public.contacts_code_idx;
DROP INDEX public.contacts_email_idx;
DROP INDEX public.contacts_email_lower;
DROP INDEX public.contacts_last_first_idx;

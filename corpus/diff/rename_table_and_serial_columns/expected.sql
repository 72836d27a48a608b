-- Migration: 001_rename_table_and_serial_columns
-- Description: nself db schema import b.dbml
--
-- Changes:
--   ~ Column: accounts.id (renamed to client_id)
--   ~ Column: accounts.ticket (renamed to ticket_no)
--   ~ Table: accounts (renamed to clients)
--   ~ Primary key: clients.accounts_pkey (renamed to clients_pkey)

-- UP
ALTER TABLE public.accounts RENAME COLUMN id TO client_id;
ALTER SEQUENCE IF EXISTS public.accounts_id_seq RENAME TO accounts_client_id_seq;
ALTER TABLE public.accounts RENAME COLUMN ticket TO ticket_no;
ALTER SEQUENCE IF EXISTS public.accounts_ticket_seq RENAME TO accounts_ticket_no_seq;
ALTER TABLE public.accounts RENAME TO clients;
ALTER SEQUENCE IF EXISTS public.accounts_client_id_seq RENAME TO clients_client_id_seq;
ALTER SEQUENCE IF EXISTS public.accounts_ticket_no_seq RENAME TO clients_ticket_no_seq;
ALTER TABLE public.clients RENAME CONSTRAINT accounts_pkey TO clients_pkey;

-- DOWN
ALTER TABLE public.clients RENAME COLUMN client_id TO id;
ALTER SEQUENCE IF EXISTS public.clients_client_id_seq RENAME TO clients_id_seq;
ALTER TABLE public.clients RENAME COLUMN ticket_no TO ticket;
ALTER SEQUENCE IF EXISTS public.clients_ticket_no_seq RENAME TO clients_ticket_seq;
ALTER TABLE public.clients RENAME TO accounts;
ALTER SEQUENCE IF EXISTS public.clients_id_seq RENAME TO accounts_id_seq;
ALTER SEQUENCE IF EXISTS public.clients_ticket_seq RENAME TO accounts_ticket_seq;
ALTER TABLE public.accounts RENAME CONSTRAINT clients_pkey TO accounts_pkey;

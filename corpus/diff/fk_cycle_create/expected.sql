-- Migration: 001_fk_cycle_create
-- Description: nself db schema import b.dbml
--
-- Changes:
--   + Table: husbands
--   + Table: wives

-- UP
CREATE TABLE public.husbands (
  id integer NOT NULL,
  wife_id integer,
  CONSTRAINT husbands_pkey PRIMARY KEY (id)
);

CREATE TABLE public.wives (
  id integer NOT NULL,
  husband_id integer,
  CONSTRAINT wives_pkey PRIMARY KEY (id)
);

ALTER TABLE public.husbands ADD CONSTRAINT husbands_wife_id_fkey FOREIGN KEY (wife_id) REFERENCES public.wives (id) DEFERRABLE;
ALTER TABLE public.wives ADD CONSTRAINT wives_husband_id_fkey FOREIGN KEY (husband_id) REFERENCES public.husbands (id) DEFERRABLE;

-- DOWN
ALTER TABLE public.wives DROP CONSTRAINT wives_husband_id_fkey;
ALTER TABLE public.husbands DROP CONSTRAINT husbands_wife_id_fkey;
DROP TABLE public.husbands;
DROP TABLE public.wives;

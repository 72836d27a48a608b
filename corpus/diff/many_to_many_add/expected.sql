-- Migration: 001_many_to_many_add
-- Description: nself db schema import b.dbml
--
-- Changes:
--   + Table: students_courses

-- UP
CREATE TABLE public.students_courses (
  students_id integer NOT NULL,
  courses_id integer NOT NULL,
  CONSTRAINT students_courses_pkey PRIMARY KEY (students_id, courses_id)
);

ALTER TABLE public.students_courses ADD CONSTRAINT students_courses_courses_id_fkey FOREIGN KEY (courses_id) REFERENCES public.courses (id) DEFERRABLE;
ALTER TABLE public.students_courses ADD CONSTRAINT students_courses_students_id_fkey FOREIGN KEY (students_id) REFERENCES public.students (id) DEFERRABLE;

-- DOWN
DROP TABLE public.students_courses;

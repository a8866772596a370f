-- The hub's two PostgreSQL roles and its database (README.md, "Least privilege in PostgreSQL").
--
--   owner  owns the database, its schema and every table; runs `manage.py migrate` and then
--          `manage.py grant_app_role APP`. Never used to serve requests.
--   app    serves requests and runs audit_seal, audit_verify, apply_retention: reads and
--          inserts into the audit tables, cannot update, delete, truncate or alter them, nor
--          disable or drop their append-only triggers.
--
-- Run once, as a superuser, on PostgreSQL 15 or later:
--   psql -v db=hub -v owner=hub_owner -v app=hub_app -f deploy/postgresql-roles.sql
-- then give both roles passwords (psql: \password hub_owner, \password hub_app), or use the
-- authentication pg_hba.conf already provides.

\set ON_ERROR_STOP on

CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE :"db" OWNER :"owner";

-- Only the two roles may connect; the app gets nothing else at database level (no TEMPORARY).
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"app";

\connect :"db"
-- The owner owns the schema (on 15 it already does, as pg_database_owner); nobody else may
-- create in it. The app's USAGE comes from grant_app_role.
ALTER SCHEMA public OWNER TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

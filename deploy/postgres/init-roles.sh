#!/bin/sh
# Least-privilege database roles, run once by the postgres image on a new data directory
# (/docker-entrypoint-initdb.d/) and by the deploy test on a fresh database:
#   IPMART_DB_OWNER  owns the database, the schema and every table: the `migrate` service uses it.
#   IPMART_DB_APP    what web, worker and beat connect as: reads and writes rows, owns nothing, so
#                    it cannot drop or disable the append-only triggers (access log, published
#                    policy versions), and has no TRUNCATE anywhere.
# Runs as the cluster's superuser (POSTGRES_USER) against POSTGRES_DB.
set -eu

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" \
  --dbname "${POSTGRES_DB:-ipmart}" \
  -v db="${POSTGRES_DB:-ipmart}" \
  -v owner="${IPMART_DB_OWNER:-ipmart_owner}" \
  -v owner_password="${IPMART_DB_OWNER_PASSWORD:?set IPMART_DB_OWNER_PASSWORD}" \
  -v app="${IPMART_DB_APP:-ipmart_app}" \
  -v app_password="${IPMART_DB_APP_PASSWORD:?set IPMART_DB_APP_PASSWORD}" <<'SQL'
CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE ROLE :"app" LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
ALTER DATABASE :"db" OWNER TO :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
\connect :"db"
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";
-- Every table and sequence the owner creates (migrations) is usable by the application role:
-- rows only. No TRUNCATE, REFERENCES or TRIGGER, and ALTER/DROP need ownership.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"app";
SQL

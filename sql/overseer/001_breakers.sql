-- 001_breakers.sql — overseer's shared circuit breakers (schema version 1).
--
-- Installed by `overseer db init` (inside one transaction, under an advisory
-- lock) and safe to run by hand with psql any number of times: every object
-- is created only when missing or replaced in place. docs/breakers.md is the
-- contract for services that read or publish these rows.
--
--   overseer.schema_version   one row per applied file
--   overseer.breakers         one row per breaker: the console's own
--                             (owner 'overseer') and the services' (owner =
--                             the service's name); name is the primary key,
--                             so a service's check is one index lookup
--   overseer.breaker_events   append-only history of every change
--
-- Every INSERT or UPDATE of a breaker sends NOTIFY overseer_breakers with the
-- row as JSON (row_to_json), so every console and every listening service
-- sees a trip or a reset within one round trip. The length limits below keep
-- that payload far under NOTIFY's 8000-byte limit: an over-long reason is
-- refused by a CHECK rather than failing inside the trigger.

CREATE SCHEMA IF NOT EXISTS overseer;

CREATE TABLE IF NOT EXISTS overseer.schema_version (
	version integer PRIMARY KEY,
	installed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS overseer.breakers (
	name text PRIMARY KEY CHECK (octet_length(name) BETWEEN 1 AND 63),
	state text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open',
		'forced_open', 'disabled', 'metrics_only')),
	failure_rate real CHECK (failure_rate IS NULL OR failure_rate BETWEEN 0 AND 100),
	opened_at timestamptz,
	until timestamptz,
	reason text CHECK (reason IS NULL OR octet_length(reason) <= 255),
	updated_by text CHECK (updated_by IS NULL OR octet_length(updated_by) <= 63),
	updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	owner text NOT NULL DEFAULT 'overseer' CHECK (octet_length(owner) BETWEEN 1 AND 63),
	corr text CHECK (corr IS NULL OR octet_length(corr) <= 63)
);

COMMENT ON TABLE overseer.breakers IS
	'Shared circuit breakers; see docs/breakers.md. Services: SELECT state, until FROM overseer.breakers WHERE name = $1, or LISTEN overseer_breakers.';
COMMENT ON COLUMN overseer.breakers.failure_rate IS 'percent (0-100) over the owner''s window';
COMMENT ON COLUMN overseer.breakers.until IS
	'end of an operator override (forced_open, disabled, metrics_only) or of an open period; NULL: none. An override whose until has passed counts as closed.';
COMMENT ON COLUMN overseer.breakers.owner IS '''overseer'' for the console''s own breakers, else the service''s name';

CREATE TABLE IF NOT EXISTS overseer.breaker_events (
	id bigserial PRIMARY KEY,
	name text NOT NULL,
	from_state text,          -- NULL when the row was created
	to_state text NOT NULL,   -- a breaker state, or 'deleted'
	reason text,
	actor text,
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	corr text
);

CREATE INDEX IF NOT EXISTS breaker_events_name_at ON overseer.breaker_events (name, at);

COMMENT ON TABLE overseer.breaker_events IS 'append-only history of overseer.breakers (triggers refuse UPDATE, DELETE and TRUNCATE)';

-- The history is evidence: nobody rewrites it, not even the table owner
-- through the normal paths (a superuser can still drop the trigger).
CREATE OR REPLACE FUNCTION overseer.breaker_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'overseer.breaker_events is append-only: % refused', TG_OP
		USING ERRCODE = 'prohibited_sql_statement_attempted';
END
$$;

DROP TRIGGER IF EXISTS breaker_events_no_change ON overseer.breaker_events;
CREATE TRIGGER breaker_events_no_change BEFORE UPDATE OR DELETE ON overseer.breaker_events
	FOR EACH ROW EXECUTE FUNCTION overseer.breaker_events_append_only();
DROP TRIGGER IF EXISTS breaker_events_no_truncate ON overseer.breaker_events;
CREATE TRIGGER breaker_events_no_truncate BEFORE TRUNCATE ON overseer.breaker_events
	FOR EACH STATEMENT EXECUTE FUNCTION overseer.breaker_events_append_only();

-- updated_at is stamped here, so a hand-written UPDATE moves it too.
-- clock_timestamp(), not now(): row changes are serialised by the row lock,
-- so the stamps follow the order in which the changes were made.
CREATE OR REPLACE FUNCTION overseer.breakers_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := clock_timestamp();
	RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS breakers_stamp ON overseer.breakers;
CREATE TRIGGER breakers_stamp BEFORE INSERT OR UPDATE ON overseer.breakers
	FOR EACH ROW EXECUTE FUNCTION overseer.breakers_stamp();

-- History and notification. A change of state, until or reason is an event;
-- every change (a new failure_rate too) is notified, so displays stay live.
-- SECURITY DEFINER: a role allowed to write breakers needs no privilege on
-- the history, and cannot write the history any other way.
CREATE OR REPLACE FUNCTION overseer.breakers_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		INSERT INTO overseer.breaker_events (name, from_state, to_state, reason, actor, corr)
		VALUES (OLD.name, OLD.state, 'deleted', NULL, session_user, NULL);
		PERFORM pg_notify('overseer_breakers',
			json_build_object('name', OLD.name, 'deleted', true)::text);
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		INSERT INTO overseer.breaker_events (name, from_state, to_state, reason, actor, at, corr)
		VALUES (NEW.name, NULL, NEW.state, NEW.reason, NEW.updated_by, NEW.updated_at, NEW.corr);
	ELSIF OLD.state IS DISTINCT FROM NEW.state OR OLD.until IS DISTINCT FROM NEW.until
		OR OLD.reason IS DISTINCT FROM NEW.reason THEN
		INSERT INTO overseer.breaker_events (name, from_state, to_state, reason, actor, at, corr)
		VALUES (NEW.name, OLD.state, NEW.state, NEW.reason, NEW.updated_by, NEW.updated_at, NEW.corr);
	END IF;
	PERFORM pg_notify('overseer_breakers', row_to_json(NEW)::text);
	RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS breakers_changed ON overseer.breakers;
CREATE TRIGGER breakers_changed AFTER INSERT OR UPDATE OR DELETE ON overseer.breakers
	FOR EACH ROW EXECUTE FUNCTION overseer.breakers_changed();

INSERT INTO overseer.schema_version (version) VALUES (1) ON CONFLICT (version) DO NOTHING;

-- pgmq_compat.sql — a minimal PGMQ-compatible schema for tests and the demo fleet.
--
-- PGMQ is not packaged in Debian 12, so the integration tests and tools/fleet
-- install this instead. It reproduces the part of PGMQ 1.x's public surface
-- that overseer reads and the fleet uses, with the same names, argument lists
-- and result columns:
--   pgmq.meta(queue_name, is_partitioned, is_unlogged, created_at)
--   pgmq.q_<name>(msg_id bigserial, read_ct, enqueued_at, vt, message jsonb)
--   pgmq.a_<name>(... the same plus archived_at)
--   pgmq.create, send, read, set_vt, delete, archive, purge_queue, drop_queue,
--   list_queues, metrics, metrics_all
-- Anything else of PGMQ (partitioned queues, batches, read_with_poll, pop,
-- notify triggers) is deliberately absent. Against a real PGMQ none of this
-- file is needed: overseer reads pgmq.metrics_all() only.
--
-- Idempotent: run it any number of times. Queue names are lower-case letters,
-- digits and underscores, shorter than 48 characters (PGMQ folds names to lower
-- case for its tables, so "Jobs" and "jobs" would share one; refusing upper
-- case avoids that trap); every dynamic identifier goes through format('%I').

CREATE SCHEMA IF NOT EXISTS pgmq;

CREATE TABLE IF NOT EXISTS pgmq.meta (
	queue_name varchar UNIQUE NOT NULL,
	is_partitioned boolean NOT NULL DEFAULT false,
	is_unlogged boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- CREATE TYPE has no IF NOT EXISTS.
DO $$
BEGIN
	IF to_regtype('pgmq.message_record') IS NULL THEN
		CREATE TYPE pgmq.message_record AS (
			msg_id bigint,
			read_ct integer,
			enqueued_at timestamptz,
			vt timestamptz,
			message jsonb
		);
	END IF;
	IF to_regtype('pgmq.queue_record') IS NULL THEN
		CREATE TYPE pgmq.queue_record AS (
			queue_name varchar,
			is_partitioned boolean,
			is_unlogged boolean,
			created_at timestamptz
		);
	END IF;
	-- Exactly PGMQ 1.x's columns, in its order (1.5 appends
	-- queue_visible_length; readers select by name, so both work).
	IF to_regtype('pgmq.metrics_result') IS NULL THEN
		CREATE TYPE pgmq.metrics_result AS (
			queue_name text,
			queue_length bigint,
			newest_msg_age_sec integer,
			oldest_msg_age_sec integer,
			total_messages bigint,
			scrape_time timestamptz
		);
	END IF;
END
$$;

-- The table behind a queue: prefix 'q' (live) or 'a' (archive).
CREATE OR REPLACE FUNCTION pgmq._table(queue_name text, prefix text)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF queue_name IS NULL OR queue_name !~ '^[a-z0-9_]{1,47}$' THEN
		RAISE EXCEPTION 'invalid queue name %', quote_literal(coalesce(queue_name, 'NULL'))
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'use 1 to 47 lower-case letters, digits or underscores';
	END IF;
	RETURN prefix || '_' || queue_name;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.create(queue_name text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	qt text := pgmq._table(queue_name, 'q');
	at text := pgmq._table(queue_name, 'a');
BEGIN
	EXECUTE format('CREATE TABLE IF NOT EXISTS pgmq.%I (
		msg_id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
		read_ct integer NOT NULL DEFAULT 0,
		enqueued_at timestamptz NOT NULL DEFAULT now(),
		vt timestamptz NOT NULL,
		message jsonb)', qt);
	EXECUTE format('CREATE TABLE IF NOT EXISTS pgmq.%I (
		msg_id bigint PRIMARY KEY,
		read_ct integer NOT NULL DEFAULT 0,
		enqueued_at timestamptz NOT NULL DEFAULT now(),
		archived_at timestamptz NOT NULL DEFAULT now(),
		vt timestamptz NOT NULL,
		message jsonb)', at);
	-- read() picks the visible messages in msg_id order.
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (vt)', qt || '_vt_idx', qt);
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (archived_at)',
		       at || '_at_idx', at);
	INSERT INTO pgmq.meta (queue_name) VALUES (queue_name)
		ON CONFLICT ON CONSTRAINT meta_queue_name_key DO NOTHING;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, delay integer DEFAULT 0)
RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format(
		'INSERT INTO pgmq.%I (vt, message) VALUES (clock_timestamp() + $2, $1)
		 RETURNING msg_id', pgmq._table(queue_name, 'q'))
		USING msg, make_interval(secs => delay);
END
$$;

-- Hide up to qty visible messages for vt seconds and return them; concurrent
-- readers skip each other's rows.
CREATE OR REPLACE FUNCTION pgmq.read(queue_name text, vt integer, qty integer)
RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format(
		'WITH picked AS (
			SELECT msg_id FROM pgmq.%1$I
			WHERE vt <= clock_timestamp()
			ORDER BY msg_id LIMIT $1
			FOR UPDATE SKIP LOCKED)
		 UPDATE pgmq.%1$I m
		 SET vt = clock_timestamp() + $2, read_ct = m.read_ct + 1
		 FROM picked WHERE m.msg_id = picked.msg_id
		 RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message',
		pgmq._table(queue_name, 'q'))
		USING qty, make_interval(secs => vt);
END
$$;

CREATE OR REPLACE FUNCTION pgmq.set_vt(queue_name text, msg_id bigint, vt integer)
RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format(
		'UPDATE pgmq.%I SET vt = clock_timestamp() + $2 WHERE msg_id = $1
		 RETURNING msg_id, read_ct, enqueued_at, vt, message',
		pgmq._table(queue_name, 'q'))
		USING msg_id, make_interval(secs => vt);
END
$$;

CREATE OR REPLACE FUNCTION pgmq.delete(queue_name text, msg_id bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	gone bigint;
BEGIN
	EXECUTE format('DELETE FROM pgmq.%I WHERE msg_id = $1 RETURNING msg_id',
		       pgmq._table(queue_name, 'q'))
		INTO gone USING msg_id;
	RETURN gone IS NOT NULL;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.archive(queue_name text, msg_id bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	moved bigint;
BEGIN
	EXECUTE format(
		'WITH gone AS (DELETE FROM pgmq.%I WHERE msg_id = $1
			       RETURNING msg_id, read_ct, enqueued_at, vt, message)
		 INSERT INTO pgmq.%I (msg_id, read_ct, enqueued_at, vt, message)
		 SELECT msg_id, read_ct, enqueued_at, vt, message FROM gone
		 RETURNING msg_id',
		pgmq._table(queue_name, 'q'), pgmq._table(queue_name, 'a'))
		INTO moved USING msg_id;
	RETURN moved IS NOT NULL;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.purge_queue(queue_name text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format('DELETE FROM pgmq.%I', pgmq._table(queue_name, 'q'));
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.drop_queue(queue_name text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', pgmq._table(queue_name, 'q'));
	EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', pgmq._table(queue_name, 'a'));
	DELETE FROM pgmq.meta m WHERE m.queue_name = drop_queue.queue_name;
	RETURN FOUND;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.list_queues()
RETURNS SETOF pgmq.queue_record LANGUAGE sql STABLE AS $$
	SELECT queue_name, is_partitioned, is_unlogged, created_at FROM pgmq.meta
	ORDER BY queue_name;
$$;

-- One queue's figures, as PGMQ computes them: ages in whole seconds from the
-- server's clock (NULL when the queue is empty), total_messages from the
-- identity sequence (every message ever sent, archived or not).
CREATE OR REPLACE FUNCTION pgmq.metrics(queue_name text)
RETURNS pgmq.metrics_result LANGUAGE plpgsql AS $$
DECLARE
	qt text := pgmq._table(queue_name, 'q');
	seq text := pg_get_serial_sequence(format('pgmq.%I', qt), 'msg_id');
	r pgmq.metrics_result;
BEGIN
	EXECUTE format(
		'SELECT $1, q.n, q.newest, q.oldest, s.total, now()
		 FROM (SELECT count(*) AS n,
			      extract(epoch FROM now() - max(enqueued_at))::integer AS newest,
			      extract(epoch FROM now() - min(enqueued_at))::integer AS oldest
		       FROM pgmq.%I) q,
		      (SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS total
		       FROM %s) s', qt, seq::regclass)
		INTO r USING queue_name;
	RETURN r;
END
$$;

CREATE OR REPLACE FUNCTION pgmq.metrics_all()
RETURNS SETOF pgmq.metrics_result LANGUAGE plpgsql AS $$
DECLARE
	qname text;
BEGIN
	FOR qname IN SELECT m.queue_name FROM pgmq.meta m ORDER BY m.queue_name LOOP
		RETURN NEXT pgmq.metrics(qname);
	END LOOP;
END
$$;

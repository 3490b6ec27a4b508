-- pgflow_compat.sql — pgflow-compatible tables for tests and the demo fleet.
--
-- QuantumFlow keeps its state in a pgflow-compatible schema. overseer reads
-- three of its tables, by the column names of DESIGN.md section 3.3; this file
-- creates exactly those (plus a few columns pgflow also has, so a fleet can
-- behave like the real thing). overseer's probe takes the schema name from
-- configuration (quantumflow_schema, default pgflow); this file hardcodes
-- pgflow. Idempotent: run it any number of times. Needs PostgreSQL 13+
-- (gen_random_uuid() in core).

CREATE SCHEMA IF NOT EXISTS pgflow;

-- One row per worker process ever started. A worker is alive while its
-- heartbeat is fresh; a clean shutdown sets stopped_at, a crash does not.
CREATE TABLE IF NOT EXISTS pgflow.workers (
	worker_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	queue_name text NOT NULL,
	function_name text NOT NULL,
	started_at timestamptz NOT NULL DEFAULT now(),
	stopped_at timestamptz,
	last_heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS pgflow.runs (
	run_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	flow_slug text NOT NULL,
	status text NOT NULL DEFAULT 'started'
		CHECK (status IN ('started', 'completed', 'failed')),
	input jsonb,
	output jsonb,
	started_at timestamptz NOT NULL DEFAULT now(),
	completed_at timestamptz,
	failed_at timestamptz,
	-- A finished run says when it finished.
	CHECK (status <> 'completed' OR completed_at IS NOT NULL),
	CHECK (status <> 'failed' OR failed_at IS NOT NULL)
);

CREATE TABLE IF NOT EXISTS pgflow.step_tasks (
	flow_slug text NOT NULL,
	run_id uuid NOT NULL REFERENCES pgflow.runs (run_id) ON DELETE CASCADE,
	step_slug text NOT NULL,
	task_index integer NOT NULL DEFAULT 0 CHECK (task_index >= 0),
	status text NOT NULL DEFAULT 'queued'
		CHECK (status IN ('queued', 'started', 'completed', 'failed')),
	message_id bigint, -- the pgmq message that carries the task
	output jsonb,
	attempts_count integer NOT NULL DEFAULT 0 CHECK (attempts_count >= 0),
	error_message text,
	queued_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,
	completed_at timestamptz,
	failed_at timestamptz,
	last_worker_id uuid REFERENCES pgflow.workers (worker_id) ON DELETE SET NULL,
	PRIMARY KEY (run_id, step_slug, task_index),
	CHECK (status <> 'completed' OR completed_at IS NOT NULL),
	CHECK (status <> 'failed' OR failed_at IS NOT NULL)
);

-- What overseer's poller asks every interval, so that each question is an
-- index range scan rather than a pass over tables that only ever grow:
--   live workers per (queue, function), runs started / completed / failed
--   since T, runs running now, step tasks by status, the newest failures.
-- Counting step_tasks by status still visits every row of a status (an
-- index-only scan at best); a deployment with a huge step_tasks table should
-- keep the status index and prune finished tasks.
CREATE INDEX IF NOT EXISTS workers_live_idx
	ON pgflow.workers (queue_name, function_name, last_heartbeat_at)
	WHERE stopped_at IS NULL;
CREATE INDEX IF NOT EXISTS runs_started_at_idx ON pgflow.runs (started_at);
CREATE INDEX IF NOT EXISTS runs_completed_at_idx ON pgflow.runs (completed_at)
	WHERE completed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_failed_at_idx ON pgflow.runs (failed_at)
	WHERE failed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_running_idx ON pgflow.runs (status)
	WHERE status = 'started';
CREATE INDEX IF NOT EXISTS step_tasks_status_idx ON pgflow.step_tasks (status);
CREATE INDEX IF NOT EXISTS step_tasks_failed_at_idx ON pgflow.step_tasks (failed_at DESC)
	WHERE failed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS step_tasks_completed_at_idx ON pgflow.step_tasks (completed_at)
	WHERE completed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS step_tasks_last_worker_idx ON pgflow.step_tasks (last_worker_id);

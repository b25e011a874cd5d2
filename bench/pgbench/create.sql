-- create: what the API sends PostgreSQL for one `POST /api/me/tasks` (bench/wrk/create.lua),
-- durable: fsync and synchronous_commit stay on, each statement commits on its own.
--
-- Two statements, both prepared once per pooled connection (Sources/TodoStore/PostgresStatements.swift):
-- 1. `InsertTaskStatement`: lock the owner's row, insert the task into the owner's Inbox (no
--    project given) at its end, if the owner may write it, its assignee (none here) is a member
--    and the owner is under the
--    quota (task_limit: TASKS_PER_USER_LIMIT's default, 100,000), return the new id; the statement's own transaction
--    commits at the protocol's Sync. The tasks trigger counts the task and records its event,
--    here as in the API, since both run on the same database.
-- 2. `CommitBarrierStatement` (SELECT 1): the API answers 201 only after a second statement on
--    the same connection has run, which proves the insert committed (PostgresDatabase.write).
-- Under load the API groups concurrent creates into one `InsertTasksStatement` and one commit
-- (WriteGroups); this script is the database's rate for one durable create per transaction,
-- the limit a create without grouping would have. `NOTIFY todo_events` goes at most once per
-- 20 ms whatever the rate (ChangeAnnouncer), so it is not part of a request.
--
-- pgbench cannot bind NULL (a NULL variable is sent as the text 'NULL'), so the columns the
-- API binds as NULL for every bench create (completed_at, remind_at, recurrence, series_start,
-- next_occurrence_id, project_id, parent_id, position, assignee_id) are NULL literals here; bench.py's statement check treats a NULL literal
-- and a parameter as the same. Every other value is a parameter, as in the API.
--
-- Variables (pgbench -D): user_id (text); title, description (text); tags (a text[] literal
-- such as {home,work}); due_at (a timestamptz); now ('now', which PostgreSQL reads as the
-- transaction's start, as the API binds its clock). One copy per user, as for list50.sql.
-- bench.py binds one title, a description, two tags and a due date to every create, where
-- wrk's bodies vary them (40 % with a description, 40 % with a due date, 0-3 tags); the
-- priority is random here too.
\set priority random(0, 3)
\set completed false
\set version 1
\set occurrence 0
\set task_limit 100000
WITH owner AS (SELECT task_count FROM users WHERE id = :user_id FOR NO KEY UPDATE),
inserted AS (
    INSERT INTO tasks (user_id, title, description, completed, completed_at, priority, tags, due_at, remind_at, recurrence, version, created_at, updated_at, series_start, occurrence, next_occurrence_id, project_id, parent_id, position, assignee_id)
    SELECT :user_id, :title, :description, :completed, NULL, :priority, :tags, :due_at, NULL, NULL, :version, :now, :now, NULL, :occurrence, NULL, COALESCE(NULL, (SELECT p.id FROM projects p WHERE p.created_by = :user_id AND p.is_inbox)), NULL, COALESCE(NULL, (SELECT max(e.position) FROM tasks e WHERE e.project_id = COALESCE(NULL, (SELECT p.id FROM projects p WHERE p.created_by = :user_id AND p.is_inbox))) + 1024, 1024), NULL FROM owner WHERE owner.task_count < :task_limit
    AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = COALESCE(NULL, (SELECT p.id FROM projects p WHERE p.created_by = :user_id AND p.is_inbox)) AND m.user_id = :user_id AND m.role IN ('owner', 'editor'))
    AND (CAST(NULL AS text) IS NULL OR EXISTS (SELECT 1 FROM project_members a WHERE a.project_id = COALESCE(NULL, (SELECT p.id FROM projects p WHERE p.created_by = :user_id AND p.is_inbox)) AND a.user_id = NULL)) RETURNING id, project_id, position
)
SELECT inserted.id, inserted.project_id, inserted.position FROM owner LEFT JOIN inserted ON true;
SELECT 1;

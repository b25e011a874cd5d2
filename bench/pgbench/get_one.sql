-- get_one: what the API sends PostgreSQL for one `GET /api/me/tasks/{id}` (bench/wrk/get_one.lua).
--
-- One statement: `TaskByIDStatement` (Sources/TodoStore/PostgresStatements.swift), prepared
-- once per pooled connection; membership of the task's project is part of the condition, so
-- another user's id finds nothing. Authentication sends nothing per request (see list50.sql).
--
-- Variables (pgbench -D):
--   user_id         the owner's id (text)
--   first_task      the id of the owner's first seeded task
--   users           how many users were seeded
--   tasks_per_user  how many tasks each was given
-- bench.py seeds the tasks round-robin over the users from one client, so the owner's tasks
-- are first_task, first_task + users, first_task + 2 * users ... (it checks that they are):
-- a random one of them is a random own task, as wrk picks one. One copy per user, as for
-- list50.sql.
\set task :first_task + random(0, :tasks_per_user - 1) * :users
SELECT ROW(id, user_id, title, description, completed, completed_at, priority, tags, due_at, remind_at, recurrence, version, created_at, updated_at, series_start, occurrence, next_occurrence_id, project_id, parent_id, position, assignee_id, subtask_count, subtasks_done) FROM tasks WHERE id = :task AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = tasks.project_id AND m.user_id = :user_id);

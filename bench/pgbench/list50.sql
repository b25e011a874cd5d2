-- list50: what the API sends PostgreSQL for one `GET /api/me/tasks?limit=50` (bench/wrk/list50.lua).
--
-- One statement: `NewestTasksStatement` (Sources/TodoStore/PostgresStatements.swift), prepared
-- once per pooled connection, so `-M prepared` is the same protocol: a page from each project
-- the user is a member of (here the Inbox), merged. The task's 23 columns come
-- back as one ROW() cell, as the API asks for them; LIMIT 51 is the page plus one (is there a
-- next page?), hidden from the planner in a project's part (`LIMIT (SELECT 51)`) so that the part
-- is an ordered index scan whatever the statistics (TaskListSQL). Authentication sends nothing
-- per request: the JWT is checked in the process and its session is looked up at most once per
-- session and second (bench.py's statement check counts it, see bench/RESULTS.md).
--
-- Variables (pgbench -D): user_id, the owner's id (text). bench.py runs one copy of this file
-- per seeded user, with :user_id renamed :user_id_<n> and -D user_id_<n>=<id>; pgbench picks a
-- copy at random for every transaction, so each transaction is a random user's first page, as
-- each wrk request is. By hand, for one user:
--   pgbench -n -M prepared -j 2 -c 16 -T 15 -D user_id=<id> -f bench/pgbench/list50.sql <db>
SELECT t.task FROM project_members m CROSS JOIN LATERAL (
    SELECT ROW(id, user_id, title, description, completed, completed_at, priority, tags, due_at, remind_at, recurrence, version, created_at, updated_at, series_start, occurrence, next_occurrence_id, project_id, parent_id, position, assignee_id, subtask_count, subtasks_done) AS task, created_at, id FROM tasks WHERE project_id = m.project_id
    ORDER BY created_at DESC, id DESC LIMIT (SELECT 51)
) t WHERE m.user_id = :user_id ORDER BY t.created_at DESC, t.id DESC LIMIT 51;

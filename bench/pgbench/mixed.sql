-- mixed: the API's statements for the bench's mixed workload (bench/wrk/mixed.lua): per request
-- 70 % list50, 20 % create, 10 % get_one, each as a random user.
--
-- The three branches are list50.sql, create.sql and get_one.sql, statement for statement (pgbench
-- has no include; bench.py's statement check compares each branch with what the API sends).
-- The variables are the union of theirs. One copy per user, as for list50.sql.
\set pick random(1, 100)
\if :pick <= 70
SELECT t.task FROM project_members m CROSS JOIN LATERAL (
    SELECT ROW(id, user_id, title, description, completed, completed_at, priority, tags, due_at, remind_at, recurrence, version, created_at, updated_at, series_start, occurrence, next_occurrence_id, project_id, parent_id, position, assignee_id, subtask_count, subtasks_done) AS task, created_at, id FROM tasks WHERE project_id = m.project_id
    ORDER BY created_at DESC, id DESC LIMIT (SELECT 51)
) t WHERE m.user_id = :user_id ORDER BY t.created_at DESC, t.id DESC LIMIT 51;
\elif :pick <= 90
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
\else
\set task :first_task + random(0, :tasks_per_user - 1) * :users
SELECT ROW(id, user_id, title, description, completed, completed_at, priority, tags, due_at, remind_at, recurrence, version, created_at, updated_at, series_start, occurrence, next_occurrence_id, project_id, parent_id, position, assignee_id, subtask_count, subtasks_done) FROM tasks WHERE id = :task AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = tasks.project_id AND m.user_id = :user_id);
\endif

/// A numbered schema change. Versions only ever grow; a released migration is never edited.
struct Migration: Sendable {
    var version: Int
    var name: String
    var statements: [String]
}

enum Migrations {
    static let postgres: [Migration] = [
        Migration(version: 1, name: "users, tasks, tokens and events", statements: [
            """
            CREATE TABLE users (
                id text PRIMARY KEY,
                email text NOT NULL UNIQUE,
                name text,
                password_hash text NOT NULL,
                created_at timestamptz NOT NULL
            )
            """,
            """
            CREATE TABLE tasks (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                title text NOT NULL,
                description text NOT NULL DEFAULT '',
                completed boolean NOT NULL DEFAULT false,
                completed_at timestamptz,
                priority smallint NOT NULL DEFAULT 0,
                tags text[] NOT NULL DEFAULT '{}',
                due_at timestamptz,
                remind_at timestamptz,
                recurrence text,
                version integer NOT NULL DEFAULT 1,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                series_start timestamptz,
                occurrence integer NOT NULL DEFAULT 0,
                next_occurrence_id bigint,
                reminded_at timestamptz
            )
            """,
            // The list query always filters by user; these serve the default and the due-date orders.
            "CREATE INDEX tasks_user_created ON tasks (user_id, created_at, id)",
            "CREATE INDEX tasks_user_due ON tasks (user_id, due_at, id)",
            // Only reminders still to fire are indexed: the scheduler's claim stays cheap.
            "CREATE INDEX tasks_pending_reminders ON tasks (remind_at) WHERE reminded_at IS NULL AND completed = false",
            """
            CREATE TABLE api_tokens (
                id text PRIMARY KEY,
                user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                name text NOT NULL,
                token_hash text NOT NULL UNIQUE,
                created_at timestamptz NOT NULL,
                expires_at timestamptz,
                last_used_at timestamptz
            )
            """,
            "CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at)",
            // The outbox of live events: written by a trigger in the same transaction as the
            // change, announced with NOTIFY, read by every replica, kept for a day for resumption.
            """
            CREATE TABLE events (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_id text NOT NULL,
                kind text NOT NULL,
                task_id bigint NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX events_user ON events (user_id, id)",
            """
            CREATE FUNCTION tasks_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                kind text;
                subject tasks;
                event_id bigint;
            BEGIN
                IF TG_OP = 'INSERT' THEN kind := 'task.created'; subject := NEW;
                ELSIF TG_OP = 'DELETE' THEN kind := 'task.deleted'; subject := OLD;
                ELSIF NEW.version <> OLD.version THEN kind := 'task.updated'; subject := NEW;
                ELSIF OLD.reminded_at IS NULL AND NEW.reminded_at IS NOT NULL THEN kind := 'reminder.due'; subject := NEW;
                ELSE RETURN NULL;
                END IF;
                INSERT INTO events (user_id, kind, task_id) VALUES (subject.user_id, kind, subject.id) RETURNING id INTO event_id;
                PERFORM pg_notify('todo_events', event_id::text);
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER tasks_events AFTER INSERT OR UPDATE OR DELETE ON tasks FOR EACH ROW EXECUTE FUNCTION tasks_record_event()",
        ]),
        Migration(version: 2, name: "conversations", statements: [
            """
            CREATE TABLE conversations (
                id text PRIMARY KEY,
                user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                title text NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX conversations_user ON conversations (user_id, updated_at)",
            """
            CREATE TABLE messages (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                conversation_id text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
                role text NOT NULL,
                content text NOT NULL,
                tool_calls text,
                tool_call_id text,
                created_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX messages_conversation ON messages (conversation_id, id)",
        ]),
        // A transaction that notifies holds a global lock from its commit until its WAL is on
        // disk, so NOTIFY in the trigger allowed one task write per fsync across the whole
        // cluster. The application now announces changes itself, coalesced
        // (`ChangeAnnouncer`, PostgresEventStore.swift); the trigger only records the event.
        Migration(version: 3, name: "events without notify in the trigger", statements: [
            """
            CREATE OR REPLACE FUNCTION tasks_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                kind text;
                subject tasks;
            BEGIN
                IF TG_OP = 'INSERT' THEN kind := 'task.created'; subject := NEW;
                ELSIF TG_OP = 'DELETE' THEN kind := 'task.deleted'; subject := OLD;
                ELSIF NEW.version <> OLD.version THEN kind := 'task.updated'; subject := NEW;
                ELSIF OLD.reminded_at IS NULL AND NEW.reminded_at IS NOT NULL THEN kind := 'reminder.due'; subject := NEW;
                ELSE RETURN NULL;
                END IF;
                INSERT INTO events (user_id, kind, task_id) VALUES (subject.user_id, kind, subject.id);
                RETURN NULL;
            END
            $$
            """,
        ]),
        // Log-in and sign-up attempts per key, shared by every replica (`PostgresAttemptStore`).
        Migration(version: 4, name: "attempt counters", statements: [
            """
            CREATE TABLE attempts (
                key text PRIMARY KEY,
                count integer NOT NULL,
                window_ends timestamptz NOT NULL
            )
            """,
            "CREATE INDEX attempts_window_ends ON attempts (window_ends)",
        ]),
        // Log-in sessions: an access token works only while its row exists (log-out deletes it).
        // Tokens issued before this migration name no session, so everyone signs in once more.
        Migration(version: 5, name: "log-in sessions", statements: [
            """
            CREATE TABLE sessions (
                id text PRIMARY KEY,
                user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL,
                last_used_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                user_agent text
            )
            """,
            "CREATE INDEX sessions_user ON sessions (user_id)",
            "CREATE INDEX sessions_expires ON sessions (expires_at)",
        ]),
        // Operators disable accounts (`todo user disable`): no log-in, no token accepted.
        Migration(version: 6, name: "disabled accounts", statements: [
            "ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false",
        ]),
        // Each user's number of tasks, for the task quota (`TaskStore`): counting a user's tasks
        // on every create would cost a scan of up to the whole quota. Statement-level triggers
        // keep it, one update per statement and user, whatever the path (create, import, next
        // occurrence, delete, a user's deletion). The triggers come before the count, in the
        // same transaction, which holds the tables' locks: no task goes uncounted meanwhile.
        Migration(version: 7, name: "task counts", statements: [
            "ALTER TABLE users ADD COLUMN task_count integer NOT NULL DEFAULT 0",
            """
            CREATE FUNCTION tasks_count_changes() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE users SET task_count = users.task_count + CASE TG_OP WHEN 'INSERT' THEN changed.count ELSE -changed.count END
                FROM (SELECT user_id, count(*) AS count FROM changed_tasks GROUP BY user_id) AS changed
                WHERE users.id = changed.user_id;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER tasks_count_inserts AFTER INSERT ON tasks REFERENCING NEW TABLE AS changed_tasks
            FOR EACH STATEMENT EXECUTE FUNCTION tasks_count_changes()
            """,
            """
            CREATE TRIGGER tasks_count_deletes AFTER DELETE ON tasks REFERENCING OLD TABLE AS changed_tasks
            FOR EACH STATEMENT EXECUTE FUNCTION tasks_count_changes()
            """,
            "UPDATE users SET task_count = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id)",
        ]),
        // Admins, and invitations to sign up (`SIGNUP=invite`): one pending per e-mail, found by
        // the hash of its link's token. An admin's deletion takes their pending invitations along.
        Migration(version: 8, name: "admins and invitations", statements: [
            "ALTER TABLE users ADD COLUMN admin boolean NOT NULL DEFAULT false",
            """
            CREATE TABLE signup_invitations (
                email text PRIMARY KEY,
                token_hash text NOT NULL UNIQUE,
                invited_by text REFERENCES users (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX signup_invitations_expires ON signup_invitations (expires_at)",
        ]),
        // Accounts signed in through an OpenID Connect provider, by the provider's (issuer,
        // subject) pair: the e-mail links an account once; afterwards the pair finds it, even
        // when the e-mail changes at the provider.
        Migration(version: 9, name: "single sign-on identities", statements: [
            """
            CREATE TABLE identities (
                issuer text NOT NULL,
                subject text NOT NULL,
                user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL,
                PRIMARY KEY (issuer, subject)
            )
            """,
            "CREATE INDEX identities_user ON identities (user_id)",
        ]),
        // Password resets by e-mail or an operator's link: only the token's SHA-256 is kept.
        Migration(version: 10, name: "password resets", statements: [
            """
            CREATE TABLE password_resets (
                token_hash text PRIMARY KEY,
                user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX password_resets_user ON password_resets (user_id)",
            "CREATE INDEX password_resets_expires ON password_resets (expires_at)",
        ]),
        // The tasks table is analysed after 2 % of its rows changed (and at least 1,000) instead
        // of PostgreSQL's 10 %: on a table that grows fast, plans are made on today's sizes.
        Migration(version: 11, name: "tasks analysed sooner", statements: [
            """
            ALTER TABLE tasks SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000,
                                   autovacuum_vacuum_scale_factor = 0.05)
            """,
        ]),
        // The calendar feed's URL carries a MAC of this number: revoking the URL increments it.
        Migration(version: 12, name: "calendar feed generation", statements: [
            "ALTER TABLE users ADD COLUMN feed_generation integer NOT NULL DEFAULT 0",
        ]),
        // Webhooks fed by the event log as a transactional outbox: the function that logs an event
        // queues its deliveries in the same transaction, so a change is never committed without
        // them, and no reader has to find its place in a log whose ids commit out of order. In
        // this function rather than a trigger on events, which would be a second trigger call per
        // change; `bench/experiments.py webhooks` measures what the statement costs a create.
        Migration(version: 13, name: "webhooks", statements: [
            """
            CREATE TABLE webhooks (
                id text PRIMARY KEY,
                user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                url text NOT NULL,
                events text NOT NULL,
                secret text NOT NULL,
                created_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX webhooks_user ON webhooks (user_id, created_at)",
            // next_attempt_at is null once delivered or given up; a claim moves it past its lease.
            """
            CREATE TABLE webhook_deliveries (
                webhook_id text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
                event_id bigint NOT NULL,
                type text NOT NULL,
                task_id bigint NOT NULL,
                event_time timestamptz NOT NULL,
                attempt integer NOT NULL DEFAULT 0,
                status integer,
                next_attempt_at timestamptz,
                delivered_at timestamptz,
                PRIMARY KEY (webhook_id, event_id)
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL",
            // A completion goes out as task.completed to a webhook that asked for it, else as task.updated.
            """
            CREATE OR REPLACE FUNCTION tasks_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                kind text;
                subject tasks;
                completes boolean := false;
                event_id bigint;
                event_time timestamptz;
            BEGIN
                IF TG_OP = 'INSERT' THEN kind := 'task.created'; subject := NEW;
                ELSIF TG_OP = 'DELETE' THEN kind := 'task.deleted'; subject := OLD;
                ELSIF NEW.version <> OLD.version THEN
                    kind := 'task.updated'; subject := NEW; completes := NEW.completed AND NOT OLD.completed;
                ELSIF OLD.reminded_at IS NULL AND NEW.reminded_at IS NOT NULL THEN kind := 'reminder.due'; subject := NEW;
                ELSE RETURN NULL;
                END IF;
                INSERT INTO events (user_id, kind, task_id) VALUES (subject.user_id, kind, subject.id) RETURNING id, created_at INTO event_id, event_time;
                INSERT INTO webhook_deliveries (webhook_id, event_id, type, task_id, event_time, next_attempt_at)
                SELECT id, event_id, type, subject.id, event_time, event_time FROM (
                    SELECT id, events, CASE WHEN completes AND position(',task.completed,' IN ',' || events || ',') > 0
                        THEN 'task.completed' ELSE kind END AS type
                    FROM webhooks WHERE user_id = subject.user_id) subscribed
                WHERE position(',' || type || ',' IN ',' || events || ',') > 0;
                RETURN NULL;
            END
            $$
            """,
        ]),
        // What CalDAV clients store with a task (`CalendarObjectStore`): the resource name they
        // chose, the UID and the iCalendar lines we do not model. No foreign key to `tasks`: the
        // row outlives its task so that a sync can name the deleted resource.
        Migration(version: 14, name: "calendar objects", statements: [
            """
            CREATE TABLE calendar_objects (
                task_id bigint PRIMARY KEY,
                user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                name text NOT NULL,
                uid text NOT NULL,
                todo_extra text NOT NULL DEFAULT '',
                calendar_extra text NOT NULL DEFAULT '',
                UNIQUE (user_id, name)
            )
            """,
        ]),
        // Web Push, fed by the event log as webhooks are: a due reminder queues one delivery per
        // device of the user in the transaction that claims the reminder; the key (subscription,
        // event) makes each reminder reach each device once, whichever replica sends it.
        Migration(version: 15, name: "push subscriptions", statements: [
            """
            CREATE TABLE push_subscriptions (
                id text PRIMARY KEY,
                user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                endpoint text NOT NULL,
                p256dh text NOT NULL,
                auth text NOT NULL,
                created_at timestamptz NOT NULL,
                UNIQUE (user_id, endpoint)
            )
            """,
            """
            CREATE TABLE push_deliveries (
                subscription_id text NOT NULL REFERENCES push_subscriptions (id) ON DELETE CASCADE,
                event_id bigint NOT NULL,
                task_id bigint NOT NULL,
                event_time timestamptz NOT NULL,
                attempt integer NOT NULL DEFAULT 0,
                status integer,
                next_attempt_at timestamptz,
                delivered_at timestamptz,
                PRIMARY KEY (subscription_id, event_id)
            )
            """,
            "CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL",
            """
            CREATE FUNCTION events_queue_push() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO push_deliveries (subscription_id, event_id, task_id, event_time, next_attempt_at)
                SELECT id, NEW.id, NEW.task_id, NEW.created_at, NEW.created_at FROM push_subscriptions WHERE user_id = NEW.user_id;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER events_queue_push AFTER INSERT ON events FOR EACH ROW WHEN (NEW.kind = 'reminder.due')
            EXECUTE FUNCTION events_queue_push()
            """,
        ]),
        // E-mail, fed by the event log as push is: a due reminder queues one mail for a user who
        // turned reminders on, in the transaction that claims the reminder; the key (user,
        // `reminder-<event id>`) makes it once. The digest service adds `digest-<local date>` rows.
        Migration(version: 16, name: "mail notifications", statements: [
            """
            CREATE TABLE mail_preferences (
                user_id text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
                email_reminders boolean NOT NULL DEFAULT false,
                daily_digest boolean NOT NULL DEFAULT false,
                digest_time text NOT NULL DEFAULT '07:00',
                time_zone text NOT NULL DEFAULT 'UTC',
                next_digest_at timestamptz
            )
            """,
            "CREATE INDEX mail_preferences_digest_due ON mail_preferences (next_digest_at) WHERE next_digest_at IS NOT NULL",
            """
            CREATE TABLE mail_deliveries (
                user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                delivery_key text NOT NULL,
                task_id bigint,
                event_time timestamptz NOT NULL,
                attempt integer NOT NULL DEFAULT 0,
                status integer,
                next_attempt_at timestamptz,
                delivered_at timestamptz,
                PRIMARY KEY (user_id, delivery_key)
            )
            """,
            "CREATE INDEX mail_deliveries_due ON mail_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL",
            """
            CREATE FUNCTION events_queue_mail() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO mail_deliveries (user_id, delivery_key, task_id, event_time, next_attempt_at)
                SELECT user_id, 'reminder-' || NEW.id, NEW.task_id, NEW.created_at, NEW.created_at
                FROM mail_preferences WHERE user_id = NEW.user_id AND email_reminders;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER events_queue_mail AFTER INSERT ON events FOR EACH ROW WHEN (NEW.kind = 'reminder.due')
            EXECUTE FUNCTION events_queue_mail()
            """,
        ]),
        // Projects (SPEC 9): every task belongs to one; membership with a role decides every
        // access, in each statement. Each account gets an Inbox from a trigger on `users`, in the
        // transaction that creates it, whichever path creates it; existing tasks move to their
        // owner's Inbox, in the order the default list showed them (newest first). `tasks.user_id`
        // stays the creator (quota, events, reminders). The lists read a project's page from
        // `tasks_project_*`, one ordered scan per membership (`TaskListSQL`).
        Migration(version: 17, name: "projects", statements: [
            """
            CREATE TABLE projects (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                created_by text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                name text NOT NULL,
                color text,
                archived boolean NOT NULL DEFAULT false,
                is_inbox boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX projects_inbox ON projects (created_by) WHERE is_inbox",
            "CREATE INDEX projects_created_by ON projects (created_by)",
            """
            CREATE TABLE project_members (
                project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
                user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                role text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
                position double precision NOT NULL,
                created_at timestamptz NOT NULL,
                PRIMARY KEY (project_id, user_id)
            )
            """,
            "CREATE INDEX project_members_user ON project_members (user_id, project_id)",
            "ALTER TABLE tasks ADD COLUMN project_id bigint REFERENCES projects (id) ON DELETE CASCADE",
            "ALTER TABLE tasks ADD COLUMN parent_id bigint REFERENCES tasks (id) ON DELETE CASCADE",
            "ALTER TABLE tasks ADD COLUMN position double precision NOT NULL DEFAULT 0",
            "ALTER TABLE tasks ADD COLUMN assignee_id text REFERENCES users (id) ON DELETE SET NULL",
            """
            INSERT INTO projects (created_by, name, is_inbox, created_at, updated_at)
            SELECT id, 'Inbox', true, created_at, created_at FROM users
            """,
            """
            INSERT INTO project_members (project_id, user_id, role, position, created_at)
            SELECT id, created_by, 'owner', 1024, created_at FROM projects
            """,
            """
            UPDATE tasks SET project_id = r.project_id, position = r.position FROM (
                SELECT t.id, p.id AS project_id, 1024 * row_number() OVER (PARTITION BY t.user_id ORDER BY t.created_at DESC, t.id DESC) AS position
                FROM tasks t JOIN projects p ON p.created_by = t.user_id AND p.is_inbox
            ) r WHERE tasks.id = r.id
            """,
            "ALTER TABLE tasks ALTER COLUMN project_id SET NOT NULL",
            "ALTER TABLE tasks ALTER COLUMN position DROP DEFAULT",
            "DROP INDEX tasks_user_due",
            "CREATE INDEX tasks_project_created ON tasks (project_id, created_at, id)",
            "CREATE INDEX tasks_project_due ON tasks (project_id, due_at, id)",
            "CREATE INDEX tasks_project_position ON tasks (project_id, position, id)",
            "CREATE INDEX tasks_parent ON tasks (parent_id) WHERE parent_id IS NOT NULL",
            "CREATE INDEX tasks_assignee ON tasks (assignee_id) WHERE assignee_id IS NOT NULL",
            """
            CREATE FUNCTION users_create_inbox() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                inbox bigint;
            BEGIN
                INSERT INTO projects (created_by, name, is_inbox, created_at, updated_at)
                VALUES (NEW.id, 'Inbox', true, NEW.created_at, NEW.created_at) RETURNING id INTO inbox;
                INSERT INTO project_members (project_id, user_id, role, position, created_at)
                VALUES (inbox, NEW.id, 'owner', 1024, NEW.created_at);
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER users_inbox AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION users_create_inbox()",
            // A task's progress (2 of 5 sub-tasks done), kept on its row by its sub-tasks' writes:
            // reading it costs a list nothing. Tasks without a parent skip the trigger (WHEN).
            "ALTER TABLE tasks ADD COLUMN subtask_count integer NOT NULL DEFAULT 0",
            "ALTER TABLE tasks ADD COLUMN subtasks_done integer NOT NULL DEFAULT 0",
            """
            CREATE FUNCTION tasks_count_subtasks() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' AND OLD.parent_id IS NOT NULL THEN
                    UPDATE tasks SET subtask_count = subtask_count - 1, subtasks_done = subtasks_done - OLD.completed::integer
                    WHERE id = OLD.parent_id;
                END IF;
                IF TG_OP <> 'DELETE' AND NEW.parent_id IS NOT NULL THEN
                    UPDATE tasks SET subtask_count = subtask_count + 1, subtasks_done = subtasks_done + NEW.completed::integer
                    WHERE id = NEW.parent_id;
                END IF;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER tasks_subtasks_inserted AFTER INSERT ON tasks FOR EACH ROW WHEN (NEW.parent_id IS NOT NULL)
            EXECUTE FUNCTION tasks_count_subtasks()
            """,
            """
            CREATE TRIGGER tasks_subtasks_deleted AFTER DELETE ON tasks FOR EACH ROW WHEN (OLD.parent_id IS NOT NULL)
            EXECUTE FUNCTION tasks_count_subtasks()
            """,
            """
            CREATE TRIGGER tasks_subtasks_updated AFTER UPDATE OF parent_id, completed ON tasks FOR EACH ROW
            WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id OR OLD.completed <> NEW.completed) EXECUTE FUNCTION tasks_count_subtasks()
            """,
            "ANALYZE tasks",
        ]),
        // Webhooks per project (SPEC 9): a webhook hears of the tasks of its project, or without
        // one of every project its owner is a member of, decided by membership when the event is
        // queued: a member who leaves stops hearing at once. One statement in the function, as
        // before; a change that moves a task is also told to its old project's webhooks (the
        // DISTINCT keeps one delivery for a webhook that hears of both projects). It starts from
        // the project's members (their primary key, in pages the task write has just read to
        // check its own membership), then their webhooks (`webhooks_user`): for a user without
        // webhooks, one index probe more than before. EXPLAIN of the generic plan with 2,000
        // webhooks in all shows that nested loop; with 200, PostgreSQL reads the whole table
        // (its two pages) instead, which it estimates as cheap.
        Migration(version: 18, name: "webhooks per project", statements: [
            "ALTER TABLE webhooks ADD COLUMN project_id bigint REFERENCES projects (id) ON DELETE CASCADE",
            "CREATE INDEX webhooks_project ON webhooks (project_id) WHERE project_id IS NOT NULL",
            """
            CREATE OR REPLACE FUNCTION tasks_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                kind text;
                subject tasks;
                completes boolean := false;
                moved_from bigint;
                event_id bigint;
                event_time timestamptz;
            BEGIN
                IF TG_OP = 'INSERT' THEN kind := 'task.created'; subject := NEW;
                ELSIF TG_OP = 'DELETE' THEN kind := 'task.deleted'; subject := OLD;
                ELSIF NEW.version <> OLD.version THEN
                    kind := 'task.updated'; subject := NEW; completes := NEW.completed AND NOT OLD.completed;
                    IF NEW.project_id <> OLD.project_id THEN moved_from := OLD.project_id; END IF;
                ELSIF OLD.reminded_at IS NULL AND NEW.reminded_at IS NOT NULL THEN kind := 'reminder.due'; subject := NEW;
                ELSE RETURN NULL;
                END IF;
                INSERT INTO events (user_id, kind, task_id) VALUES (subject.user_id, kind, subject.id) RETURNING id, created_at INTO event_id, event_time;
                INSERT INTO webhook_deliveries (webhook_id, event_id, type, task_id, event_time, next_attempt_at)
                SELECT id, event_id, type, subject.id, event_time, event_time FROM (
                    SELECT DISTINCT w.id AS id, w.events AS events, CASE WHEN completes AND position(',task.completed,' IN ',' || w.events || ',') > 0
                        THEN 'task.completed' ELSE kind END AS type
                    FROM project_members m JOIN webhooks w ON w.user_id = m.user_id AND (w.project_id IS NULL OR w.project_id = m.project_id)
                    WHERE m.project_id IN (subject.project_id, moved_from)) subscribed
                WHERE position(',' || type || ',' IN ',' || events || ',') > 0;
                RETURN NULL;
            END
            $$
            """,
        ]),
        // CalDAV serves a calendar per project, synced from the events of its project: each event
        // names the task's project and, for a move, the project it left, whose sync then reports
        // the task as gone. Earlier events keep NULL: no sync token of a project predates this.
        // The trigger that fills the columns is migration 20's.
        Migration(version: 19, name: "events per project", statements: [
            "ALTER TABLE events ADD COLUMN project_id bigint",
            "ALTER TABLE events ADD COLUMN moved_from bigint",
            "CREATE INDEX events_project ON events (project_id, id)",
            "CREATE INDEX events_moved_from ON events (moved_from, id) WHERE moved_from IS NOT NULL",
        ]),
        // Sharing (SPEC 9): invitations by e-mail. Open sign-up does not prove an address, so an
        // invitation is bound to the account that had the address when it was made only if
        // someone answers for that address (`users.email_proven`: made by the operator, through
        // an invitation link, a provider or a reset link); otherwise only the secret of its link
        // (`token_hash`), mailed to the address or passed on by the owner, claims it. Whoever
        // registers an invited address gains nothing.
        // Live events reach every member of a task's project: each event carries the project (and
        // for a move the one it left; migration 19), and the hub resolves its audience by
        // membership when it delivers, so a removed member hears nothing more. A due reminder is
        // the assignee's event (the creator's when unassigned): push and mail follow
        // `events.user_id`.
        Migration(version: 20, name: "sharing", statements: [
            """
            CREATE TABLE project_invitations (
                id text PRIMARY KEY,
                project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
                email text NOT NULL,
                role text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
                invited_by text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at timestamptz NOT NULL,
                user_id text REFERENCES users (id) ON DELETE CASCADE,
                token_hash text NOT NULL UNIQUE,
                UNIQUE (project_id, email)
            )
            """,
            "CREATE INDEX project_invitations_user ON project_invitations (user_id)",
            // Admins (the operator) answer for their own address; nobody else's was proven yet.
            "ALTER TABLE users ADD COLUMN email_proven boolean NOT NULL DEFAULT false",
            "UPDATE users SET email_proven = admin",
            """
            CREATE OR REPLACE FUNCTION tasks_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                kind text;
                subject tasks;
                recipient text;
                completes boolean := false;
                moved_from bigint;
                event_id bigint;
                event_time timestamptz;
            BEGIN
                IF TG_OP = 'INSERT' THEN kind := 'task.created'; subject := NEW;
                ELSIF TG_OP = 'DELETE' THEN kind := 'task.deleted'; subject := OLD;
                ELSIF NEW.version <> OLD.version THEN
                    kind := 'task.updated'; subject := NEW; completes := NEW.completed AND NOT OLD.completed;
                    IF NEW.project_id <> OLD.project_id THEN moved_from := OLD.project_id; END IF;
                ELSIF OLD.reminded_at IS NULL AND NEW.reminded_at IS NOT NULL THEN kind := 'reminder.due'; subject := NEW;
                ELSE RETURN NULL;
                END IF;
                recipient := CASE WHEN kind = 'reminder.due' THEN COALESCE(subject.assignee_id, subject.user_id) ELSE subject.user_id END;
                INSERT INTO events (user_id, kind, task_id, project_id, moved_from)
                VALUES (recipient, kind, subject.id, subject.project_id, moved_from) RETURNING id, created_at INTO event_id, event_time;
                INSERT INTO webhook_deliveries (webhook_id, event_id, type, task_id, event_time, next_attempt_at)
                SELECT id, event_id, type, subject.id, event_time, event_time FROM (
                    SELECT DISTINCT w.id AS id, w.events AS events, CASE WHEN completes AND position(',task.completed,' IN ',' || w.events || ',') > 0
                        THEN 'task.completed' ELSE kind END AS type
                    FROM project_members m JOIN webhooks w ON w.user_id = m.user_id AND (w.project_id IS NULL OR w.project_id = m.project_id)
                    WHERE m.project_id IN (subject.project_id, moved_from)) subscribed
                WHERE position(',' || type || ',' IN ',' || events || ',') > 0;
                RETURN NULL;
            END
            $$
            """,
        ]),
        // A statement's new tasks are recorded together: one insert of their events and one of
        // their webhook deliveries per statement (a transition table), where the row trigger ran
        // both statements for each task. A grouped create (`InsertTasksStatement`) or an import
        // inserts many tasks in one statement. Changes and deletes keep the row trigger.
        Migration(version: 21, name: "events of new tasks per statement", statements: [
            """
            CREATE FUNCTION tasks_record_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                WITH recorded AS (
                    INSERT INTO events (user_id, kind, task_id, project_id)
                    SELECT user_id, 'task.created', id, project_id FROM inserted_tasks ORDER BY id
                    RETURNING id, task_id, project_id, created_at
                )
                INSERT INTO webhook_deliveries (webhook_id, event_id, type, task_id, event_time, next_attempt_at)
                SELECT w.id, recorded.id, 'task.created', recorded.task_id, recorded.created_at, recorded.created_at
                FROM recorded JOIN project_members m ON m.project_id = recorded.project_id
                JOIN webhooks w ON w.user_id = m.user_id AND (w.project_id IS NULL OR w.project_id = m.project_id)
                WHERE position(',task.created,' IN ',' || w.events || ',') > 0;
                RETURN NULL;
            END
            $$
            """,
            "DROP TRIGGER tasks_events ON tasks",
            "CREATE TRIGGER tasks_events AFTER UPDATE OR DELETE ON tasks FOR EACH ROW EXECUTE FUNCTION tasks_record_event()",
            """
            CREATE TRIGGER tasks_events_inserted AFTER INSERT ON tasks REFERENCING NEW TABLE AS inserted_tasks
            FOR EACH STATEMENT EXECUTE FUNCTION tasks_record_inserts()
            """,
            """
            CREATE OR REPLACE FUNCTION tasks_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                kind text;
                subject tasks;
                recipient text;
                completes boolean := false;
                moved_from bigint;
                event_id bigint;
                event_time timestamptz;
            BEGIN
                IF TG_OP = 'DELETE' THEN kind := 'task.deleted'; subject := OLD;
                ELSIF NEW.version <> OLD.version THEN
                    kind := 'task.updated'; subject := NEW; completes := NEW.completed AND NOT OLD.completed;
                    IF NEW.project_id <> OLD.project_id THEN moved_from := OLD.project_id; END IF;
                ELSIF OLD.reminded_at IS NULL AND NEW.reminded_at IS NOT NULL THEN kind := 'reminder.due'; subject := NEW;
                ELSE RETURN NULL;
                END IF;
                recipient := CASE WHEN kind = 'reminder.due' THEN COALESCE(subject.assignee_id, subject.user_id) ELSE subject.user_id END;
                INSERT INTO events (user_id, kind, task_id, project_id, moved_from)
                VALUES (recipient, kind, subject.id, subject.project_id, moved_from) RETURNING id, created_at INTO event_id, event_time;
                INSERT INTO webhook_deliveries (webhook_id, event_id, type, task_id, event_time, next_attempt_at)
                SELECT id, event_id, type, subject.id, event_time, event_time FROM (
                    SELECT DISTINCT w.id AS id, w.events AS events, CASE WHEN completes AND position(',task.completed,' IN ',' || w.events || ',') > 0
                        THEN 'task.completed' ELSE kind END AS type
                    FROM project_members m JOIN webhooks w ON w.user_id = m.user_id AND (w.project_id IS NULL OR w.project_id = m.project_id)
                    WHERE m.project_id IN (subject.project_id, moved_from)) subscribed
                WHERE position(',' || type || ',' IN ',' || events || ',') > 0;
                RETURN NULL;
            END
            $$
            """,
        ]),
    ]

    static let sqlite: [Migration] = [
        Migration(version: 1, name: "users, tasks, tokens and events", statements: [
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                name TEXT,
                password_hash TEXT NOT NULL,
                created_at INTEGER NOT NULL
            )
            """,
            // AUTOINCREMENT: an id is never reused after a delete.
            """
            CREATE TABLE tasks (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                title TEXT NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                completed INTEGER NOT NULL DEFAULT 0,
                completed_at INTEGER,
                priority INTEGER NOT NULL DEFAULT 0,
                tags TEXT NOT NULL DEFAULT '',
                due_at INTEGER,
                remind_at INTEGER,
                recurrence TEXT,
                version INTEGER NOT NULL DEFAULT 1,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                series_start INTEGER,
                occurrence INTEGER NOT NULL DEFAULT 0,
                next_occurrence_id INTEGER,
                reminded_at INTEGER
            )
            """,
            "CREATE INDEX tasks_user_created ON tasks (user_id, created_at, id)",
            "CREATE INDEX tasks_user_due ON tasks (user_id, due_at, id)",
            "CREATE INDEX tasks_pending_reminders ON tasks (remind_at) WHERE reminded_at IS NULL AND completed = 0",
            """
            CREATE TABLE api_tokens (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                created_at INTEGER NOT NULL,
                expires_at INTEGER,
                last_used_at INTEGER
            )
            """,
            "CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at)",
            """
            CREATE TABLE events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                task_id INTEGER NOT NULL,
                created_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
            )
            """,
            "CREATE INDEX events_user ON events (user_id, id)",
            """
            CREATE TRIGGER tasks_created AFTER INSERT ON tasks BEGIN
                INSERT INTO events (user_id, kind, task_id) VALUES (NEW.user_id, 'task.created', NEW.id);
            END
            """,
            """
            CREATE TRIGGER tasks_updated AFTER UPDATE ON tasks WHEN NEW.version <> OLD.version BEGIN
                INSERT INTO events (user_id, kind, task_id) VALUES (NEW.user_id, 'task.updated', NEW.id);
            END
            """,
            """
            CREATE TRIGGER tasks_reminded AFTER UPDATE ON tasks
            WHEN NEW.version = OLD.version AND OLD.reminded_at IS NULL AND NEW.reminded_at IS NOT NULL BEGIN
                INSERT INTO events (user_id, kind, task_id) VALUES (NEW.user_id, 'reminder.due', NEW.id);
            END
            """,
            """
            CREATE TRIGGER tasks_deleted AFTER DELETE ON tasks BEGIN
                INSERT INTO events (user_id, kind, task_id) VALUES (OLD.user_id, 'task.deleted', OLD.id);
            END
            """,
        ]),
        Migration(version: 2, name: "conversations", statements: [
            """
            CREATE TABLE conversations (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                title TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX conversations_user ON conversations (user_id, updated_at)",
            """
            CREATE TABLE messages (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
                role TEXT NOT NULL,
                content TEXT NOT NULL,
                tool_calls TEXT,
                tool_call_id TEXT,
                created_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX messages_conversation ON messages (conversation_id, id)",
        ]),
        // Versions mean the same on both databases; SQLite's triggers never notified.
        Migration(version: 3, name: "events without notify in the trigger", statements: []),
        // One process serves a SQLite file: it counts attempts in memory (`MemoryAttemptStore`).
        Migration(version: 4, name: "attempt counters", statements: []),
        Migration(version: 5, name: "log-in sessions", statements: [
            """
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at INTEGER NOT NULL,
                last_used_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                user_agent TEXT
            )
            """,
            "CREATE INDEX sessions_user ON sessions (user_id)",
            "CREATE INDEX sessions_expires ON sessions (expires_at)",
        ]),
        Migration(version: 6, name: "disabled accounts", statements: [
            "ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0",
        ]),
        // SQLite has row-level triggers only; its updates of the user's row stay in its page cache
        // until the group's one commit.
        Migration(version: 7, name: "task counts", statements: [
            "ALTER TABLE users ADD COLUMN task_count INTEGER NOT NULL DEFAULT 0",
            """
            CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN
                UPDATE users SET task_count = task_count + 1 WHERE id = NEW.user_id;
            END
            """,
            """
            CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN
                UPDATE users SET task_count = task_count - 1 WHERE id = OLD.user_id;
            END
            """,
            "UPDATE users SET task_count = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id)",
        ]),
        Migration(version: 8, name: "admins and invitations", statements: [
            "ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0",
            """
            CREATE TABLE signup_invitations (
                email TEXT PRIMARY KEY,
                token_hash TEXT NOT NULL UNIQUE,
                invited_by TEXT REFERENCES users (id) ON DELETE CASCADE,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX signup_invitations_expires ON signup_invitations (expires_at)",
        ]),
        Migration(version: 9, name: "single sign-on identities", statements: [
            """
            CREATE TABLE identities (
                issuer TEXT NOT NULL,
                subject TEXT NOT NULL,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (issuer, subject)
            )
            """,
            "CREATE INDEX identities_user ON identities (user_id)",
        ]),
        Migration(version: 10, name: "password resets", statements: [
            """
            CREATE TABLE password_resets (
                token_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX password_resets_user ON password_resets (user_id)",
            "CREATE INDEX password_resets_expires ON password_resets (expires_at)",
        ]),
        // SQLite keeps no statistics unless ANALYZE runs; its planner assumes fixed table sizes.
        Migration(version: 11, name: "tasks analysed sooner", statements: []),
        Migration(version: 12, name: "calendar feed generation", statements: [
            "ALTER TABLE users ADD COLUMN feed_generation INTEGER NOT NULL DEFAULT 0",
        ]),
        Migration(version: 13, name: "webhooks", statements: [
            """
            CREATE TABLE webhooks (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                url TEXT NOT NULL,
                events TEXT NOT NULL,
                secret TEXT NOT NULL,
                created_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX webhooks_user ON webhooks (user_id, created_at)",
            """
            CREATE TABLE webhook_deliveries (
                webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
                event_id INTEGER NOT NULL,
                type TEXT NOT NULL,
                task_id INTEGER NOT NULL,
                event_time INTEGER NOT NULL,
                attempt INTEGER NOT NULL DEFAULT 0,
                status INTEGER,
                next_attempt_at INTEGER,
                delivered_at INTEGER,
                PRIMARY KEY (webhook_id, event_id)
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL",
            "ALTER TABLE events ADD COLUMN completes INTEGER NOT NULL DEFAULT 0",
            "DROP TRIGGER tasks_updated",
            """
            CREATE TRIGGER tasks_updated AFTER UPDATE ON tasks WHEN NEW.version <> OLD.version BEGIN
                INSERT INTO events (user_id, kind, task_id, completes)
                VALUES (NEW.user_id, 'task.updated', NEW.id, NEW.completed AND NOT OLD.completed);
            END
            """,
            """
            CREATE TRIGGER events_queue_webhooks AFTER INSERT ON events BEGIN
                INSERT INTO webhook_deliveries (webhook_id, event_id, type, task_id, event_time, next_attempt_at)
                SELECT id, NEW.id, type, NEW.task_id, NEW.created_at, NEW.created_at FROM (
                    SELECT id, events, CASE WHEN NEW.completes AND instr(',' || events || ',', ',task.completed,') > 0
                        THEN 'task.completed' ELSE NEW.kind END AS type
                    FROM webhooks WHERE user_id = NEW.user_id)
                WHERE instr(',' || events || ',', ',' || type || ',') > 0;
            END
            """,
        ]),
        Migration(version: 14, name: "calendar objects", statements: [
            """
            CREATE TABLE calendar_objects (
                task_id INTEGER PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                uid TEXT NOT NULL,
                todo_extra TEXT NOT NULL DEFAULT '',
                calendar_extra TEXT NOT NULL DEFAULT '',
                UNIQUE (user_id, name)
            )
            """,
        ]),
        Migration(version: 15, name: "push subscriptions", statements: [
            """
            CREATE TABLE push_subscriptions (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                endpoint TEXT NOT NULL,
                p256dh TEXT NOT NULL,
                auth TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                UNIQUE (user_id, endpoint)
            )
            """,
            """
            CREATE TABLE push_deliveries (
                subscription_id TEXT NOT NULL REFERENCES push_subscriptions (id) ON DELETE CASCADE,
                event_id INTEGER NOT NULL,
                task_id INTEGER NOT NULL,
                event_time INTEGER NOT NULL,
                attempt INTEGER NOT NULL DEFAULT 0,
                status INTEGER,
                next_attempt_at INTEGER,
                delivered_at INTEGER,
                PRIMARY KEY (subscription_id, event_id)
            )
            """,
            "CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL",
            """
            CREATE TRIGGER events_queue_push AFTER INSERT ON events WHEN NEW.kind = 'reminder.due' BEGIN
                INSERT INTO push_deliveries (subscription_id, event_id, task_id, event_time, next_attempt_at)
                SELECT id, NEW.id, NEW.task_id, NEW.created_at, NEW.created_at FROM push_subscriptions WHERE user_id = NEW.user_id;
            END
            """,
        ]),
        Migration(version: 16, name: "mail notifications", statements: [
            """
            CREATE TABLE mail_preferences (
                user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
                email_reminders INTEGER NOT NULL DEFAULT 0,
                daily_digest INTEGER NOT NULL DEFAULT 0,
                digest_time TEXT NOT NULL DEFAULT '07:00',
                time_zone TEXT NOT NULL DEFAULT 'UTC',
                next_digest_at INTEGER
            )
            """,
            "CREATE INDEX mail_preferences_digest_due ON mail_preferences (next_digest_at) WHERE next_digest_at IS NOT NULL",
            """
            CREATE TABLE mail_deliveries (
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                delivery_key TEXT NOT NULL,
                task_id INTEGER,
                event_time INTEGER NOT NULL,
                attempt INTEGER NOT NULL DEFAULT 0,
                status INTEGER,
                next_attempt_at INTEGER,
                delivered_at INTEGER,
                PRIMARY KEY (user_id, delivery_key)
            )
            """,
            "CREATE INDEX mail_deliveries_due ON mail_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL",
            """
            CREATE TRIGGER events_queue_mail AFTER INSERT ON events WHEN NEW.kind = 'reminder.due' BEGIN
                INSERT INTO mail_deliveries (user_id, delivery_key, task_id, event_time, next_attempt_at)
                SELECT user_id, 'reminder-' || NEW.id, NEW.task_id, NEW.created_at, NEW.created_at
                FROM mail_preferences WHERE user_id = NEW.user_id AND email_reminders;
            END
            """,
        ]),
        // SQLite cannot make an added column NOT NULL: triggers refuse a task without a project.
        Migration(version: 17, name: "projects", statements: [
            """
            CREATE TABLE projects (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                created_by TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                color TEXT,
                archived INTEGER NOT NULL DEFAULT 0,
                is_inbox INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX projects_inbox ON projects (created_by) WHERE is_inbox",
            "CREATE INDEX projects_created_by ON projects (created_by)",
            """
            CREATE TABLE project_members (
                project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                role TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
                position REAL NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (project_id, user_id)
            )
            """,
            "CREATE INDEX project_members_user ON project_members (user_id, project_id)",
            "ALTER TABLE tasks ADD COLUMN project_id INTEGER REFERENCES projects (id) ON DELETE CASCADE",
            "ALTER TABLE tasks ADD COLUMN parent_id INTEGER REFERENCES tasks (id) ON DELETE CASCADE",
            "ALTER TABLE tasks ADD COLUMN position REAL NOT NULL DEFAULT 0",
            "ALTER TABLE tasks ADD COLUMN assignee_id TEXT REFERENCES users (id) ON DELETE SET NULL",
            """
            INSERT INTO projects (created_by, name, is_inbox, created_at, updated_at)
            SELECT id, 'Inbox', 1, created_at, created_at FROM users
            """,
            """
            INSERT INTO project_members (project_id, user_id, role, position, created_at)
            SELECT id, created_by, 'owner', 1024, created_at FROM projects
            """,
            """
            UPDATE tasks SET project_id = r.project_id, position = r.position FROM (
                SELECT t.id, p.id AS project_id, 1024.0 * row_number() OVER (PARTITION BY t.user_id ORDER BY t.created_at DESC, t.id DESC) AS position
                FROM tasks t JOIN projects p ON p.created_by = t.user_id AND p.is_inbox
            ) AS r WHERE tasks.id = r.id
            """,
            """
            CREATE TRIGGER tasks_project_required BEFORE INSERT ON tasks WHEN NEW.project_id IS NULL BEGIN
                SELECT RAISE(ABORT, 'a task needs a project');
            END
            """,
            """
            CREATE TRIGGER tasks_project_kept BEFORE UPDATE OF project_id ON tasks WHEN NEW.project_id IS NULL BEGIN
                SELECT RAISE(ABORT, 'a task needs a project');
            END
            """,
            "DROP INDEX tasks_user_due",
            "CREATE INDEX tasks_project_created ON tasks (project_id, created_at, id)",
            "CREATE INDEX tasks_project_due ON tasks (project_id, due_at, id)",
            "CREATE INDEX tasks_project_position ON tasks (project_id, position, id)",
            "CREATE INDEX tasks_parent ON tasks (parent_id) WHERE parent_id IS NOT NULL",
            "CREATE INDEX tasks_assignee ON tasks (assignee_id) WHERE assignee_id IS NOT NULL",
            """
            CREATE TRIGGER users_inbox AFTER INSERT ON users BEGIN
                INSERT INTO projects (created_by, name, is_inbox, created_at, updated_at)
                VALUES (NEW.id, 'Inbox', 1, NEW.created_at, NEW.created_at);
                INSERT INTO project_members (project_id, user_id, role, position, created_at)
                SELECT id, NEW.id, 'owner', 1024, NEW.created_at FROM projects WHERE created_by = NEW.id AND is_inbox;
            END
            """,
            "ALTER TABLE tasks ADD COLUMN subtask_count INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE tasks ADD COLUMN subtasks_done INTEGER NOT NULL DEFAULT 0",
            """
            CREATE TRIGGER tasks_subtasks_inserted AFTER INSERT ON tasks WHEN NEW.parent_id IS NOT NULL BEGIN
                UPDATE tasks SET subtask_count = subtask_count + 1, subtasks_done = subtasks_done + NEW.completed WHERE id = NEW.parent_id;
            END
            """,
            """
            CREATE TRIGGER tasks_subtasks_deleted AFTER DELETE ON tasks WHEN OLD.parent_id IS NOT NULL BEGIN
                UPDATE tasks SET subtask_count = subtask_count - 1, subtasks_done = subtasks_done - OLD.completed WHERE id = OLD.parent_id;
            END
            """,
            """
            CREATE TRIGGER tasks_subtasks_updated AFTER UPDATE OF parent_id, completed ON tasks
            WHEN OLD.parent_id IS NOT NEW.parent_id OR OLD.completed <> NEW.completed BEGIN
                UPDATE tasks SET subtask_count = subtask_count - 1, subtasks_done = subtasks_done - OLD.completed WHERE id = OLD.parent_id;
                UPDATE tasks SET subtask_count = subtask_count + 1, subtasks_done = subtasks_done + NEW.completed WHERE id = NEW.parent_id;
            END
            """,
        ]),
        // The queueing trigger runs on `events`, after the task row may be gone: each event now
        // carries its task's project, and for a move the project it left (`moved_from`).
        Migration(version: 18, name: "webhooks per project", statements: [
            "ALTER TABLE webhooks ADD COLUMN project_id INTEGER REFERENCES projects (id) ON DELETE CASCADE",
            "CREATE INDEX webhooks_project ON webhooks (project_id) WHERE project_id IS NOT NULL",
            "ALTER TABLE events ADD COLUMN project_id INTEGER",
            "ALTER TABLE events ADD COLUMN moved_from INTEGER",
            "DROP TRIGGER tasks_created",
            """
            CREATE TRIGGER tasks_created AFTER INSERT ON tasks BEGIN
                INSERT INTO events (user_id, kind, task_id, project_id) VALUES (NEW.user_id, 'task.created', NEW.id, NEW.project_id);
            END
            """,
            "DROP TRIGGER tasks_updated",
            """
            CREATE TRIGGER tasks_updated AFTER UPDATE ON tasks WHEN NEW.version <> OLD.version BEGIN
                INSERT INTO events (user_id, kind, task_id, completes, project_id, moved_from)
                VALUES (NEW.user_id, 'task.updated', NEW.id, NEW.completed AND NOT OLD.completed, NEW.project_id,
                        NULLIF(OLD.project_id, NEW.project_id));
            END
            """,
            "DROP TRIGGER tasks_reminded",
            """
            CREATE TRIGGER tasks_reminded AFTER UPDATE ON tasks
            WHEN NEW.version = OLD.version AND OLD.reminded_at IS NULL AND NEW.reminded_at IS NOT NULL BEGIN
                INSERT INTO events (user_id, kind, task_id, project_id) VALUES (NEW.user_id, 'reminder.due', NEW.id, NEW.project_id);
            END
            """,
            "DROP TRIGGER tasks_deleted",
            """
            CREATE TRIGGER tasks_deleted AFTER DELETE ON tasks BEGIN
                INSERT INTO events (user_id, kind, task_id, project_id) VALUES (OLD.user_id, 'task.deleted', OLD.id, OLD.project_id);
            END
            """,
            "DROP TRIGGER events_queue_webhooks",
            """
            CREATE TRIGGER events_queue_webhooks AFTER INSERT ON events BEGIN
                INSERT INTO webhook_deliveries (webhook_id, event_id, type, task_id, event_time, next_attempt_at)
                SELECT id, NEW.id, type, NEW.task_id, NEW.created_at, NEW.created_at FROM (
                    SELECT DISTINCT w.id AS id, w.events AS events, CASE WHEN NEW.completes AND instr(',' || w.events || ',', ',task.completed,') > 0
                        THEN 'task.completed' ELSE NEW.kind END AS type
                    FROM project_members m JOIN webhooks w ON w.user_id = m.user_id AND (w.project_id IS NULL OR w.project_id = m.project_id)
                    WHERE m.project_id IN (NEW.project_id, NEW.moved_from))
                WHERE instr(',' || events || ',', ',' || type || ',') > 0;
            END
            """,
        ]),
        // The columns came with migration 18 on SQLite; a calendar's sync reads them by project.
        Migration(version: 19, name: "events per project", statements: [
            "CREATE INDEX events_project ON events (project_id, id)",
            "CREATE INDEX events_moved_from ON events (moved_from, id) WHERE moved_from IS NOT NULL",
        ]),
        Migration(version: 20, name: "sharing", statements: [
            """
            CREATE TABLE project_invitations (
                id TEXT PRIMARY KEY,
                project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
                email TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
                invited_by TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                created_at INTEGER NOT NULL,
                user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
                token_hash TEXT NOT NULL UNIQUE,
                UNIQUE (project_id, email)
            )
            """,
            "CREATE INDEX project_invitations_user ON project_invitations (user_id)",
            // Admins (the operator) answer for their own address; nobody else's was proven yet.
            "ALTER TABLE users ADD COLUMN email_proven INTEGER NOT NULL DEFAULT 0",
            "UPDATE users SET email_proven = admin",
            "DROP TRIGGER tasks_reminded",
            """
            CREATE TRIGGER tasks_reminded AFTER UPDATE ON tasks
            WHEN NEW.version = OLD.version AND OLD.reminded_at IS NULL AND NEW.reminded_at IS NOT NULL BEGIN
                INSERT INTO events (user_id, kind, task_id, project_id)
                VALUES (COALESCE(NEW.assignee_id, NEW.user_id), 'reminder.due', NEW.id, NEW.project_id);
            END
            """,
        ]),
        // SQLite's triggers run per row in any case: nothing to change.
        Migration(version: 21, name: "events of new tasks per statement", statements: []),
    ]
}

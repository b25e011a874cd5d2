/// A numbered schema change. Versions only ever grow; an applied migration is never edited.
struct Migration: Sendable {
    var version: Int
    var name: String
    var statements: [String]
}

enum Migrations {
    static let postgres: [Migration] = [
        Migration(version: 1, name: "users and tasks", statements: [
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
                updated_at timestamptz NOT NULL
            )
            """,
            // The list query always filters by user; these serve the default and the due-date orders.
            "CREATE INDEX tasks_user_created ON tasks (user_id, created_at, id)",
            "CREATE INDEX tasks_user_due ON tasks (user_id, due_at, id)",
        ]),
    ]

    static let sqlite: [Migration] = [
        Migration(version: 1, name: "users and tasks", statements: [
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
                updated_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX tasks_user_created ON tasks (user_id, created_at, id)",
            "CREATE INDEX tasks_user_due ON tasks (user_id, due_at, id)",
        ]),
    ]
}

import Tracing

/// One client span per store operation (a statement, or a transaction of several), named after
/// the store and method that ran it: `PostgresTaskStore.insertTask`, `SQLiteAccountStore.user`.
/// The name comes from the caller's `#fileID` and `#function`, so the stores need no code of
/// their own; SQL text and bound values are not recorded (they hold users' data). Only inside a
/// traced request (`TracingSwitch.hasActiveSpan`).
public enum DatabaseSpan {
    public static func around<T>(
        system: String, operation: String, file: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T
    ) async rethrows -> T {
        guard TracingSwitch.hasActiveSpan else { return try await body() }
        let method = operation.prefix { $0 != "(" }
        return try await withSpan("\(storeName(file)).\(method)", ofKind: .client) { span in
            span.attributes["db.system"] = system
            span.attributes["db.system.name"] = system
            span.attributes["db.operation.name"] = String(method)
            return try await body()
        }
    }

    /// `PostgresTaskStore` for `TodoStore/PostgresTaskStore.swift`.
    static func storeName(_ fileID: String) -> Substring {
        let file = fileID.split(separator: "/").last ?? Substring(fileID)
        return file.hasSuffix(".swift") ? file.dropLast(6) : file
    }
}

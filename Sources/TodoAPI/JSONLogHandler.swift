import Foundation
import Logging
import TodoCore
import TodoTracing

/// Writes each log entry as one JSON object on one line of standard output, as log collectors
/// in Kubernetes and Compose expect. One `write` per line keeps lines whole between threads.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Keys of the line itself, which metadata cannot replace.
    private static let reservedKeys: Set<String> = ["time", "level", "logger", "message"]

    public func log(event: LogEvent) {
        var line = JSONBytes(capacity: 320)
        line.append("{\"time\":")
        line.appendTime(.now())
        line.append(",\"level\":")
        line.appendString(event.level.rawValue)
        line.append(",\"logger\":")
        line.appendString(label)
        line.append(",\"message\":")
        line.appendString(event.message.description)
        var merged = event.metadata.map { metadata.merging($0) { _, new in new } } ?? metadata
        // `trace_id` and `span_id` of the active span, when tracing is on: a line leads to its trace.
        merged.merge(TracingSwitch.logMetadata()) { own, _ in own }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !Self.reservedKeys.contains(key) {
            line.append(",")
            line.appendString(key)
            line.append(":")
            Self.append(value, to: &line)
        }
        line.append("}\n")
        line.bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    /// Numbers and booleans logged as values (`.stringConvertible(count)`) stay JSON numbers
    /// and booleans, so that log queries compare them as such (`duration_ms > 100`); everything
    /// else is a string, an array or an object.
    private static func append(_ value: Logger.MetadataValue, to line: inout JSONBytes) {
        switch value {
        case .string(let text):
            line.appendString(text)
        case .stringConvertible(let convertible):
            if let literal = jsonLiteral(convertible) { line.appendUnescaped(literal) } else { line.appendString(convertible.description) }
        case .array(let values):
            line.append("[")
            for (index, element) in values.enumerated() {
                if index > 0 { line.append(",") }
                append(element, to: &line)
            }
            line.append("]")
        case .dictionary(let values):
            line.append("{")
            for (index, (key, element)) in values.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { line.append(",") }
                line.appendString(key)
                line.append(":")
                append(element, to: &line)
            }
            line.append("}")
        }
    }

    /// The JSON literal of a boolean or a finite number; nil for anything else.
    static func jsonLiteral(_ value: any CustomStringConvertible & Sendable) -> String? {
        switch value {
        case let flag as Bool: flag ? "true" : "false"
        case let integer as any BinaryInteger: integer.description
        case let number as Double where number.isFinite: number.description
        default: nil
        }
    }
}

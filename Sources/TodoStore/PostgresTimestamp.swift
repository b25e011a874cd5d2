import NIOCore
import PostgresNIO
import TodoCore

/// `timestamptz` in PostgreSQL's binary format (microseconds since 2000-01-01 UTC), converted
/// exactly to and from milliseconds: no floating point on the way, unlike `Date`.
extension Timestamp: PostgresNonThrowingEncodable, PostgresArrayEncodable, PostgresDecodable {
    private static let postgresEpochMilliseconds: Int64 = 946_684_800_000

    public static var psqlType: PostgresDataType { .timestamptz }
    public static var psqlArrayType: PostgresDataType { .timestamptzArray }
    public static var psqlFormat: PostgresFormat { .binary }

    public func encode<JSONEncoder: PostgresJSONEncoder>(
        into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        byteBuffer.writeInteger((millisecondsSinceEpoch - Self.postgresEpochMilliseconds) * 1000)
    }

    public init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard type == .timestamptz || type == .timestamp, format == .binary else {
            throw PostgresDecodingError.Code.typeMismatch
        }
        guard buffer.readableBytes == 8, let microseconds = buffer.readInteger(as: Int64.self) else {
            throw PostgresDecodingError.Code.failure
        }
        self.init(postgresMicroseconds: microseconds)
    }

    /// The instant of a `timestamptz`'s binary value, rounded down to the millisecond.
    init(postgresMicroseconds microseconds: Int64) {
        let (milliseconds, _) = microseconds.floorDividedBy1000()
        self.init(millisecondsSinceEpoch: milliseconds + Self.postgresEpochMilliseconds)
    }
}

extension Int64 {
    fileprivate func floorDividedBy1000() -> (Int64, Int64) {
        let quotient = self / 1000, remainder = self % 1000
        return remainder < 0 ? (quotient - 1, remainder + 1000) : (quotient, remainder)
    }
}

import TodoCore

/// What follows an attempt to deliver from an outbox (webhooks, Web Push).
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered(at: Timestamp)
    case retry(at: Timestamp)
    case abandoned

    /// `next_attempt_at` and `delivered_at` after the attempt, the same columns in every
    /// delivery table: a null `next_attempt_at` means finished.
    var columns: (next: Timestamp?, delivered: Timestamp?) {
        switch self {
        case .delivered(let time): (nil, time)
        case .retry(let time): (time, nil)
        case .abandoned: (nil, nil)
        }
    }
}

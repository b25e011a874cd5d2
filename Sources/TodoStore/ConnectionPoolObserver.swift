/// What the PostgreSQL connection pools tell the metrics (the store knows no metrics system).
/// Every lease of the process's pools is reported: waiting, then leased, then released.
public protocol ConnectionPoolObserver: Sendable {
    /// The most connections the process's pools together may open.
    func configured(maximumConnections: Int)
    func waitStarted()
    /// A caller that waited `wait` now holds a connection (or gave up, `leased == false`).
    func waitEnded(after wait: Duration, leased: Bool)
    func released()
}

import NIOCore
import NIOPosix
import PostgresNIO
import ServiceLifecycle

/// One PostgresNIO pool per event loop, each connecting on its own loop. A request served on a
/// loop (see `EventLoopExecutor`) takes a connection of the same loop, so sending the query and
/// reading its rows wake no other thread. The configured maximum is shared out between the
/// pools; with fewer connections than loops, some loops share a pool.
struct LoopPools: Service {
    private let pools: [ObjectIdentifier: PostgresClient]
    private let all: [PostgresClient]

    init(configuration: PostgresClient.Configuration, group: MultiThreadedEventLoopGroup = .singleton, logger: Logger) {
        let loops = Array(group.makeIterator())
        let maximum = configuration.options.maximumConnections
        let count = max(1, min(loops.count, maximum))
        let all = (0..<count).map { index in
            var configuration = configuration
            configuration.options.maximumConnections = maximum / count + (index < maximum % count ? 1 : 0)
            configuration.options.minimumConnections = min(configuration.options.minimumConnections,
                                                           configuration.options.maximumConnections)
            return PostgresClient(configuration: configuration, eventLoopGroup: loops[index], backgroundLogger: logger)
        }
        self.all = all
        pools = Dictionary(uniqueKeysWithValues: loops.enumerated().map { (ObjectIdentifier($1), all[$0 % count]) })
    }

    /// The pool of the loop this thread runs, or the first one off the loops.
    var current: PostgresClient {
        MultiThreadedEventLoopGroup.currentEventLoop.flatMap { pools[ObjectIdentifier($0)] } ?? all[0]
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            for pool in all {
                group.addTask { await pool.run() }
            }
        }
    }
}

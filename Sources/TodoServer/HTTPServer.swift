import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import TodoRuntime

extension HTTPServerBuilder {
    /// The HTTP/1.1 server of every role (API, web UI, MCP). A connection that sends no complete
    /// request head for `idleTimeout` (between requests, or while its headers trickle in: a
    /// slowloris client) is closed, and so is one whose request body is not complete within
    /// `idleTimeout` of its head; a request being answered, such as an event stream, is never
    /// cut. 65 s outlasts the common load-balancer idle timeout (60 s), so that the balancer,
    /// not the server, closes kept-alive connections. Request heads above 32 KiB or 100 fields
    /// get 400 and a close. Each connection is served on its socket's event loop.
    public static func http1(idleTimeout: Duration) -> HTTPServerBuilder {
        let idleTimeout = TimeAmount.seconds(idleTimeout.components.seconds)
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestReadDeadline(limit: idleTimeout)],
            idleTimeout: idleTimeout,
            httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 << 10, maxHeaderListSize: 32 << 10, maxHeaderFieldCount: 100))
        return HTTPServerBuilder { responder in
            OnEventLoop(HTTP1Channel(responder: responder, configuration: configuration))
        }
    }
}

/// Runs a connection's task, and so its requests' handlers, on the event loop of its channel
/// (see `EventLoopExecutor`) instead of Swift's shared thread pool.
///
/// A connection reads into a buffer of 1 KiB at first instead of NIO's 2 KiB: the channel keeps
/// that buffer for its next read as long as it is open, and a request head with a bearer token
/// fits in 1 KiB; a read that fills it doubles the next. 1 KiB less per open connection, such as
/// an event stream (heaptrack, 300 streams).
struct OnEventLoop<Connection: ServerChildChannel>: ServerChildChannel {
    private let connection: Connection

    init(_ connection: Connection) {
        self.connection = connection
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection.Value> {
        channel.setOption(ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024, maximum: 65536))
            .flatMap { connection.setup(channel: channel, logger: logger) }
    }

    func handle(value: Connection.Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopExecutor.of(value.channel.eventLoop)) {
            await connection.handle(value: value, logger: logger)
        }
    }
}

/// Closes a connection whose request body is not complete `limit` after its head. The idle
/// timeout starts again with every byte received, so a body sent a byte at a time would
/// otherwise hold the connection (and a task waiting for it) indefinitely.
final class RequestReadDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let limit: TimeAmount
    private var deadline: Scheduled<Void>?

    init(limit: TimeAmount) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: limit) { bound.value.close(promise: nil) }
        case .end:
            deadline?.cancel()
            deadline = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }
}

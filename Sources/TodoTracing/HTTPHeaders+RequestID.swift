import NIOHTTP1

extension HTTPHeaders {
    /// `X-Request-Id` of the request being served (`RequestIDPropagation`), unless the caller set
    /// one: the backend logs the call under the id of the page or tool call that made it. The W3C
    /// `traceparent` is AsyncHTTPClient's to add, from the same task context, when tracing is on.
    public mutating func addRequestID() {
        guard let id = RequestIDPropagation.current, !contains(name: RequestIDPropagation.headerName) else { return }
        add(name: RequestIDPropagation.headerName, value: id)
    }
}

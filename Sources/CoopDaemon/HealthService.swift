import CoopProto
import CoopServer
import CoopWire
import Synchronization

/// The serving status the daemon reports through `grpc.health.v1.Health`, with watchers told of changes.
public final class HealthState: Sendable {
    public typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var status: Status = .serving
        var watchers: [Int: AsyncStream<Status>.Continuation] = [:]
        var nextID = 0
    }

    private let state = Locked(State())

    public init() {}

    public var status: Status {
        get { state.withLock { $0.status } }
        set {
            let watchers = state.withLock { state -> [AsyncStream<Status>.Continuation] in
                guard state.status != newValue else { return [] }
                state.status = newValue
                return Array(state.watchers.values)
            }
            for watcher in watchers { watcher.yield(newValue) }
        }
    }

    /// The current status first, then each change, until the consuming task ends.
    func updates() -> AsyncStream<Status> {
        // Only the latest status matters to a watcher that falls behind.
        let (stream, continuation) = AsyncStream.makeStream(of: Status.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.watchers[id] = continuation
            continuation.yield(state.status)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }
}

/// `grpc.health.v1.Health`: the whole server (empty name) or any registered service.
enum HealthService {
    typealias Methods = Grpc_Health_V1_HealthMethods
    static let name = Methods.service

    static func definition(health: HealthState, services: @escaping @Sendable () -> [String]) throws
        -> ServiceDefinition
    {
        var service = ServiceDefinition(name: name)
        let known: @Sendable (String) -> Bool = { $0.isEmpty || $0 == name || services().contains($0) }
        try service.addInline(Methods.Check.self) { (request: Grpc_Health_V1_HealthCheckRequest, _) in
            guard known(request.service) else { throw RPCError(.notFound, "unknown service \(request.service)") }
            return Grpc_Health_V1_HealthCheckResponse.with { $0.status = health.status }
        }
        try service.addServerStreaming(Methods.Watch.self) {
            (request: Grpc_Health_V1_HealthCheckRequest, _, stream: TypedServerStream<Grpc_Health_V1_HealthCheckResponse>) in
            guard known(request.service) else {
                try await stream.send(.with { $0.status = .serviceUnknown })
                // As in gRPC: an unknown service is reported, and the watch stays open in case it appears.
                try await Task.sleep(for: .seconds(365 * 86400))
                return
            }
            for await status in health.updates() {
                try await stream.send(.with { $0.status = status })
            }
        }
        try service.requireExactly(Methods.names)
        return service
    }
}

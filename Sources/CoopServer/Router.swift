import CoopWire

/// Maps (service, method) to a handler. Built once before the server starts; read-only after.
///
/// Every registered method also gets a small index (``methods`` lists them in index order), so that the server
/// counts each method's calls in a fixed table instead of by name.
public struct Router: Sendable {
    enum Lookup {
        case found(MethodHandler, index: Int)
        case unknownService
        case unknownMethod
    }

    private struct Route: Sendable {
        var handler: MethodHandler
        var index: Int
    }

    private var routes: [String: [String: Route]] = [:]
    /// The registered methods, in index order.
    public private(set) var methods: [MethodName] = []

    public init(_ services: [ServiceDefinition] = []) throws {
        for service in services { try register(service) }
    }

    /// Adds a service, throwing if one of that name exists.
    public mutating func register(_ service: ServiceDefinition) throws {
        guard routes[service.name] == nil else {
            throw RPCError(.alreadyExists, "service \(service.name) is registered twice")
        }
        var table: [String: Route] = [:]
        for (name, handler) in service.methods.sorted(by: { $0.key < $1.key }) {
            table[name] = Route(handler: handler, index: methods.count)
            methods.append(MethodName(service: service.name, method: name))
        }
        routes[service.name] = table
    }

    /// Fully qualified names of the registered services.
    public var serviceNames: [String] { routes.keys.sorted() }

    func lookup(service: String, method: String) -> Lookup {
        guard let table = routes[service] else { return .unknownService }
        guard let route = table[method] else { return .unknownMethod }
        return .found(route.handler, index: route.index)
    }
}

/// A method as the wire names it: `service` fully qualified (`coop.v1.Diagnostics`), `method` bare (`Echo`).
public struct MethodName: Sendable, Hashable, CustomStringConvertible {
    public var service: String
    public var method: String

    public init(service: String, method: String) {
        self.service = service
        self.method = method
    }

    public var description: String { "\(service)/\(method)" }
}

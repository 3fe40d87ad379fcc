import CoopWire

/// Maps (service, method) to a handler. Built once before the server starts; read-only after.
///
/// Every registered method also gets a small index (``methods`` lists them in index order), so that the server
/// counts each method's calls in a fixed table instead of by name.
public struct Router: Sendable {
    /// What a request names, resolved.
    enum Lookup {
        case found(MethodHandler, index: Int)
        case unknownService(String)
        case unknownMethod(String)
        case malformed(EnvelopeError)
    }

    /// A method's handler and its names' UTF-8, to match a request's names byte for byte.
    private struct Route: Sendable {
        var handler: MethodHandler
        var service: [UInt8]
        var method: [UInt8]
    }

    /// Every route, in index order.
    private var routes: [Route] = []
    /// Route indices by service, then method.
    private var indices: [String: [String: Int]] = [:]
    /// The registered methods, in index order.
    public private(set) var methods: [MethodName] = []

    public init(_ services: [ServiceDefinition] = []) throws {
        for service in services { try register(service) }
    }

    /// Adds a service, throwing if one of that name exists.
    public mutating func register(_ service: ServiceDefinition) throws {
        guard indices[service.name] == nil else {
            throw RPCError(.alreadyExists, "service \(service.name) is registered twice")
        }
        var table: [String: Int] = [:]
        for (name, handler) in service.methods.sorted(by: { $0.key < $1.key }) {
            table[name] = routes.count
            routes.append(Route(handler: handler, service: Array(service.name.utf8), method: Array(name.utf8)))
            methods.append(MethodName(service: service.name, method: name))
        }
        indices[service.name] = table
    }

    /// Fully qualified names of the registered services.
    public var serviceNames: [String] { indices.keys.sorted() }

    /// Resolves a request's names. `lastFound` is the caller's memory of the route it found last (a connection
    /// keeps one): a client that calls one method again and again is matched by comparing bytes, without
    /// building, validating or hashing Strings.
    func lookup(_ head: RequestHead, lastFound: inout Int) -> Lookup {
        if lastFound < routes.count {
            let route = routes[lastFound]
            if head.names(service: route.service, method: route.method) {
                return .found(route.handler, index: lastFound)
            }
        }
        let service: String
        let method: String
        do {
            service = try head.serviceName()
            method = try head.methodName()
        } catch {
            return .malformed(error)
        }
        guard let table = indices[service] else { return .unknownService(service) }
        guard let index = table[method] else { return .unknownMethod(method) }
        lastFound = index
        return .found(routes[index].handler, index: index)
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

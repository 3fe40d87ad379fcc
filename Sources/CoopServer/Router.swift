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

    /// What a request names, resolved.
    enum HeadLookup {
        case found(MethodHandler, index: Int)
        case unknownService(String)
        case unknownMethod(String)
        case malformed(EnvelopeError)
    }

    private struct Route: Sendable {
        var handler: MethodHandler
        var index: Int
    }

    private var routes: [String: [String: Route]] = [:]
    /// Every route in index order with its names' UTF-8, to match a request's names byte for byte.
    private var byIndex: [(handler: MethodHandler, service: [UInt8], method: [UInt8])] = []
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
            byIndex.append((handler, Array(service.name.utf8), Array(name.utf8)))
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

    /// Resolves a request's names. `lastFound` is the caller's memory of the route it found last (a connection
    /// keeps one): a client that calls one method again and again is matched by comparing bytes, without
    /// building, validating or hashing Strings.
    func lookup(_ head: RequestHead, lastFound: inout Int) -> HeadLookup {
        if lastFound < byIndex.count {
            let route = byIndex[lastFound]
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
        switch lookup(service: service, method: method) {
        case .found(let handler, let index):
            lastFound = index
            return .found(handler, index: index)
        case .unknownService: return .unknownService(service)
        case .unknownMethod: return .unknownMethod(method)
        }
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

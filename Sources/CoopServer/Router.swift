import CoopWire

/// Maps (service, method) to a handler. Built once before the server starts; read-only after.
public struct Router: Sendable {
    enum Lookup {
        case found(MethodHandler)
        case unknownService
        case unknownMethod
    }

    private var services: [String: ServiceDefinition] = [:]

    public init(_ services: [ServiceDefinition] = []) throws {
        for service in services { try register(service) }
    }

    /// Adds a service, throwing if one of that name exists.
    public mutating func register(_ service: ServiceDefinition) throws {
        guard services[service.name] == nil else {
            throw RPCError(.alreadyExists, "service \(service.name) is registered twice")
        }
        services[service.name] = service
    }

    /// Fully qualified names of the registered services.
    public var serviceNames: [String] { services.keys.sorted() }

    func lookup(service: String, method: String) -> Lookup {
        guard let definition = services[service] else { return .unknownService }
        guard let handler = definition.methods[method] else { return .unknownMethod }
        return .found(handler)
    }
}

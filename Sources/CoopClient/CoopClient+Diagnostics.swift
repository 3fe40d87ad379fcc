import CoopProto
import Foundation

extension CoopClient {
    /// `coop.v1.Diagnostics/Echo`: the server returns `data` unchanged.
    public func echo(_ data: Data, options: CallOptions = .defaults) async throws -> Data {
        let reply = try await unary(
            service: Coop_V1_DiagnosticsMethods.Echo.service, method: Coop_V1_DiagnosticsMethods.Echo.name, request: Coop_V1_EchoRequest.with { $0.data = data },
            as: Coop_V1_EchoResponse.self, options: options)
        return reply.data
    }

    /// `coop.v1.Diagnostics/GetServerInfo`: version, uptime and counters.
    public func serverInfo(options: CallOptions = .defaults) async throws -> Coop_V1_ServerInfo {
        try await unary(
            service: Coop_V1_DiagnosticsMethods.GetServerInfo.service,
            method: Coop_V1_DiagnosticsMethods.GetServerInfo.name, request: Coop_V1_GetServerInfoRequest(),
            as: Coop_V1_ServerInfo.self, options: options)
    }

    /// `coop.v1.Diagnostics/GetMetrics`: the daemon's metrics in the Prometheus text format (`text`).
    public func metrics(options: CallOptions = .defaults) async throws -> Coop_V1_Metrics {
        try await unary(
            service: Coop_V1_DiagnosticsMethods.GetMetrics.service,
            method: Coop_V1_DiagnosticsMethods.GetMetrics.name, request: Coop_V1_GetMetricsRequest(),
            as: Coop_V1_Metrics.self, options: options)
    }

    /// `grpc.health.v1.Health/Check` for the whole server (empty name) or one service.
    public func health(
        service: String = "", options: CallOptions = .defaults
    ) async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        try await unary(
            service: Grpc_Health_V1_HealthMethods.Check.service, method: Grpc_Health_V1_HealthMethods.Check.name,
            request: Grpc_Health_V1_HealthCheckRequest.with { $0.service = service },
            as: Grpc_Health_V1_HealthCheckResponse.self, options: options
        ).status
    }

    /// `grpc.health.v1.Health/Watch`: the status now, then each change.
    public func watchHealth(
        service: String = "", options: CallOptions = .defaults
    ) throws -> some AsyncSequence<Grpc_Health_V1_HealthCheckResponse.ServingStatus, any Error> {
        try serverStream(
            service: Grpc_Health_V1_HealthMethods.Watch.service, method: Grpc_Health_V1_HealthMethods.Watch.name,
            request: Grpc_Health_V1_HealthCheckRequest.with { $0.service = service },
            as: Grpc_Health_V1_HealthCheckResponse.self, options: options
        ).map(\.status)
    }
}

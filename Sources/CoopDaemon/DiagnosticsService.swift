import CoopProto
import CoopServer
import CoopStore
import CoopWire
import Foundation
import NIOCore

/// `coop.v1.Diagnostics`: Echo, the server's counters and its metrics.
enum DiagnosticsService {
    typealias Methods = Coop_V1_DiagnosticsMethods
    static let name = Methods.service

    static func definition(
        server: @escaping @Sendable () -> TTRPCServer?, info: DaemonInfo, metrics: DaemonMetrics
    ) throws -> ServiceDefinition {
        var service = ServiceDefinition(name: name)
        try service.addInlineBytes(Methods.Echo.self) { payload, _ in
            if EchoWire.isCanonicalAnswer(payload) { return payload }
            let request: Coop_V1_EchoRequest = try decodePayload(payload)
            return try Coop_V1_EchoResponse.with { $0.data = request.data }.serializedBuffer()
        }
        try service.addInline(Methods.GetServerInfo.self) { (_: Coop_V1_GetServerInfoRequest, _) in
            var reply = Coop_V1_ServerInfo()
            reply.version = CoopdVersion.string
            reply.startTimeUnixNano = info.startUnixNanos
            reply.startTime = info.startTimeRFC3339
            reply.uptimeNano = Int64(DispatchTime.now().uptimeNanoseconds - info.startUptimeNanos)
            reply.pid = Int32(ProcessInfo.processInfo.processIdentifier)
            reply.socketPath = info.socketPath
            if let stats = server()?.stats {
                reply.connectionsAccepted = stats.connectionsAccepted
                reply.connectionsOpen = UInt64(max(0, stats.connectionsOpen))
                reply.callsTotal = stats.callsTotal
                // This call itself is running; report the others.
                reply.callsInFlight = UInt64(max(0, stats.callsInFlight - 1))
                reply.errors = stats.errors.sorted { $0.key.rawValue < $1.key.rawValue }.map { code, count in
                    .with {
                        $0.code = code.rawValue
                        $0.name = code.name
                        $0.count = count
                    }
                }
            }
            return reply
        }
        try service.addInline(Methods.GetMetrics.self) { (_: Coop_V1_GetMetricsRequest, _) in
            Coop_V1_Metrics.with {
                $0.text = metrics.render()
                $0.contentType = DaemonMetrics.contentType
            }
        }
        try service.requireExactly(Methods.names)
        return service
    }
}

/// Echo's request and answer are the same message (`bytes data = 1`), so a request already encoded as the
/// answer would be (the field once, its length in fewest bytes, omitted when empty) is the answer: Echo, the
/// transport's own measure, then costs one copy into the frame, not a decode, an encode and their copies.
/// Any other form (unknown fields, the field twice, a padded length) goes through the decoder: the same
/// answer, the same errors.
enum EchoWire {
    static func isCanonicalAnswer(_ payload: ByteBuffer) -> Bool {
        payload.withUnsafeReadableBytes { bytes in
            guard !bytes.isEmpty else { return true }
            var reader = RawProtobufReader(bytes)
            // The field's key in one byte, its data non-empty, its length in fewest bytes, nothing after it.
            guard reader.varint() == 0x0A, reader.offset == 1, let data = reader.lengthDelimited(), !data.isEmpty,
                  data.lowerBound == 1 + ProtobufWire.varintSize(UInt64(data.count))
            else { return false }
            return !reader.more
        }
    }
}

/// Facts fixed at start-up that diagnostics report.
struct DaemonInfo: Sendable {
    var startUnixNanos: Int64
    var startTimeRFC3339: String
    var startUptimeNanos: UInt64
    var socketPath: String

    static func now(socketPath: String) -> DaemonInfo {
        let now = UTCTime.nowNanos()
        return DaemonInfo(
            startUnixNanos: now, startTimeRFC3339: UTCTime.rfc3339(nanos: now),
            startUptimeNanos: DispatchTime.now().uptimeNanoseconds, socketPath: socketPath)
    }
}

/// The daemon's version, reported by `--version` and GetServerInfo.
public enum CoopdVersion {
    public static let string = "0.1.0"
}

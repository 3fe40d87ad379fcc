import ArgumentParser
import CoopClient
import Foundation

/// `--socket` and `--timeout`, shared by every command that talks to coopd.
public struct ConnectionOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "coopd's socket. Default: $COOP_SOCKET or $COOPD_SOCKET, else /run/coopd/coopd.sock, then "
                + "$XDG_RUNTIME_DIR/coopd/coopd.sock, then /tmp/coopd-$UID/coopd.sock.",
            valueName: "path"),
        completion: .file())
    var socket: String?

    @Option(help: ArgumentHelp("Seconds to wait for each answer (0: forever).", valueName: "seconds"))
    var timeout: Double = 30

    public init() {}

    public func validate() throws {
        guard timeout >= 0, timeout < 1e9 else { throw ValidationError("--timeout must be 0 or more seconds") }
    }

    /// Call options with the timeout.
    var callOptions: CallOptions {
        CallOptions(timeout: timeout == 0 ? nil : .nanoseconds(Int64(timeout * 1e9)))
    }

    /// A client on the first socket that accepts a connection.
    func client() throws -> CoopClient {
        let path = try SocketLocator(explicit: socket, environment: ProcessInfo.processInfo.environment).locate()
        return CoopClient(socketPath: path)
    }

    /// Runs `body` with a connected client, closing it afterwards; coopd's errors become `CtlError`s.
    func run<T>(_ body: (CoopClient) async throws -> T) async throws -> T {
        let client = try client()
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw Connection.translate(error)
        }
    }
}

enum Connection {
    static func translate(_ error: any Error) -> any Error {
        if let rpc = error as? RPCError { return CtlError.from(rpc) }
        return error
    }
}

/// `--request-id`, shared by every write.
public struct WriteOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Id of this write; retrying with the same id applies it once. Default: a random one.", valueName: "id"))
    var requestID: String?

    public init() {}

    var resolvedRequestID: String { requestID.flatMap { $0.isEmpty ? nil : $0 } ?? CoopClient.newRequestID() }
}
